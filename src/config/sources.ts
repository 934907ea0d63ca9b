/**
 * The configuration sources other than defaults: the file (YAML or JSON), VSP_CSI_* environment
 * variables and command-line flags. Each is turned into plain values; nothing is validated here
 * beyond syntax. Messages name keys, variables and flags, never values (they may be secrets).
 */
import { parseArgs } from "node:util";

import { parseDocument } from "yaml";

import { ConfigError } from "./errors.js";
import { isTree, parseKeyPath } from "./layers.js";
import type { PathSegment, Tree } from "./layers.js";

/** A configuration key settable from the environment and, for the common ones, by a flag. */
export interface KeyBinding {
  readonly path: readonly PathSegment[];
  readonly env: string;
  /** Flag name without the leading "--". */
  readonly flag?: string;
}

/** Every env variable and named flag. Anything else is set in the file or with `--set key=value`. */
export const KEY_BINDINGS: readonly KeyBinding[] = [
  { path: ["driverName"], env: "VSP_CSI_DRIVER_NAME", flag: "driver-name" },
  { path: ["mode"], env: "VSP_CSI_MODE", flag: "mode" },
  { path: ["endpoint"], env: "VSP_CSI_ENDPOINT", flag: "endpoint" },
  { path: ["nodeId"], env: "VSP_CSI_NODE_ID", flag: "node-id" },
  { path: ["logLevel"], env: "VSP_CSI_LOG_LEVEL", flag: "log-level" },
  { path: ["metricsAddress"], env: "VSP_CSI_METRICS_ADDRESS", flag: "metrics-address" },
  { path: ["defaultArray"], env: "VSP_CSI_DEFAULT_ARRAY", flag: "default-array" },
  { path: ["controller", "operationTimeoutSeconds"], env: "VSP_CSI_OPERATION_TIMEOUT_SECONDS" },
  { path: ["node", "hostRoot"], env: "VSP_CSI_HOST_ROOT" },
  { path: ["node", "transport"], env: "VSP_CSI_NODE_TRANSPORT" },
  { path: ["node", "maxVolumesPerNode"], env: "VSP_CSI_MAX_VOLUMES_PER_NODE" },
];

/** Path of the configuration file; the flag wins over the variable. */
export const CONFIG_ENV = "VSP_CSI_CONFIG";
export const CONFIG_FLAG = "config";
export const SET_FLAG = "set";
const ENV_PREFIX = "VSP_CSI_";

export interface Setting {
  readonly path: readonly PathSegment[];
  readonly value: string;
  /** Variable name, or flag as typed ("--endpoint", "--set"). */
  readonly origin: string;
}

export interface EnvValues {
  readonly configPath?: string;
  readonly settings: readonly Setting[];
}

/**
 * Read VSP_CSI_* variables. An empty variable counts as unset (charts often render empty values).
 * An unknown VSP_CSI_* variable is an error: a typo must not silently fall back to a default.
 */
export function readEnv(env: Readonly<Record<string, string | undefined>>): EnvValues {
  const settings: Setting[] = [];
  const problems: string[] = [];
  let configPath: string | undefined;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || value === "") continue;
    if (name === CONFIG_ENV) {
      configPath = value;
      continue;
    }
    const binding = KEY_BINDINGS.find((b) => b.env === name);
    if (binding === undefined) problems.push(`config: ${name}: unknown variable (known: ${knownEnv()})`);
    else settings.push({ path: binding.path, value, origin: name });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return configPath === undefined ? { settings } : { configPath, settings };
}

function knownEnv(): string {
  return [CONFIG_ENV, ...KEY_BINDINGS.map((b) => b.env)].join(", ");
}

export interface FlagValues {
  readonly configPath?: string;
  /** Named flags, in the order of KEY_BINDINGS. */
  readonly settings: readonly Setting[];
  /** `--set key=value`, in command-line order (applied last, later wins). */
  readonly sets: readonly Setting[];
}

const FLAG_OPTIONS = {
  [CONFIG_FLAG]: { type: "string" },
  [SET_FLAG]: { type: "string", multiple: true },
  ...Object.fromEntries(
    KEY_BINDINGS.flatMap((b) => (b.flag === undefined ? [] : [[b.flag, { type: "string" }]])),
  ),
} as const satisfies Record<string, { type: "string"; multiple?: boolean }>;

/** Parse flags (node:util parseArgs syntax: `--name value` or `--name=value`). */
export function readFlags(argv: readonly string[]): FlagValues {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: FLAG_OPTIONS,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError([flagProblem(err, argv)]);
  }
  const settings: Setting[] = [];
  for (const b of KEY_BINDINGS) {
    const v = b.flag === undefined ? undefined : values[b.flag];
    if (typeof v === "string") settings.push({ path: b.path, value: v, origin: `--${b.flag ?? ""}` });
  }
  const sets = (Array.isArray(values[SET_FLAG]) ? values[SET_FLAG] : []).map(parseSet);
  const configPath = values[CONFIG_FLAG];
  return typeof configPath === "string" ? { configPath, settings, sets } : { settings, sets };
}

/** parseArgs errors quote the argument, which may be a value; rebuild the message from names only. */
function flagProblem(err: unknown, argv: readonly string[]): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : "";
  const named = /'(--?[A-Za-z0-9][\w.-]*)/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `config: ${named ?? "option"}: unknown option`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return `config: ${named ?? "option"}: needs a value (--name value or --name=value)`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const { tokens } = parseArgs({ args: [...argv], options: FLAG_OPTIONS, strict: false, tokens: true });
      const index = tokens.find((t) => t.kind === "positional")?.index ?? -1;
      return `config: argument ${String(index + 1)}: unexpected (options take the form --name value)`;
    }
    default:
      return "config: invalid command line";
  }
}

function parseSet(item: string): Setting {
  const eq = item.indexOf("=");
  const key = eq < 0 ? item : item.slice(0, eq);
  const path = eq <= 0 ? undefined : parseKeyPath(key);
  if (path === undefined) {
    // Name at most the key part: the value may be a password.
    const shown = eq <= 0 ? "" : ` ${JSON.stringify(key)}`;
    throw new ConfigError([
      `config: --set${shown}: expects key.path=value, e.g. --set arrays[0].transport=fc`,
    ]);
  }
  return { path, value: item.slice(eq + 1), origin: "--set" };
}

/**
 * Parse a configuration file. YAML 1.2 is a superset of JSON, so one parser serves both (and
 * rejects duplicate keys in either). Syntax errors report the position and error code only: the
 * parser's own message quotes the offending line, which may hold a password.
 */
export function parseConfigFile(text: string, path: string): Tree {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const pos = lineColumn(text, first.pos[0]);
    throw new ConfigError([
      `config: ${path}: YAML/JSON syntax error (${first.code}) at line ${String(pos.line)}, column ${String(pos.column)}`,
    ]);
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return {};
  if (!isTree(value)) throw new ConfigError([`config: ${path}: must be a mapping of keys to values`]);
  return value;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split("\n");
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}
