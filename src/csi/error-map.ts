/**
 * The one place where errors become gRPC statuses. Domain errors carry their meaning (kind);
 * anything else is a bug or an unexpected array answer and leaves as INTERNAL with a generic
 * message — never UNKNOWN, never a stack trace (the detail goes to the log, keyed by request id).
 */
import { status } from "@grpc/grpc-js";

import { VspBusyError, VspJobTimeoutError, VspLockedError, VspTransportError } from "../array/errors.js";
import { toDriverError } from "../driver/array-errors.js";
import { DriverError } from "../driver/errors.js";

export interface GrpcFailure {
  code: status;
  details: string;
}

const CODE_BY_KIND: Record<DriverError["kind"], status> = {
  InvalidArgument: status.INVALID_ARGUMENT,
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  FailedPrecondition: status.FAILED_PRECONDITION,
  ResourceExhausted: status.RESOURCE_EXHAUSTED,
  OutOfRange: status.OUT_OF_RANGE,
  Aborted: status.ABORTED,
  Unavailable: status.UNAVAILABLE,
  Unimplemented: status.UNIMPLEMENTED,
  DeadlineExceeded: status.DEADLINE_EXCEEDED,
};

/**
 * Array errors that say "not now" rather than "wrong": busy, locked, unreachable, a job or a retry
 * stopped by the call's deadline. Driver code maps them (array-errors.ts onArray); one that escaped
 * unmapped still answers UNAVAILABLE / DEADLINE_EXCEEDED, so a deadline stop is never INTERNAL.
 */
function isTransientArrayError(err: unknown): boolean {
  return (
    err instanceof VspBusyError ||
    err instanceof VspLockedError ||
    err instanceof VspTransportError ||
    err instanceof VspJobTimeoutError
  );
}

export function toGrpcFailure(err: unknown, requestId: string): GrpcFailure {
  if (isTransientArrayError(err)) err = toDriverError(err, "calling the array");
  if (err instanceof DriverError) return { code: CODE_BY_KIND[err.kind], details: err.message };
  return { code: status.INTERNAL, details: `internal error (request ${requestId}); see the driver log` };
}
