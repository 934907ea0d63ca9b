/**
 * The configuration as it may be logged at start-up: the password replaced, the CA bundle reduced
 * to its path and certificate count. Everything else is safe to show and useful when debugging.
 */
import type { Config } from "./load.js";

export const REDACTED = "[REDACTED]";

/** A JSON-safe copy of `config` without secrets. */
export function redactedConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    arrays: config.arrays.map(({ credentials, caBundle, ...array }) => ({
      ...array,
      credentials: { username: credentials.username, password: REDACTED, from: credentials.from },
      ...(caBundle === undefined
        ? {}
        : { caBundle: { path: caBundle.path, certificates: caBundle.certificates } }),
    })),
  };
}
