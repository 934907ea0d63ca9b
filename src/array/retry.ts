/**
 * Retry policy per error class, bounded by a total time budget per call (default 60 s, well inside
 * a CSI sidecar's timeout), exponential backoff with jitter, Retry-After honoured (capped).
 *
 * Which requests may be replayed: a GET always (it changes nothing). A change request (POST, PATCH,
 * PUT, DELETE) only when the array certainly did not act on it:
 *   - it answered 503 (busy, session limit) or a lock conflict: refused before any job existed;
 *   - the connection never opened (refused, DNS, connect timeout);
 *   - its job ended Failed with a lock SSB: a Failed job changed nothing (D-JOB: only confirmed
 *     resources are reported) and the lock is the only cause;
 *   - the array itself said so: solutionType RETRY ("safe to resend the same request", §3).
 * Session creation is replayed like a GET (`replaySafe`): a lost answer costs at most one idle
 * session, which the array expires after aliveTime.
 * Never after a reset or timeout once the request may have been sent: a POST that creates an LDEV
 * may have run, and a replayed DELETE could remove an LDEV id that a concurrent create has just
 * reused. The caller re-reads the array and decides.
 */
import type { Logger } from "pino";

import type { HttpMethod } from "./http.js";
import {
  VspBusyError,
  VspError,
  VspLockedError,
  VspServerError,
  VspStorageError,
  VspTransportError,
} from "./errors.js";
import { isNoRetrySsb } from "./ssb.js";

export interface RetryPolicy {
  budgetMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface RetryDecision {
  retry: boolean;
  reason: string;
}

const replayForbidden = new WeakSet<object>();
const replayAllowed = new WeakSet<object>();

/** Marks an error as final for the surrounding retry loop (e.g. a job poll that failed). */
export function noReplay<E>(err: E): E {
  if (typeof err === "object" && err !== null) replayForbidden.add(err);
  return err;
}

/**
 * Marks an error of a request that is harmless to repeat whatever its method: session creation
 * (a lost answer costs at most one idle session, which the array expires after aliveTime).
 */
export function replaySafe<E>(err: E): E {
  if (typeof err === "object" && err !== null) replayAllowed.add(err);
  return err;
}

function markedSafe(err: VspError): boolean {
  return replayAllowed.has(err);
}

function safeToReplay(err: VspError, method: HttpMethod): boolean {
  return method === "GET" || err.solutionType === "RETRY" || markedSafe(err);
}

/** The policy table, as code. */
export function retryDecision(err: unknown, method: HttpMethod): RetryDecision {
  if (typeof err === "object" && err !== null && replayForbidden.has(err)) {
    return { retry: false, reason: "the request was accepted; only its job wait failed" };
  }
  if (!(err instanceof VspError)) return { retry: false, reason: "not an array error" };
  if (err instanceof VspBusyError) return { retry: true, reason: "busy: refused before any job" };
  if (err instanceof VspLockedError) return { retry: true, reason: "locked: wait for the lock holder" };
  if (err instanceof VspTransportError) {
    if (err.failure === "tls") return { retry: false, reason: "TLS verification failed: configuration" };
    if (!err.maybeSent) return { retry: true, reason: "connection never opened" };
    return method === "GET" || markedSafe(err)
      ? { retry: true, reason: "idempotent request, transport failure" }
      : { retry: false, reason: "the change may have been applied" };
  }
  if (err instanceof VspStorageError) {
    if (isNoRetrySsb(err.ssb)) return { retry: false, reason: "SSB in the no-retry list" };
    return err.solutionType === "RETRY"
      ? { retry: true, reason: "the array says RETRY" }
      : { retry: false, reason: "storage refused the request" };
  }
  if (err instanceof VspServerError) {
    return safeToReplay(err, method)
      ? { retry: true, reason: "transient server error on a replayable request" }
      : { retry: false, reason: "server error; the change may have been applied" };
  }
  return { retry: false, reason: `${err.kind} errors are final` };
}

export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + Math.random() * (exp / 2);
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, policy.maxDelayMs));
}

export interface RetryCall {
  method: HttpMethod;
  path: string;
  logger: Logger;
  /** The caller's deadline (epoch ms; options.ts `deadline`): no attempt starts after it. */
  deadline?: number | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function stoppedByDeadline(call: RetryCall, last: unknown, attempts: number): VspBusyError {
  const why = last instanceof Error ? last.message : String(last);
  const err = new VspBusyError(
    { method: call.method, path: call.path, cause: last },
    `no time left before the call's deadline to retry (${why})`,
  );
  err.attempts = attempts;
  return err;
}

/**
 * Runs `attempt` until it succeeds, the policy says stop, or the next wait would end after the
 * budget or the call's deadline. The last error is thrown, with `attempts` set — except when the
 * deadline is what stops a retryable error: then a VspBusyError (cause: the last error) says the
 * array could not be used in the time left, which the driver answers UNAVAILABLE (the CO retries);
 * whatever was refused was certainly not applied, or it would not have been retryable.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  call: RetryCall,
  attempt: () => Promise<T>,
): Promise<T> {
  const budgetEnd = Date.now() + policy.budgetMs;
  const callEnd = call.deadline ?? Infinity;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const decision = retryDecision(err, call.method);
      const retryAfter = err instanceof VspError ? err.retryAfterMs : undefined;
      const delay = backoffDelay(policy, n, retryAfter);
      if (err instanceof VspError) err.attempts = n;
      if (!decision.retry) throw err;
      const nextAt = Date.now() + delay;
      if (nextAt > callEnd && callEnd <= budgetEnd) throw stoppedByDeadline(call, err, n);
      if (nextAt > budgetEnd) throw err;
      call.logger.info(
        {
          method: call.method,
          path: call.path,
          attempt: n,
          delayMs: Math.round(delay),
          reason: decision.reason,
          err,
        },
        "vsp request will be retried",
      );
      await sleep(delay);
    }
  }
}
