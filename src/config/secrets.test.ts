import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { ConfigError } from "./errors.js";
import { loadConfig } from "./load.js";
import { REDACTED, redactedConfig } from "./redact.js";
import { CONFIG_PATH, VALID_YAML, load, memFs } from "./test-support/fixtures.js";

/** Passwords with a marker, so "the message contains the password" cannot happen by chance. */
const password = fc
  .string({ unit: "binary", minLength: 6, maxLength: 40 })
  .map((s) => `Pw!${s}`)
  .filter((s) => s.trim() === s && !s.includes("\n"));

const inlineYaml = (pw: string) =>
  VALID_YAML.replace("password: raid-secret-1", `password: ${JSON.stringify(pw)}`);

/** Ways a configuration carrying `pw` fails; each returns the load promise. */
const failures: readonly [string, (pw: string) => Promise<unknown>][] = [
  [
    "inline password, invalid URL",
    (pw) => load({ file: inlineYaml(pw).replace("https://10.0.0.1", "nope") }),
  ],
  ["inline password, bad ports", (pw) => load({ file: inlineYaml(pw).replace("CL2-A", "x") })],
  [
    "password of the wrong type",
    (pw) => load({ file: inlineYaml(pw).replace(/password: .*/, `password: [${JSON.stringify(pw)}]`) }),
  ],
  [
    "password and secretDir",
    (pw) => load({ file: inlineYaml(pw).replace("username: maintenance", "secretDir: /s") }),
  ],
  [
    "unterminated quote on the password line",
    (pw) => load({ file: VALID_YAML.replace("password: raid-secret-1", `password: "${pw}`) }),
  ],
  [
    "a stray token after the password (the parser's message quotes that line)",
    (pw) => load({ file: inlineYaml(pw).replace(/(password: .*)/, "$1 extra") }),
  ],
  ["broken YAML after the password", (pw) => load({ file: `${inlineYaml(pw)}  : [\n` })],
  [
    "password by --set with another error",
    (pw) => load({ file: VALID_YAML, argv: ["--set", `arrays[0].credentials.password=${pw}`, "--mode=x"] }),
  ],
  [
    "password by --set to a bad key",
    (pw) => load({ file: VALID_YAML, argv: ["--set", `arrays[0].credentials.pass=${pw}`] }),
  ],
  [
    "password by --set with a malformed key",
    (pw) => load({ file: VALID_YAML, argv: ["--set", `arrays[0]..password=${pw}`] }),
  ],
  ["password as an unknown flag", (pw) => load({ file: VALID_YAML, argv: [`--password=${pw}`] })],
  ["password as a stray argument", (pw) => load({ file: VALID_YAML, argv: [pw] })],
  ["password in an unknown variable", (pw) => load({ file: VALID_YAML, env: { VSP_CSI_PASSWORD: pw } })],
  ["password as an invalid endpoint", (pw) => load({ file: VALID_YAML, env: { VSP_CSI_ENDPOINT: pw } })],
  [
    "password in the URL",
    (pw) => load({ file: VALID_YAML.replace("https://", `https://admin:${encodeURIComponent(pw)}@`) }),
  ],
  [
    "secretDir password, other error",
    (pw) =>
      loadConfig({
        argv: ["--config", CONFIG_PATH, "--log-level", "loud"],
        env: {},
        readFile: memFs({
          [CONFIG_PATH]: VALID_YAML.replace(/username: .*\n\s+password: .*/, "secretDir: /secret"),
          "/secret/username": "admin",
          "/secret/password": pw,
        }),
        hostname: () => "n",
        driverVersion: "0",
      }),
  ],
];

describe("secrets never appear in errors, warnings or the loggable config", () => {
  it.each(failures)("%s: the ConfigError never contains the password (property)", async (_name, attempt) => {
    await fc.assert(
      fc.asyncProperty(password, async (pw) => {
        const err = await attempt(pw).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).message).not.toContain(pw);
        expect(JSON.stringify((err as ConfigError).problems)).not.toContain(JSON.stringify(pw).slice(1, -1));
      }),
      { numRuns: 40 },
    );
  });

  it("valid configurations: warnings and redactedConfig never contain the password (property)", async () => {
    await fc.assert(
      fc.asyncProperty(password, async (pw) => {
        const { config, warnings } = await load({ file: inlineYaml(pw) });
        expect(config.arrays[0]?.credentials.password).toBe(pw); // the real value is kept for the client
        expect(warnings.join("\n")).not.toContain(pw);
        expect(JSON.stringify(redactedConfig(config))).not.toContain(JSON.stringify(pw).slice(1, -1));
      }),
      { numRuns: 60 },
    );
  });
});

describe("redactedConfig", () => {
  it("replaces the password, keeps the user name and everything else, and leaves the config intact", async () => {
    const { config } = await load({ file: VALID_YAML });
    const shown = redactedConfig(config);
    expect(shown).toMatchObject({
      driverName: "csi.vsp-csi.dev",
      arrays: [
        {
          name: "vsp1",
          url: "https://10.0.0.1",
          credentials: { username: "maintenance", password: REDACTED, from: { kind: "inline" } },
        },
      ],
    });
    expect(JSON.stringify(shown)).not.toContain("raid-secret-1");
    expect(config.arrays[0]?.credentials.password).toBe("raid-secret-1");
  });

  it("reduces a CA bundle to its path and count", () => {
    const base = {
      name: "a",
      url: "https://x",
      storageDeviceId: "886000123456",
      credentials: { username: "u", password: "p", from: { kind: "inline" as const } },
      caBundle: { path: "/ca.pem", pem: "-----BEGIN CERTIFICATE-----…", certificates: 1 },
      insecureSkipVerify: false,
      urlStyle: "short" as const,
      maxConcurrentRequests: 8,
      defaultPoolId: 0,
      targetPorts: ["CL1-A"],
      transport: "fc" as const,
      ldevRange: { start: 0, end: 65279 },
    };
    const shown = redactedConfig({
      driverName: "d",
      driverVersion: "0",
      mode: "controller",
      endpoint: "unix:///x",
      nodeId: "n",
      logLevel: "info",
      arrays: [base],
      controller: { operationTimeoutSeconds: 100 },
      node: { hostRoot: "/" },
    });
    expect(shown.arrays).toEqual([
      expect.objectContaining({ caBundle: { path: "/ca.pem", certificates: 1 } }),
    ]);
  });
});
