import { describe, expect, it } from "vitest";

import { ARRAY_YAML, CONFIG_PATH, VALID_YAML, arrayWith, problemsOf } from "./test-support/fixtures.js";
import type { Inputs } from "./test-support/fixtures.js";

const F = `(from ${CONFIG_PATH})`;

describe("bad configurations: every message names the key and where the value came from", () => {
  it.each<[string, Inputs, string]>([
    // ---- top-level keys from each source
    [
      "endpoint flag",
      { file: VALID_YAML, argv: ["--endpoint", "foo"] },
      "config: --endpoint: must be unix:///path or tcp://host:port",
    ],
    [
      "endpoint env",
      { file: VALID_YAML, env: { VSP_CSI_ENDPOINT: "tcp://host:99999" } },
      "config: endpoint (from VSP_CSI_ENDPOINT): must be unix:///path or tcp://host:port",
    ],
    [
      "endpoint file",
      { file: `${VALID_YAML}endpoint: unix://relative.sock\n` },
      `config: endpoint ${F}: must be unix:///path or tcp://host:port`,
    ],
    [
      "endpoint --set",
      { file: VALID_YAML, argv: ["--set", "endpoint=http://x"] },
      "config: endpoint (from --set): must be unix:///path or tcp://host:port",
    ],
    [
      "socket path over 107 bytes",
      { file: VALID_YAML, argv: [`--endpoint=unix:///${"s".repeat(110)}`] },
      "config: --endpoint: must be unix:///path or tcp://host:port",
    ],
    [
      "mode",
      { file: VALID_YAML, argv: ["--mode", "both"] },
      "config: --mode: must be one of controller, node, all",
    ],
    [
      "uppercase driver name",
      { file: VALID_YAML, argv: ["--driver-name", "CSI.Example.com"] },
      "config: --driver-name: must be ≤ 63 chars of a-z, 0-9, '-', '.', starting and ending alphanumeric",
    ],
    [
      "64-char driver name",
      { file: VALID_YAML, env: { VSP_CSI_DRIVER_NAME: `a${".b".repeat(31)}c` } },
      "config: driverName (from VSP_CSI_DRIVER_NAME): must be ≤ 63 chars of a-z, 0-9, '-', '.', starting and ending alphanumeric",
    ],
    [
      "log level",
      { file: VALID_YAML, env: { VSP_CSI_LOG_LEVEL: "verbose" } },
      "config: logLevel (from VSP_CSI_LOG_LEVEL): must be one of fatal, error, warn, info, debug, trace, silent",
    ],
    [
      "metrics address",
      { file: VALID_YAML, argv: ["--metrics-address", "9808"] },
      "config: --metrics-address: must be host:port or :port",
    ],
    [
      "node name with a ';' (the node_id separator)",
      { file: VALID_YAML, argv: ["--node-id", "node-1;fc=x"] },
      "config: --node-id: must be the Kubernetes node name (a-z, 0-9, '-', '.', ≤ 253, alphanumeric at both ends)",
    ],
    [
      "node name over 253 characters",
      { file: VALID_YAML, env: { VSP_CSI_NODE_ID: "n".repeat(254) } },
      "config: nodeId (from VSP_CSI_NODE_ID): must be the Kubernetes node name (a-z, 0-9, '-', '.', ≤ 253, alphanumeric at both ends)",
    ],
    [
      "host name that is no node name",
      { file: VALID_YAML, hostname: "my_laptop" },
      "config: nodeId (from the host name): must be the Kubernetes node name (a-z, 0-9, '-', '.', ≤ 253, alphanumeric at both ends)",
    ],
    [
      "operation timeout from env",
      { file: VALID_YAML, env: { VSP_CSI_OPERATION_TIMEOUT_SECONDS: "0" } },
      "config: controller.operationTimeoutSeconds (from VSP_CSI_OPERATION_TIMEOUT_SECONDS): must be ≥ 1",
    ],
    [
      "operation timeout not a number",
      { file: `${VALID_YAML}controller: { operationTimeoutSeconds: soon }\n` },
      `config: controller.operationTimeoutSeconds ${F}: must be a number`,
    ],
    [
      "host root relative",
      { file: VALID_YAML, env: { VSP_CSI_HOST_ROOT: "host" } },
      "config: node.hostRoot (from VSP_CSI_HOST_ROOT): must be an absolute path",
    ],
    [
      "max volumes fractional",
      { file: `${VALID_YAML}node: { maxVolumesPerNode: 1.5 }\n` },
      `config: node.maxVolumesPerNode ${F}: must be an integer`,
    ],
    ["unknown top-level key", { file: `${VALID_YAML}arrayz: []\n` }, `config: arrayz ${F}: unknown key`],
    [
      "unknown nested key",
      { file: `${VALID_YAML}controller: { timeout: 5 }\n` },
      `config: controller.timeout ${F}: unknown key`,
    ],
    [
      "unknown key by --set",
      { file: VALID_YAML, argv: ["--set", "node.root=/x"] },
      "config: node.root (from --set): unknown key",
    ],
    // ---- arrays
    [
      "no arrays in controller mode",
      { argv: ["--mode", "controller"] },
      "config: arrays: at least one array is required in controller mode",
    ],
    [
      "empty arrays in all mode",
      { file: "arrays: []\n" },
      `config: arrays ${F}: at least one array is required in all mode`,
    ],
    ["array not a list", { file: "arrays: {name: x}\n" }, `config: arrays ${F}: must be a list`],
    [
      "invalid URL",
      { file: arrayWith("url", "url: not a url") },
      `config: arrays[0].url ${F}: Invalid URL: must be http(s)://host[:port][/path], without user, query or fragment`,
    ],
    [
      "ftp URL",
      { file: arrayWith("url", "url: ftp://10.0.0.1") },
      `config: arrays[0].url ${F}: Invalid URL: must be http(s)://host[:port][/path], without user, query or fragment`,
    ],
    [
      "URL with query",
      { file: arrayWith("url", "url: https://10.0.0.1/?x=1") },
      `config: arrays[0].url ${F}: Invalid URL: must be http(s)://host[:port][/path], without user, query or fragment`,
    ],
    [
      "11-digit device id",
      { file: arrayWith("storageDeviceId", 'storageDeviceId: "88600012345"') },
      `config: arrays[0].storageDeviceId ${F}: must be 12 digits`,
    ],
    [
      "unquoted device id losing its leading zero",
      { file: arrayWith("storageDeviceId", "storageDeviceId: 012345678901") },
      `config: arrays[0].storageDeviceId ${F}: must be 12 digits`,
    ],
    [
      "missing transport",
      { file: arrayWith("transport", "") },
      `config: arrays[0].transport ${F}: is required`,
    ],
    [
      "unknown transport",
      { file: arrayWith("transport", "transport: nvme") },
      `config: arrays[0].transport ${F}: must be one of fc, iscsi, sim`,
    ],
    [
      "bad url style",
      { file: arrayWith("transport", "transport: fc\n    urlStyle: long") },
      `config: arrays[0].urlStyle ${F}: must be one of storage-scoped, short`,
    ],
    [
      "no concurrent requests",
      { file: arrayWith("transport", "transport: fc\n    maxConcurrentRequests: 0") },
      `config: arrays[0].maxConcurrentRequests ${F}: must be ≥ 1`,
    ],
    [
      "more concurrent requests than the array's 64 sessions",
      { file: VALID_YAML, argv: ["--set", "arrays[0].maxConcurrentRequests=65"] },
      "config: arrays[0].maxConcurrentRequests (from --set): must be ≤ 64",
    ],
    [
      "concurrent requests not a number",
      { file: arrayWith("transport", "transport: fc\n    maxConcurrentRequests: many") },
      `config: arrays[0].maxConcurrentRequests ${F}: must be a number`,
    ],
    [
      "negative pool",
      { file: arrayWith("defaultPoolId", "defaultPoolId: -1") },
      `config: arrays[0].defaultPoolId ${F}: must be ≥ 0`,
    ],
    [
      "missing pool",
      { file: arrayWith("defaultPoolId", "") },
      `config: arrays[0].defaultPoolId ${F}: is required`,
    ],
    [
      "bad port id",
      { file: arrayWith("targetPorts", "targetPorts: [CL1-A, port1]") },
      `config: arrays[0].targetPorts[1] ${F}: must be a port ID like CL1-A`,
    ],
    [
      "no ports",
      { file: arrayWith("targetPorts", "targetPorts: []") },
      `config: arrays[0].targetPorts ${F}: must list at least one port, each once`,
    ],
    [
      "duplicate port",
      { file: arrayWith("targetPorts", "targetPorts: CL1-A,CL1-A") },
      `config: arrays[0].targetPorts ${F}: must list at least one port, each once`,
    ],
    [
      "insecureSkipVerify not boolean",
      { file: arrayWith("transport", "transport: fc\n    insecureSkipVerify: yes") },
      `config: arrays[0].insecureSkipVerify ${F}: must be a boolean`,
    ],
    [
      "array name",
      { file: VALID_YAML.replace("name: vsp1", "name: VSP_1") },
      `config: arrays[0].name ${F}: must be a DNS-1123 label (a-z, 0-9, -; ≤ 63)`,
    ],
    [
      "duplicate array name",
      { file: `arrays:${ARRAY_YAML}${ARRAY_YAML.replace("886000123456", "886000654321")}\n` },
      `config: arrays[1].name ${F}: duplicate array name`,
    ],
    [
      "duplicate device id",
      { file: `arrays:${ARRAY_YAML}${ARRAY_YAML.replace("vsp1", "vsp2")}\n` },
      `config: arrays[1].storageDeviceId ${F}: duplicate storage device ID (volume IDs would be ambiguous)`,
    ],
    [
      "default array unknown",
      { file: VALID_YAML, argv: ["--default-array", "vsp9"] },
      "config: --default-array: names no configured array",
    ],
    // ---- credentials
    [
      "inline and secretDir",
      { file: VALID_YAML.replace("username: maintenance", "username: u\n      secretDir: /secrets") },
      `config: arrays[0].credentials ${F}: give either username and password, or secretDir, not both`,
    ],
    [
      "no credentials",
      { file: arrayWith("credentials", "credentials: {}").replace(/\n\s+username.*\n\s+password.*/, "") },
      `config: arrays[0].credentials ${F}: give either username and password, or secretDir`,
    ],
    [
      "password alone",
      { file: arrayWith("username", "") },
      `config: arrays[0].credentials.username ${F}: is required with password`,
    ],
    [
      "empty password",
      { file: arrayWith("password", '  password: ""') },
      `config: arrays[0].credentials.password ${F}: must not be empty`,
    ],
    [
      "relative secretDir",
      { file: arrayWith("password", "").replace(/username: .*/, "secretDir: secrets/vsp") },
      `config: arrays[0].credentials.secretDir ${F}: must be an absolute path`,
    ],
    [
      "relative caBundle",
      { file: arrayWith("transport", "transport: fc\n    caBundle: ca.pem") },
      `config: arrays[0].caBundle ${F}: must be an absolute path`,
    ],
    // ---- sources themselves
    [
      "missing file by flag",
      { argv: ["--config", "/nope.yaml"] },
      "config: --config: cannot read /nope.yaml: file not found",
    ],
    [
      "missing file by env",
      { env: { VSP_CSI_CONFIG: "/nope.yaml" } },
      "config: config (from VSP_CSI_CONFIG): cannot read /nope.yaml: file not found",
    ],
    [
      "YAML syntax",
      { file: 'arrays:\n  - name: "vsp1\n' },
      `config: ${CONFIG_PATH}: YAML/JSON syntax error (MISSING_CHAR) at line 3, column 1`,
    ],
    [
      "duplicate key",
      { file: "logLevel: info\nlogLevel: debug\n" },
      `config: ${CONFIG_PATH}: YAML/JSON syntax error (DUPLICATE_KEY) at line 2, column 1`,
    ],
    ["file is a list", { file: "- a\n- b\n" }, `config: ${CONFIG_PATH}: must be a mapping of keys to values`],
    [
      "unknown variable",
      { file: VALID_YAML, env: { VSP_CSI_ENDPIONT: "unix:///x" } },
      "config: VSP_CSI_ENDPIONT: unknown variable (known: VSP_CSI_CONFIG, VSP_CSI_DRIVER_NAME, VSP_CSI_MODE, VSP_CSI_ENDPOINT, VSP_CSI_NODE_ID, VSP_CSI_LOG_LEVEL, VSP_CSI_METRICS_ADDRESS, VSP_CSI_DEFAULT_ARRAY, VSP_CSI_OPERATION_TIMEOUT_SECONDS, VSP_CSI_HOST_ROOT, VSP_CSI_NODE_TRANSPORT, VSP_CSI_MAX_VOLUMES_PER_NODE)",
    ],
    [
      "unknown flag (sidecar flags are not ours)",
      { file: VALID_YAML, argv: ["--csi.controllerendpoint=unix:///x"] },
      "config: --csi.controllerendpoint: unknown option",
    ],
    [
      "flag without value",
      { file: VALID_YAML, argv: ["--endpoint"] },
      "config: --endpoint: needs a value (--name value or --name=value)",
    ],
    [
      "positional argument",
      { file: VALID_YAML, argv: ["controller"] },
      "config: argument 3: unexpected (options take the form --name value)",
    ],
    [
      "--set without =",
      { file: VALID_YAML, argv: ["--set", "logLevel"] },
      "config: --set: expects key.path=value, e.g. --set arrays[0].transport=fc",
    ],
    [
      "--set bad key",
      { file: VALID_YAML, argv: ["--set", "a..b=1"] },
      'config: --set "a..b": expects key.path=value, e.g. --set arrays[0].transport=fc',
    ],
    [
      "--set skipping list elements",
      { file: VALID_YAML, argv: ["--set", "arrays[3].name=x"] },
      "config: arrays[3].name (from --set): index 3 skips elements (the list has 1)",
    ],
  ])("%s", async (_name, inputs, expected) => {
    expect(await problemsOf(inputs)).toContain(expected);
  });

  it("reports every problem at once, one line each", async () => {
    const problems = await problemsOf({
      file: arrayWith("url", "url: nope").replace("CL2-A", "bogus"),
      argv: ["--log-level", "loud"],
    });
    expect(problems).toEqual([
      "config: --log-level: must be one of fatal, error, warn, info, debug, trace, silent",
      `config: arrays[0].url ${F}: Invalid URL: must be http(s)://host[:port][/path], without user, query or fragment`,
      `config: arrays[0].targetPorts[1] ${F}: must be a port ID like CL1-A`,
    ]);
  });
});
