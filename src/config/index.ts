/**
 * The driver's configuration: `loadConfig` / `loadConfigFromProcess` build ONE validated, typed
 * `Config` from defaults < file (--config / VSP_CSI_CONFIG, YAML or JSON) < VSP_CSI_* env < flags
 * < `--set key.path=value`; `redactedConfig` is what may be logged. Meaning of every key: the doc
 * comments in schema.ts; env and flag names: sources.ts `KEY_BINDINGS`.
 *
 * | key                                 | type                          | default              | env                               | flag              |
 * |-------------------------------------|-------------------------------|----------------------|-----------------------------------|-------------------|
 * | (config file path)                  | path                          | none                 | VSP_CSI_CONFIG                    | --config          |
 * | driverName                          | DNS-1123 subdomain ≤ 63       | csi.vsp-csi.dev      | VSP_CSI_DRIVER_NAME               | --driver-name     |
 * | driverVersion                       | (package.json, not settable)  | package version      | —                                 | —                 |
 * | mode                                | controller / node / all       | all                  | VSP_CSI_MODE                      | --mode            |
 * | endpoint                            | unix:///path, tcp://host:port | unix:///csi/csi.sock | VSP_CSI_ENDPOINT                  | --endpoint        |
 * | nodeId (the node name)              | Kubernetes node name          | host name, lowercase | VSP_CSI_NODE_ID                   | --node-id         |
 * | logLevel                            | pino level                    | info                 | VSP_CSI_LOG_LEVEL                 | --log-level       |
 * | metricsAddress                      | host:port / :port             | unset (no metrics)   | VSP_CSI_METRICS_ADDRESS           | --metrics-address |
 * | defaultArray                        | array name                    | first array          | VSP_CSI_DEFAULT_ARRAY             | --default-array   |
 * | controller.operationTimeoutSeconds  | int 1–3600                    | 100                  | VSP_CSI_OPERATION_TIMEOUT_SECONDS | --set             |
 * | node.hostRoot                       | absolute path                 | /                    | VSP_CSI_HOST_ROOT                 | --set             |
 * | node.transport                      | fc / iscsi / sim              | unset (from publish) | VSP_CSI_NODE_TRANSPORT            | --set             |
 * | node.maxVolumesPerNode              | int ≥ 1                       | unset (CO decides)   | VSP_CSI_MAX_VOLUMES_PER_NODE      | --set             |
 * | arrays[i].name                      | DNS-1123 label, unique        | required             | —                                 | --set             |
 * | arrays[i].url                       | http(s) URL                   | required             | —                                 | --set             |
 * | arrays[i].storageDeviceId           | 12 digits, unique             | required             | —                                 | --set             |
 * | arrays[i].credentials.username/password | inline strings (discouraged) | one form required  | —                                 | --set             |
 * | arrays[i].credentials.secretDir     | absolute path (Secret mount)  | one form required    | —                                 | --set             |
 * | arrays[i].caBundle                  | absolute path to PEM          | system CAs           | —                                 | --set             |
 * | arrays[i].insecureSkipVerify        | boolean                       | false                | —                                 | --set             |
 * | arrays[i].urlStyle                  | storage-scoped / short        | storage-scoped       | —                                 | --set             |
 * | arrays[i].maxConcurrentRequests     | int 1–64                      | 8                    | —                                 | --set             |
 * | arrays[i].defaultPoolId             | int ≥ 0                       | required             | —                                 | --set             |
 * | arrays[i].snapshotPoolId            | int ≥ 0                       | source volume's pool | —                                 | --set             |
 * | arrays[i].targetPorts               | list of CLx-Y, unique, ≥ 1    | required             | —                                 | --set (a,b)       |
 * | arrays[i].transport                 | fc / iscsi / sim              | required             | —                                 | --set             |
 *
 * `arrays` is required (≥ 1) in controller and all modes only.
 */
export { ConfigError } from "./errors.js";
export { loadConfig, loadConfigFromProcess, packageVersion } from "./load.js";
export type { Config, LoadOptions, LoadedConfig } from "./load.js";
export { REDACTED, redactedConfig } from "./redact.js";
export type { ArrayConfig, CaBundle, Credentials, ReadFile } from "./resolve.js";
export {
  DEFAULT_DRIVER_NAME,
  DEFAULT_ENDPOINT,
  DEFAULT_OPERATION_TIMEOUT_SECONDS,
  LOG_LEVELS,
  MODES,
  TRANSPORTS,
  URL_STYLES,
  parseEndpoint,
} from "./schema.js";
export type { Endpoint, LogLevel, Mode, Transport, UrlStyle } from "./schema.js";
export { CONFIG_ENV, KEY_BINDINGS } from "./sources.js";
