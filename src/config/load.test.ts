import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { loadConfig, packageVersion } from "./load.js";
import { ARRAY_YAML, CONFIG_PATH, VALID_YAML, arrayWith, load, memFs } from "./test-support/fixtures.js";
import type { Inputs } from "./test-support/fixtures.js";

const F = `(from ${CONFIG_PATH})`;

describe("precedence: defaults < file < environment < flags < --set", () => {
  const file = `${VALID_YAML}endpoint: unix:///from/file.sock\nlogLevel: warn\n`;
  it.each<[string, Inputs, string]>([
    ["default", { file: VALID_YAML }, "unix:///csi/csi.sock"],
    ["file over default", { file }, "unix:///from/file.sock"],
    ["env over file", { file, env: { VSP_CSI_ENDPOINT: "unix:///from/env.sock" } }, "unix:///from/env.sock"],
    [
      "flag over env",
      { file, env: { VSP_CSI_ENDPOINT: "unix:///from/env.sock" }, argv: ["--endpoint", "tcp://127.0.0.1:0"] },
      "tcp://127.0.0.1:0",
    ],
    [
      "--set over the named flag",
      { file, argv: ["--endpoint", "tcp://127.0.0.1:0", "--set", "endpoint=unix:///from/set.sock"] },
      "unix:///from/set.sock",
    ],
    [
      "an empty env variable counts as unset",
      { file, env: { VSP_CSI_ENDPOINT: "" } },
      "unix:///from/file.sock",
    ],
  ])("%s", async (_name, inputs, endpoint) => {
    const { config } = await load(inputs);
    expect(config.endpoint).toBe(endpoint);
  });

  it("a higher layer changes only its key; the rest of the file stays", async () => {
    const { config } = await load({ file, env: { VSP_CSI_ENDPOINT: "unix:///from/env.sock" } });
    expect(config.logLevel).toBe("warn");
    expect(config.arrays[0]?.url).toBe("https://10.0.0.1");
  });

  it("--set overrides one field of a file's array entry and keeps the others", async () => {
    const { config } = await load({
      file: VALID_YAML,
      argv: ["--set", "arrays[0].transport=iscsi", "--set", "arrays.0.targetPorts=CL3-A,CL4-A"],
    });
    expect(config.arrays[0]).toMatchObject({
      name: "vsp1",
      transport: "iscsi",
      targetPorts: ["CL3-A", "CL4-A"],
    });
  });

  it("arrays[].maxConcurrentRequests: 8 by default, 1–64 from the file or --set", async () => {
    expect((await load({ file: VALID_YAML })).config.arrays[0]?.maxConcurrentRequests).toBe(8);
    const fromFile = await load({ file: `${VALID_YAML}    maxConcurrentRequests: 64\n` });
    expect(fromFile.config.arrays[0]?.maxConcurrentRequests).toBe(64);
    const fromSet = await load({ file: VALID_YAML, argv: ["--set", "arrays[0].maxConcurrentRequests=1"] });
    expect(fromSet.config.arrays[0]?.maxConcurrentRequests).toBe(1);
  });

  it("--config wins over VSP_CSI_CONFIG", async () => {
    const { config } = await load({
      file: `${VALID_YAML}logLevel: debug\n`,
      env: { VSP_CSI_CONFIG: "/other.yaml" },
    });
    expect(config.logLevel).toBe("debug");
    expect(config.configFile).toBe(CONFIG_PATH);
  });

  it("a whole configuration from flags alone (no file)", async () => {
    const { config } = await load({
      argv: [
        "--mode=controller",
        ...["name=sim", "url=http://127.0.0.1:22016", "storageDeviceId=886000123456", "defaultPoolId=0"],
        ...["targetPorts=CL1-A", "transport=sim", "credentials.username=u", "credentials.password=p"],
      ].flatMap((kv) => (kv.startsWith("--") ? [kv] : ["--set", `arrays[0].${kv}`])),
    });
    expect(config.arrays).toHaveLength(1);
    expect(config.arrays[0]).toMatchObject({ name: "sim", transport: "sim", defaultPoolId: 0 });
  });
});

