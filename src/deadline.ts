/**
 * The deadline of the call running now (epoch ms), kept in AsyncLocalStorage.
 *
 * Why ambient: the CSI layer knows the deadline (the gRPC deadline, capped by the operation
 * timeout), but the code that must respect it sits several layers down — the REST client's retry
 * loop, job waits and HTTP exchanges, the driver's polls. Threading a parameter through every
 * driver method and client call would touch every signature in between; the deadline instead
 * follows the call's async context, like the request id in src/csi/pipeline.ts. Work started
 * outside a call (start-up, the group janitor) has no deadline and keeps its own budgets.
 *
 * This module imports nothing from csi, driver or array: each layer depends on it, not on another.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const store = new AsyncLocalStorage<number>();

/**
 * Runs `fn` with `deadlineEpochMs` as the current deadline. A nested run can only shorten it: an
 * inner scope never outlives the call that contains it. Infinity or NaN means "no deadline".
 */
export function runWithDeadline<T>(deadlineEpochMs: number, fn: () => T): T {
  const outer = store.getStore();
  const own = Number.isFinite(deadlineEpochMs) ? deadlineEpochMs : undefined;
  const effective = outer === undefined ? own : own === undefined ? outer : Math.min(outer, own);
  return effective === undefined ? fn() : store.run(effective, fn);
}

/** The current call's deadline (epoch ms), or undefined outside a call with one. */
export function currentDeadline(): number | undefined {
  return store.getStore();
}

/** Milliseconds left before the current deadline (≤ 0 once passed), or undefined without one. */
export function remainingMs(now = Date.now()): number | undefined {
  const deadline = store.getStore();
  return deadline === undefined ? undefined : deadline - now;
}
