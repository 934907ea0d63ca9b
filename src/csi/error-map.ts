/**
 * The one place where errors become gRPC statuses. Domain errors carry their meaning (kind);
 * anything else is a bug or an unexpected array answer and leaves as INTERNAL with a generic
 * message — never UNKNOWN, never a stack trace (the detail goes to the log, keyed by request id).
 */
import { status } from "@grpc/grpc-js";

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

export function toGrpcFailure(err: unknown, requestId: string): GrpcFailure {
  if (err instanceof DriverError) return { code: CODE_BY_KIND[err.kind], details: err.message };
  return { code: status.INTERNAL, details: `internal error (request ${requestId}); see the driver log` };
}
