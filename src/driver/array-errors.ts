/**
 * Turns the REST client's typed errors into domain errors with messages a person can act on. Each
 * caller passes what it was doing; the SSB names say why the array refused. What is not recognised
 * here stays as it is and leaves the CSI boundary as INTERNAL, deliberately.
 */
import { VspBusyError, VspError, VspLockedError, VspTransportError } from "../array/errors.js";
import {
  ArrayUnavailableError,
  DriverError,
  FailedPreconditionError,
  OperationTimeoutError,
  ResourceExhaustedError,
} from "./errors.js";

export function toDriverError(err: unknown, doing: string): unknown {
  if (err instanceof DriverError || !(err instanceof VspError)) return err;
  if (err instanceof VspBusyError || err instanceof VspLockedError || err instanceof VspTransportError) {
    return new ArrayUnavailableError(
      `${doing}: the array is busy or unreachable (${err.message}); retrying later`,
      {
        cause: err,
      },
    );
  }
  if (err.is("POOL_FULL")) {
    return new ResourceExhaustedError(`${doing}: the pool is full; free capacity or add pool volumes`, {
      cause: err,
    });
  }
  if (err.is("NO_FREE_LDEV_ID")) {
    return new ResourceExhaustedError(
      `${doing}: no free LDEV id in the driver's ldevRange; widen the range or delete volumes`,
      { cause: err },
    );
  }
  if (err.is("MAX_SNAPSHOTS_PER_PVOL")) {
    return new ResourceExhaustedError(`${doing}: the volume already has 1,024 snapshots, the array's limit`, {
      cause: err,
    });
  }
  if (err.is("LDEV_IN_PAIR") || err.is("PAIR_STATUS_FORBIDS")) {
    return new FailedPreconditionError(`${doing}: the volume is in a copy pair that forbids this now`, {
      cause: err,
    });
  }
  if (err.name === "VspJobTimeoutError") {
    return new OperationTimeoutError(
      `${doing}: the array job did not finish in time; it may still complete`,
      {
        cause: err,
      },
    );
  }
  return err;
}

/** Runs an array call and maps its failure; the one way driver code talks to the client. */
export async function onArray<T>(doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toDriverError(err, doing);
  }
}