describe("defaults", () => {
  it("fills every optional key", async () => {
    const { config } = await load({ file: VALID_YAML });
    expect(config).toEqual({
      driverName: "csi.vsp-csi.dev",
      driverVersion: "9.9.9-test",
      mode: "all",
      endpoint: "unix:///csi/csi.sock",
      nodeId: "node-a",
      logLevel: "info",
      arrays: [
        {
          name: "vsp1",
          url: "https://10.0.0.1",
          storageDeviceId: "886000123456",
          credentials: { username: "maintenance", password: "raid-secret-1", from: { kind: "inline" } },
          insecureSkipVerify: false,
          urlStyle: "storage-scoped",
          maxConcurrentRequests: 8,
          defaultPoolId: 0,
          targetPorts: ["CL1-A", "CL2-A"],
          transport: "fc",
          ldevRange: { start: 0, end: 65279 },
        },
      ],
      defaultArray: "vsp1",
      controller: { operationTimeoutSeconds: 100 },
      node: { hostRoot: "/" },
      configFile: CONFIG_PATH,
    });
  });

  it("the default node name is the host name, lowercased as kubelet does", async () => {
    const { config } = await load({ argv: ["--mode", "node"], hostname: "Worker-7.Example.COM" });
    expect(config.nodeId).toBe("worker-7.example.com");
  });

  it("node mode needs no array (the node plugin never calls the array)", async () => {
    const { config } = await load({ argv: ["--mode", "node"] });
    expect(config.arrays).toEqual([]);
    expect(config.defaultArray).toBeUndefined();
    expect(config.nodeId).toBe("node-a");
  });

  it("the driver version comes from package.json unless injected", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(packageVersion()).toBe(pkg.version);
    const { config } = await loadConfig({ argv: ["--mode", "node"], env: {}, readFile: memFs({}) });
    expect(config.driverVersion).toBe(pkg.version);
  });

  it("accepts JSON files, string spellings of numbers/booleans, and an unquoted device id", async () => {
    const json = JSON.stringify({
      arrays: [
        {
          name: "vsp1",
          url: "https://array.example.com:8443/base/",
          storageDeviceId: 886000123456,
          credentials: { username: "u", password: "p" },
          defaultPoolId: "3",
          snapshotPoolId: 2,
          insecureSkipVerify: "true",
          targetPorts: ["CL1-A"],
          transport: "iscsi",
        },
      ],
      controller: { operationTimeoutSeconds: "60" },
    });
    const { config } = await load({ file: json });
    expect(config.arrays[0]).toMatchObject({
      url: "https://array.example.com:8443/base",
      storageDeviceId: "886000123456",
      defaultPoolId: 3,
      snapshotPoolId: 2,
      insecureSkipVerify: true,
    });
    expect(config.controller.operationTimeoutSeconds).toBe(60);
  });

  it("an explicit default array is kept", async () => {
    const file = `arrays:${ARRAY_YAML}${ARRAY_YAML.replace("vsp1", "vsp2").replace("886000123456", "886000654321")}\n`;
    const { config } = await load({ file, env: { VSP_CSI_DEFAULT_ARRAY: "vsp2" } });
    expect(config.defaultArray).toBe("vsp2");
  });
});

describe("warnings for risky but valid settings", () => {
  it("names the inline password, disabled TLS verification and plain HTTP", async () => {
    const file = arrayWith("url", "url: http://10.0.0.1").replace(
      "transport: fc",
      "transport: fc\n    insecureSkipVerify: true",
    );
    const { warnings } = await load({ file });
    expect(warnings).toEqual([
      `config: arrays[0].credentials.password ${F}: given inline; prefer secretDir (a mounted Secret)`,
      "config: arrays[0].insecureSkipVerify: TLS certificate verification is OFF",
      "config: arrays[0].url: plain HTTP sends the API password unencrypted",
    ]);
    expect(warnings.join("\n")).not.toContain("raid-secret-1");
  });
});
