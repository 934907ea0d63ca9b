/**
 * Test helpers for the VSP client: a client pointed at an in-process simulator, the simulator's
 * request log (to count REST calls), and a pino logger that writes into memory.
 */
import { Writable } from "node:stream";

import pino from "pino";
import type { Logger } from "pino";

import type { TestSim } from "../../simulator/test-support/harness.js";
import { VspClient } from "../client.js";
import type { VspClientOptions } from "../options.js";

/** Fast retries so fault tests take milliseconds, not the production seconds. */
export const FAST_RETRY = { budgetMs: 2_000, baseDelayMs: 5, maxDelayMs: 40 };

export function clientFor(t: TestSim, overrides: Partial<VspClientOptions> = {}): VspClient {
  const config = t.sim.core.config;
  return new VspClient({
    baseUrl: t.running.url,
    storageDeviceId: config.storageDeviceId,
    username: config.username,
    password: config.password,
    retry: FAST_RETRY,
    ...overrides,
  });
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

/** The simulator's request log from `since` on (admin endpoint). */
export async function requestLog(t: TestSim, since = 0): Promise<LoggedRequest[]> {
  const res = await t.admin("GET", `/simulator/requests?since=${since}`);
  return res.body.data as LoggedRequest[];
}

/** Current length of the request log, to read only what a test step adds. */
export async function logMark(t: TestSim): Promise<number> {
  const res = await t.admin("GET", "/simulator/requests?since=999999999");
  return res.body.next as number;
}

export function countRequests(log: LoggedRequest[], method: string, path: RegExp, status?: number): number {
  return log.filter(
    (r) => r.method === method && path.test(r.path) && (status === undefined || r.status === status),
  ).length;
}

export interface MemoryLog {
  logger: Logger;
  text(): string;
}

export function memoryLogger(level: pino.Level = "trace"): MemoryLog {
  let out = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out += chunk.toString("utf8");
      callback();
    },
  });
  return { logger: pino({ level }, stream), text: () => out };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with the rejection of `promise`, which must be a `type` (fails the test otherwise). */
export async function rejectionOf<T extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof type) return err;
    throw new Error(`expected a ${type.name}, got ${String(err)}`, { cause: err });
  }
  throw new Error(`expected a ${type.name}, but the call succeeded`);
}
