/**
 * How host failures reach the CO. A failed host command (mount, mkfs, losetup, iscsiadm…) keeps
 * its command line and stderr in the message, because that is what an operator reads in
 * `kubectl describe pod`; the generic INTERNAL answer of the error map would hide it.
 *
 * Codes: kubelet treats UNAVAILABLE and DEADLINE_EXCEEDED from NodeStage/NodePublish as
 * "uncertain" — it retries, and it calls NodeUnstage/NodeUnpublish before giving the volume up —
 * which is right after a step that may have changed the host half-way (a LUN scanned, a device
 * attached). Failures that no retry can fix (a partition table on the LUN, the wrong filesystem)
 * are FAILED_PRECONDITION, raised where they are detected.
 */
import { DriverError, OperationTimeoutError } from "../driver/errors.js";
import { CommandError } from "./runner.js";

/** A host step failed; retrying may help (a device still settling, a busy mount). */
export class HostOperationError extends DriverError {
  readonly kind = "Unavailable";
}

/** Domain errors pass through; command failures become UNAVAILABLE / DEADLINE_EXCEEDED with their text. */
export function asDriverError(err: unknown): unknown {
  if (err instanceof CommandError) {
    return err.timedOut
      ? new OperationTimeoutError(err.message, { cause: err })
      : new HostOperationError(err.message, { cause: err });
  }
  return err;
}
