/**
 * Per-key, non-blocking in-flight locks for CSI RPCs (style anchors §6 practice 5: ceph-csi
 * `util/idlocker.go`, aws-ebs-csi-driver `driver/internal/inflight.go`).
 *
 * The sidecars retry an RPC that is still running on our side (their own timeout fired, or the
 * external-provisioner re-queued the PVC). Running the same CreateVolume twice concurrently would
 * race two LDEV creations for one name. So each RPC first takes its keys — the request name for
 * Create*, the object ID for everything else, plus any second object it depends on (e.g. the
 * source snapshot of a CreateVolume) — and a concurrent duplicate fails fast with ABORTED, which
 * the sidecar retries with backoff. The lock is never waited for: waiting would pile up calls
 * past the sidecar timeout.
 *
 * The keys are taken SYNCHRONOUSLY, before the handler's first `await` (a check and an acquire
 * separated by an await is the democratic-csi bug, style anchors §7.3). These locks are per process
 * and only prevent duplicate concurrent work here; correctness across controller replicas and
 * restarts comes from the array being the source of truth (idempotent lookups by label).
 *
 * Callers should namespace keys by kind (e.g. `name:<csi name>`, `volume:<volume id>`), so that a
 * CO name can never collide with an ID string.
 */

import { OperationInProgressError } from "../driver/errors.js";

/** The driver's Aborted error (src/driver/errors.ts), re-exported for callers of `withLocks`. */
export { OperationInProgressError };

/** Releases the keys taken by one successful `tryAcquire`. Idempotent. */
export type Release = () => void;

/** The message of a refused call: names the busy keys (CSI names and IDs, never secrets). */
export function busyMessage(busyKeys: readonly string[]): string {
  const keys = busyKeys.map((k) => JSON.stringify(k)).join(", ");
  return `an operation on ${keys} is already in progress; retry later`;
}

export class InFlight {
  /** key → token of the holder, so a stale Release can never free a later holder's key. */
  private readonly held = new Map<string, symbol>();

  /**
   * Take all `keys` or none. Returns the Release function, or undefined when any key is held.
   * Duplicate keys in the list are taken once. Synchronous by design.
   */
  tryAcquire(keys: readonly string[]): Release | undefined {
    const unique = [...new Set(keys)];
    if (unique.some((key) => this.held.has(key))) return undefined;
    const token = Symbol("inflight");
    for (const key of unique) this.held.set(key, token);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const key of unique) {
        if (this.held.get(key) === token) this.held.delete(key);
      }
    };
  }

  /** Keys of `keys` currently held (for the error message and for tests). */
  busy(keys: readonly string[]): string[] {
    return [...new Set(keys)].filter((key) => this.held.has(key));
  }

  /** Number of keys held now. */
  get size(): number {
    return this.held.size;
  }

  /**
   * Run `fn` holding `keys`. The keys are taken before this function returns its promise (no
   * await in between), and released when `fn` settles, whether it returns or throws.
   * Rejects with `OperationInProgressError` (gRPC ABORTED, so the sidecar retries) without
   * calling `fn` when any key is busy.
   */
  async withLocks<T>(keys: readonly string[], fn: () => Promise<T> | T): Promise<T> {
    const release = this.tryAcquire(keys);
    if (release === undefined) throw new OperationInProgressError(busyMessage(this.busy(keys)));
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
