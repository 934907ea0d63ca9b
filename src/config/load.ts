/**
 * Loading THE configuration: defaults < config file < VSP_CSI_* environment < flags (and
 * `--set key=value` last), validated into one typed object (style anchors §6 practice 13).
 * All problems are reported together, each naming the key and its source (errors.ts).
 */
import { readFileSync } from "node:fs";
import { readFile as fsReadFile } from "node:fs/promises";
import { hostname as osHostname } from "node:os";

import type { z } from "zod";

import { ConfigError, problem } from "./errors.js";
import { Layers, formatPath } from "./layers.js";
import type { PathSegment, Source } from "./layers.js";
import { resolveArray } from "./resolve.js";
import type { ArrayConfig, ReadFile } from "./resolve.js";
import { configSchema } from "./schema.js";
import type { ConfigInput, LogLevel, Mode, Transport } from "./schema.js";
import { CONFIG_ENV, CONFIG_FLAG, parseConfigFile, readEnv, readFlags } from "./sources.js";

/** The validated configuration. See schema.ts for the meaning and default of every key. */
export interface Config {
  readonly driverName: string;
  /** From package.json; not configurable. */
  readonly driverVersion: string;
  readonly mode: Mode;
  /** `unix:///path` or `tcp://host:port`; `parseEndpoint` splits it. */
  readonly endpoint: string;
  readonly nodeId: string;
  readonly logLevel: LogLevel;
  readonly metricsAddress?: string;
  readonly arrays: readonly ArrayConfig[];
  /** Name of the default array; undefined only when no array is configured (node mode). */
  readonly defaultArray?: string;
  readonly controller: { readonly operationTimeoutSeconds: number };
  readonly node: {
    readonly hostRoot: string;
    readonly transport?: Transport;
    readonly maxVolumesPerNode?: number;
    /** Per-volume stage records (node plugin); default depends on the transport. */
    readonly stateDir?: string;
    /** sim transport: the simulator's data directory holding ldevs/<id>.img. */
    readonly simDataDir?: string;
  };
  /** The file the configuration was read from, if any. */
  readonly configFile?: string;
}

export interface LoadedConfig {
  readonly config: Config;
  /** Risky but valid settings (inline password, TLS verification off…), for the start-up log. */
  readonly warnings: readonly string[];
}

export interface LoadOptions {
  /** Command-line arguments after the sub-command. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: ReadFile;
  /** Default node name (lowercased). */
  readonly hostname?: () => string;
  /** Default: the version in package.json. */
  readonly driverVersion?: string;
}

/** The package version, read next to the code (src/config → ../../package.json, same from dist/config). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  return typeof pkg.version === "string" ? pkg.version : "0.0.0";
}

/** Zod messages in the loader's words; none of them repeats the input. */
const errorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.input === undefined && (iss.code === "invalid_type" || iss.code === "invalid_value")) {
    return "is required";
  }
  if (iss.code === "invalid_value") return `must be one of ${iss.values.map(String).join(", ")}`;
  if (iss.code === "invalid_type") {
    const names: Record<string, string> = { int: "an integer", array: "a list", object: "a mapping" };
    return `must be ${names[iss.expected] ?? `a ${iss.expected}`}`;
  }
  if (iss.code === "too_small" && iss.origin === "number") return `must be ≥ ${String(iss.minimum)}`;
  if (iss.code === "too_big" && iss.origin === "number") return `must be ≤ ${String(iss.maximum)}`;
  return undefined;
};

