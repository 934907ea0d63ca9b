/**
 * Domain errors of the driver: what went wrong in CSI terms, independent of gRPC. The CSI layer
 * maps each class to a status code in one table (src/csi/error-map.ts); nothing below that layer
 * knows about gRPC. Messages are meant for the person reading `kubectl describe`: say what is wrong
 * and what to do.
 */

export abstract class DriverError extends Error {
  abstract readonly kind:
    | "InvalidArgument"
    | "NotFound"
    | "AlreadyExists"
    | "FailedPrecondition"
    | "ResourceExhausted"
    | "OutOfRange"
    | "Aborted"
    | "Unavailable"
    | "Unimplemented"
    | "DeadlineExceeded";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request itself is wrong (missing field, bad parameter): retrying it as is cannot work. */
export class InvalidArgumentError extends DriverError {
  readonly kind = "InvalidArgument";
}

/** The volume, snapshot or node named by the request does not exist. */
export class NotFoundError extends DriverError {
  readonly kind = "NotFound";
}

/** A different object already has this name (CreateVolume/CreateSnapshot idempotency conflict). */
export class AlreadyExistsError extends DriverError {
  readonly kind = "AlreadyExists";
}

/** The object is in a state that forbids the operation now (e.g. still has snapshots). */
export class FailedPreconditionError extends DriverError {
  readonly kind = "FailedPrecondition";
}

/** The array has no room: pool full, no free LDEV id, 1,024 snapshots on the volume. */
export class ResourceExhaustedError extends DriverError {
  readonly kind = "ResourceExhausted";
}

/** A size outside what the array or the request allows. */
export class OutOfRangeError extends DriverError {
  readonly kind = "OutOfRange";
}

/** Another operation on the same volume or name is in flight; the CO retries. */
export class OperationInProgressError extends DriverError {
  readonly kind = "Aborted";
}

/** The array changed under the operation (e.g. a host group replaced out of band); the CO retries. */
export class ConcurrentChangeError extends DriverError {
  readonly kind = "Aborted";
}

/** The array cannot be reached or is busy right now; safe to retry. */
export class ArrayUnavailableError extends DriverError {
  readonly kind = "Unavailable";
}

export class NotImplementedError extends DriverError {
  readonly kind = "Unimplemented";
}

/** The operation ran out of its time budget; it may still complete on the array. */
export class OperationTimeoutError extends DriverError {
  readonly kind = "DeadlineExceeded";
}

/** A paging token this driver did not hand out (ListVolumes/ListSnapshots): ABORTED per the spec. */
export class StaleTokenError extends DriverError {
  readonly kind = "Aborted";
}
