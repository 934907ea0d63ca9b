/**
 * The driver's logger: pino JSON lines. Levels have fixed meanings — error: a call failed in a way
 * an operator must look at; warn: a call failed as the CO will see it, or something was retried;
 * info: one line per state-changing call and its result; debug: request payloads (secrets removed)
 * and array calls; trace: Probe and other chatter.
 *
 * Secrets never reach a log line: CSI `secrets` maps are replaced before logging (csi/pipeline.ts),
 * and these redact paths catch credentials anywhere they could be attached by mistake.
 */
import { pino } from "pino";
import type { DestinationStream, Logger, LoggerOptions } from "pino";

export const REDACT_PATHS = [
  "secrets",
  "*.secrets",
  "password",
  "*.password",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.Authorization",
  "*.headers.Authorization",
  "chapPassword",
  "*.chapPassword",
];

export function createLogger(level = "info", destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { component: "vsp-csi" },
    redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
