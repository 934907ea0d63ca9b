/** Test helpers for the config tests: an in-memory file reader and a valid base configuration. */
import { ConfigError } from "../errors.js";
import { loadConfig } from "../load.js";
import type { LoadedConfig } from "../load.js";

export const CONFIG_PATH = "/etc/vsp-csi/config.yaml";

/** A `readFile` over a map of path → content; missing paths fail like fs with ENOENT. */
export function memFs(files: Record<string, string>): (path: string) => Promise<string> {
  return (path) => {
    const content = files[path];
    if (content !== undefined) return Promise.resolve(content);
    return Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" }));
  };
}

/** A minimal valid array entry, as YAML lines indented for a list item. */
export const ARRAY_YAML = `
  - name: vsp1
    url: https://10.0.0.1
    storageDeviceId: "886000123456"
    credentials:
      username: maintenance
      password: raid-secret-1
    defaultPoolId: 0
    targetPorts: [CL1-A, CL2-A]
    transport: fc`;

export const VALID_YAML = `arrays:${ARRAY_YAML}\n`;

/** The valid file with one line of the array entry replaced (`key: value` → `replacement`). */
export function arrayWith(key: string, replacement: string): string {
  const lines = VALID_YAML.split("\n");
  const i = lines.findIndex((l) => l.trimStart().startsWith(`${key}:`));
  if (i < 0) return `${VALID_YAML}    ${replacement}\n`;
  lines[i] = replacement === "" ? "" : `    ${replacement}`;
  return lines.join("\n");
}

export interface Inputs {
  file?: string;
  files?: Record<string, string>;
  env?: Record<string, string>;
  argv?: string[];
  /** Default "node-a". */
  hostname?: string;
}

/** Load with the file (if any) at CONFIG_PATH passed by --config. */
export function load(inputs: Inputs): Promise<LoadedConfig> {
  const files = { ...inputs.files, ...(inputs.file === undefined ? {} : { [CONFIG_PATH]: inputs.file }) };
  const argv = [...(inputs.file === undefined ? [] : ["--config", CONFIG_PATH]), ...(inputs.argv ?? [])];
  return loadConfig({
    argv,
    env: inputs.env ?? {},
    readFile: memFs(files),
    hostname: () => inputs.hostname ?? "node-a",
    driverVersion: "9.9.9-test",
  });
}

/** The problems of the ConfigError that loading throws (fails the test if it does not throw one). */
export async function problemsOf(inputs: Inputs): Promise<readonly string[]> {
  try {
    await load(inputs);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError, but the configuration loaded");
}
