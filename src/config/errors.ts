/**
 * Configuration errors: every line names the key and where its value came from, e.g.
 *   config: arrays[0].url (from /etc/vsp-csi/config.yaml): Invalid URL
 *   config: --endpoint: must be unix:///path or tcp://host:port
 * and never the value itself (it may be a password).
 */
import { formatPath } from "./layers.js";
import type { PathSegment, Source } from "./layers.js";

/** The configuration is invalid; `problems` holds one line per problem (all of them, not the first). */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
  }
}

/** `key (from source)`, or the flag itself for a named flag. */
export function describeKey(path: readonly PathSegment[], source: Source): string {
  const key = formatPath(path) || "(top level)";
  switch (source.kind) {
    case "flag":
      return source.name;
    case "env":
      return `${key} (from ${source.name})`;
    case "file":
      return `${key} (from ${source.path})`;
    case "set":
      return `${key} (from --set)`;
    case "hostname":
      return `${key} (from the host name)`;
    case "default":
      return key;
  }
}

export function problem(path: readonly PathSegment[], source: Source, message: string): string {
  return `config: ${describeKey(path, source)}: ${message}`;
}