async function readConfigFile(
  layers: Layers,
  path: string,
  origin: Source,
  readFile: ReadFile,
): Promise<void> {
  let text: string;
  try {
    text = await readFile(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const reason =
      code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : "cannot be read";
    throw new ConfigError([problem([CONFIG_FLAG], origin, `cannot read ${path}: ${reason}`)]);
  }
  layers.merge(parseConfigFile(text, path), { kind: "file", path });
}

/** Stack the sources into one unvalidated tree with provenance. */
async function collect(options: LoadOptions): Promise<{ layers: Layers; configFile?: string }> {
  const flags = readFlags(options.argv);
  const env = readEnv(options.env);
  const layers = new Layers();
  const host = (options.hostname ?? osHostname)().toLowerCase(); // as kubelet names the node
  if (host !== "") layers.set(["nodeId"], host, { kind: "hostname" });

  const configFile = flags.configPath ?? env.configPath;
  if (configFile !== undefined) {
    const origin: Source =
      flags.configPath !== undefined
        ? { kind: "flag", name: `--${CONFIG_FLAG}` }
        : { kind: "env", name: CONFIG_ENV };
    await readConfigFile(layers, configFile, origin, options.readFile);
  }
  for (const s of env.settings) layers.set(s.path, s.value, { kind: "env", name: s.origin });
  for (const s of flags.settings) layers.set(s.path, s.value, { kind: "flag", name: s.origin });
  const problems: string[] = [];
  for (const s of flags.sets) {
    const failed = layers.set(s.path, s.value, { kind: "set" });
    if (failed !== undefined) problems.push(problem(s.path, { kind: "set" }, failed));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return configFile === undefined ? { layers } : { layers, configFile };
}

function validate(layers: Layers): ConfigInput {
  const parsed = configSchema.safeParse(layers.value, { error: errorMap });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.flatMap((iss) => {
    const path = iss.path.filter((seg): seg is PathSegment => typeof seg !== "symbol");
    if (iss.code === "unrecognized_keys") {
      return iss.keys.map((key) => problem([...path, key], layers.sourceOf([...path, key]), "unknown key"));
    }
    return [problem(path, layers.sourceOf(path), iss.message)];
  });
  throw new ConfigError(problems);
}

function warningsFor(input: ConfigInput, layers: Layers): string[] {
  const warnings: string[] = [];
  const warn = (path: PathSegment[], message: string) => {
    warnings.push(`config: ${formatPath(path)}: ${message}`);
  };
  input.arrays.forEach((a, i) => {
    if (a.credentials.password !== undefined) {
      const path = ["arrays", i, "credentials", "password"];
      warnings.push(
        problem(path, layers.sourceOf(path), "given inline; prefer secretDir (a mounted Secret)"),
      );
    }
    if (a.insecureSkipVerify)
      warn(["arrays", i, "insecureSkipVerify"], "TLS certificate verification is OFF");
    if (a.insecureSkipVerify && a.caBundle !== undefined) {
      warn(["arrays", i, "caBundle"], "ignored while insecureSkipVerify is true");
    }
    if (a.url.startsWith("http:"))
      warn(["arrays", i, "url"], "plain HTTP sends the API password unencrypted");
  });
  return warnings;
}

/**
 * Load and validate the configuration. Throws `ConfigError` listing every problem found (one
 * line each, key and source named, values never shown).
 */
export async function loadConfig(options: LoadOptions): Promise<LoadedConfig> {
  const { layers, configFile } = await collect(options);
  const input = validate(layers);
  const resolved = await Promise.all(
    input.arrays.map((a, i) => resolveArray(a, i, options.readFile, (p) => layers.sourceOf(p))),
  );
  const problems = resolved.flatMap((r) => r.problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const arrays = resolved.map((r) => r.array);
  const { arrays: _inputArrays, defaultArray, ...rest } = input;
  const chosen = defaultArray ?? arrays[0]?.name;
  const config: Config = {
    ...rest,
    driverVersion: options.driverVersion ?? packageVersion(),
    arrays,
    ...(chosen === undefined ? {} : { defaultArray: chosen }),
    ...(configFile === undefined ? {} : { configFile }),
  };
  return { config, warnings: warningsFor(input, layers) };
}

/** `loadConfig` with the real process environment, file system and host name. */
export function loadConfigFromProcess(argv: readonly string[]): Promise<LoadedConfig> {
  return loadConfig({
    argv,
    env: process.env,
    readFile: (path) => fsReadFile(path, "utf8"),
    hostname: osHostname,
  });
}
