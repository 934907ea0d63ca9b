/**
 * Waiting for the array to reach a state (a pair out of COPY, a group in PAIR): read, check, back
 * off, and give up with OperationInProgressError (ABORTED) once the wait budget is spent, so the
 * CO's retry picks the work up where it stands instead of the call running on past its deadline.
 * The budget is waitMs or the call's remaining time (src/deadline.ts), whichever ends first.
 */
import { remainingMs } from "../deadline.js";
import { OperationInProgressError } from "./errors.js";

export interface PollOptions {
  /** How long a call waits before answering ABORTED (the retry continues); the call's deadline may cut it. */
  waitMs?: number;
  /** First poll interval, doubling up to MAX_POLL_MS. */
  pollMs?: number;
}

/** Polls at most this often: a state change is seen within a quarter second. */
const MAX_POLL_MS = 250;
const DEFAULT_WAIT_MS = 60_000;
const DEFAULT_POLL_MS = 50;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Reads with `read` until `done` says so or the budget is spent; answers the last reading and
 * whether `done` held. For waits whose end is not a failure (a copy still running is an answer).
 */
export async function pollFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: PollOptions = {},
): Promise<{ value: T; done: boolean }> {
  const waitMs = Math.min(options.waitMs ?? DEFAULT_WAIT_MS, remainingMs() ?? Infinity);
  const deadline = Date.now() + waitMs;
  for (let delay = options.pollMs ?? DEFAULT_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
    const value = await read();
    if (done(value)) return { value, done: true };
    if (Date.now() + delay > deadline) return { value, done: false };
    await sleep(delay);
  }
}

/**
 * Reads with `read` until `done` says so and answers that reading; ABORTED with `stillBusy` once the
 * budget is spent. `done` may throw to end the wait with another error.
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  stillBusy: string,
  options: PollOptions = {},
): Promise<T> {
  const polled = await pollFor(read, done, options);
  if (!polled.done) throw new OperationInProgressError(stillBusy);
  return polled.value;
}
