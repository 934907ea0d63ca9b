import { describe, expect, it } from "vitest";

import { Layers, formatPath, parseKeyPath } from "./layers.js";
import { isListenAddress, normaliseArrayUrl, parseEndpoint } from "./schema.js";
import { CONFIG_PATH, VALID_YAML, problemsOf } from "./test-support/fixtures.js";

describe("parseEndpoint", () => {
  it.each([
    ["unix:///csi/csi.sock", { kind: "unix", path: "/csi/csi.sock" }],
    [
      "unix:///var/lib/kubelet/plugins/csi.vsp-csi.dev/csi.sock",
      { kind: "unix", path: "/var/lib/kubelet/plugins/csi.vsp-csi.dev/csi.sock" },
    ],
    ["tcp://127.0.0.1:10000", { kind: "tcp", host: "127.0.0.1", port: 10000 }],
    ["tcp://0.0.0.0:0", { kind: "tcp", host: "0.0.0.0", port: 0 }],
    ["tcp://[::1]:65535", { kind: "tcp", host: "[::1]", port: 65535 }],
    [
      "tcp://csi-controller.kube-system.svc:9000",
      { kind: "tcp", host: "csi-controller.kube-system.svc", port: 9000 },
    ],
  ])("accepts %s", (text, expected) => {
    expect(parseEndpoint(text)).toEqual(expected);
  });

  it.each([
    ["a bare path", "/csi/csi.sock"],
    ["a relative unix path", "unix://csi.sock"],
    ["the unix root", "unix:///"],
    ["a 108-byte socket path (sun_path limit)", `unix:///${"a".repeat(107)}`],
    ["tcp without port", "tcp://127.0.0.1"],
    ["tcp port 65536", "tcp://127.0.0.1:65536"],
    ["tcp empty host", "tcp://:9000"],
    ["unbracketed IPv6", "tcp://::1:9000"],
    ["http scheme", "http://127.0.0.1:9000"],
    ["host with a path", "tcp://host/x:9000"],
  ])("rejects %s", (_what, text) => {
    expect(parseEndpoint(text)).toBeUndefined();
  });
});

describe("isListenAddress (metricsAddress)", () => {
  it.each([":9808", "0.0.0.0:9808", "[::]:8080", "localhost:1"])("accepts %s", (text) => {
    expect(isListenAddress(text)).toBe(true);
  });
  it.each(["9808", ":0", ":65536", "host:", "http://x:1", "a b:80"])("rejects %s", (text) => {
    expect(isListenAddress(text)).toBe(false);
  });
});

describe("normaliseArrayUrl", () => {
  it.each([
    ["https://10.0.0.1", "https://10.0.0.1"],
    ["https://10.0.0.1/", "https://10.0.0.1"],
    ["HTTPS://Array.Example.com:443/", "https://array.example.com"],
    ["http://127.0.0.1:22016", "http://127.0.0.1:22016"],
    ["https://gw.example.com/vsp1//", "https://gw.example.com/vsp1"],
    ["https://[fd00::1]:8443", "https://[fd00::1]:8443"],
  ])("%s → %s", (text, expected) => {
    expect(normaliseArrayUrl(text)).toBe(expected);
  });
  it.each(["10.0.0.1", "ftp://x", "https://u:p@x", "https://u@x", "https://x/?a=1", "https://x/#f", ""])(
    "rejects %j",
    (text) => {
      expect(normaliseArrayUrl(text)).toBeUndefined();
    },
  );
});

describe("key paths and provenance", () => {
  it.each([
    ["logLevel", ["logLevel"]],
    ["controller.operationTimeoutSeconds", ["controller", "operationTimeoutSeconds"]],
    ["arrays[0].credentials.secretDir", ["arrays", 0, "credentials", "secretDir"]],
    ["arrays.1.url", ["arrays", 1, "url"]],
  ])("%s", (key, path) => {
    expect(parseKeyPath(key)).toEqual(path);
    expect(formatPath(path)).toBe(key.replace(".1.", "[1]."));
  });

  it.each(["", "a..b", ".a", "a.", "a[x]", "a[0", "0.a", "a b", "a.__proto__"])("rejects key %j", (key) => {
    expect(parseKeyPath(key)).toBeUndefined();
  });

  it("a list from a higher layer replaces the lower one wholesale, and owns its elements", () => {
    const layers = new Layers();
    layers.merge({ arrays: [{ name: "a" }, { name: "b" }], logLevel: "info" }, { kind: "file", path: "/f" });
    layers.merge({ arrays: [{ name: "c" }] }, { kind: "file", path: "/g" });
    expect(layers.value).toEqual({ arrays: [{ name: "c" }], logLevel: "info" });
    expect(layers.sourceOf(["arrays", 0, "name"])).toEqual({ kind: "file", path: "/g" });
    expect(layers.sourceOf(["logLevel"])).toEqual({ kind: "file", path: "/f" });
    expect(layers.sourceOf(["endpoint"])).toEqual({ kind: "default" });
  });

  it("objects merge key by key", () => {
    const layers = new Layers();
    layers.merge({ node: { hostRoot: "/host", transport: "fc" } }, { kind: "file", path: "/f" });
    layers.set(["node", "transport"], "iscsi", { kind: "env", name: "VSP_CSI_NODE_TRANSPORT" });
    expect(layers.value).toEqual({ node: { hostRoot: "/host", transport: "iscsi" } });
    expect(layers.sourceOf(["node", "hostRoot"])).toEqual({ kind: "file", path: "/f" });
    expect(layers.sourceOf(["node", "transport"])).toEqual({ kind: "env", name: "VSP_CSI_NODE_TRANSPORT" });
  });

  it("a __proto__ key in a file is plain data (reported as unknown), never a prototype change", async () => {
    const problems = await problemsOf({ file: `${VALID_YAML}__proto__:\n  polluted: true\n` });
    expect(problems).toEqual([`config: __proto__ (from ${CONFIG_PATH}): unknown key`]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
