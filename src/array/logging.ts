/**
 * Logging for the client: a pino child logger that redacts every field that could hold a
 * credential, as a second line of defence. The first line is that the client never puts a token,
 * password or Authorization header into a log call or an error message at all.
 */
import pino from "pino";
import type { Logger } from "pino";

const SECRET_KEYS = [
  "authorization",
  "Authorization",
  "token",
  "password",
  "chapPassword",
  "chapSecret",
  "secrets",
];

/** Redaction paths: the keys at the top level and up to two levels down. */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function clientLogger(parent: Logger | undefined, storageDeviceId: string): Logger {
  const base = parent ?? pino({ level: "silent" });
  return base.child(
    { component: "vsp-client", storageDeviceId },
    { redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
  );
}
