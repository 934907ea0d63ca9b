import { Writable } from "node:stream";

import { status } from "@grpc/grpc-js";
import type { ServerUnaryCall, ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";

import {
  VspBusyError,
  VspError,
  VspJobTimeoutError,
  VspLockedError,
  VspTransportError,
} from "../array/errors.js";
import type { DriverError } from "../driver/errors.js";
import {
  AlreadyExistsError,
  ArrayUnavailableError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  NotImplementedError,
  OperationInProgressError,
  OperationTimeoutError,
  OutOfRangeError,
  ResourceExhaustedError,
  StaleTokenError,
} from "../driver/errors.js";
import { InvalidIdError } from "../driver/ids.js";
import { InvalidNameError } from "../driver/names.js";
import { createLogger } from "../logging.js";
import { toGrpcFailure } from "./error-map.js";
import { unary } from "./pipeline.js";

const REQUEST_ID = "0123456789ab";

type ErrorClass = new (message: string) => DriverError;

/** Every DriverError subclass and the status the CO sees (CSI spec error tables). */
const TABLE: [ErrorClass, status][] = [
  [InvalidArgumentError, status.INVALID_ARGUMENT],
  [InvalidNameError, status.INVALID_ARGUMENT],
  [NotFoundError, status.NOT_FOUND],
  [AlreadyExistsError, status.ALREADY_EXISTS],
  [FailedPreconditionError, status.FAILED_PRECONDITION],
  [ResourceExhaustedError, status.RESOURCE_EXHAUSTED],
  [OutOfRangeError, status.OUT_OF_RANGE],
  [OperationInProgressError, status.ABORTED],
  [StaleTokenError, status.ABORTED],
  [ArrayUnavailableError, status.UNAVAILABLE],
  [NotImplementedError, status.UNIMPLEMENTED],
  [OperationTimeoutError, status.DEADLINE_EXCEEDED],
];

describe("toGrpcFailure", () => {
  it.each(TABLE.map(([cls, code]) => [cls.name, status[code], cls, code] as const))(
    "%s → %s, with the error's own message for the person reading kubectl describe",
    (_name, _codeName, cls, code) => {
      const message = `something about volume 1.886000123456.v.5 (${cls.name})`;
      const failure = toGrpcFailure(new cls(message), REQUEST_ID);
      expect(status[failure.code]).toBe(status[code]);
      expect(failure.details).toBe(message);
    },
  );

  it("keeps the message when the domain error wraps a cause", () => {
    const cause = new Error("SSB 2E30-0007");
    const failure = toGrpcFailure(
      new ResourceExhaustedError("creating the volume: the pool is full", { cause }),
      REQUEST_ID,
    );
    expect(failure).toEqual({
      code: status.RESOURCE_EXHAUSTED,
      details: "creating the volume: the pool is full",
    });
  });

  const at = { method: "GET", path: "/ConfigurationManager/v1/objects/ldevs/5" };
  it.each([
    ["a retry stopped by the call's deadline", new VspBusyError(at, "no time left"), status.UNAVAILABLE],
    ["a lock that outlasted the call", new VspLockedError(at), status.UNAVAILABLE],
    [
      "an exchange cut at the deadline",
      new VspTransportError(at, "timeout", "VSP_REQUEST_TIMEOUT"),
      status.UNAVAILABLE,
    ],
    [
      "a job wait stopped by the deadline",
      new VspJobTimeoutError(at, "job 3 still Running"),
      status.DEADLINE_EXCEEDED,
    ],
  ])("%s that escaped the driver's mapping → %s, never INTERNAL", (_what, err, code) => {
    const failure = toGrpcFailure(err, REQUEST_ID);
    expect(status[failure.code]).toBe(status[code]);
    expect(failure.details).toContain("calling the array");
  });

  const SECRET = "password=raid-secret-1 at /srv/app/driver.js:42";
  it.each([
    ["a plain Error", new Error(SECRET)],
    ["a TypeError (a bug)", new TypeError(`Cannot read properties of undefined (${SECRET})`)],
    ["an id parse error that escaped", new InvalidIdError("volume", SECRET, "bad")],
    [
      "an unmapped array error",
      new VspError({ method: "POST", path: "/ldevs", httpStatus: 500, arrayMessage: SECRET }),
    ],
    ["a thrown string", SECRET],
    ["a thrown object", { message: SECRET }],
    ["undefined", undefined],
    ["null", null],
  ])("%s → INTERNAL with a generic message naming the request id, never the original text", (_what, err) => {
    const failure = toGrpcFailure(err, REQUEST_ID);
    expect(status[failure.code]).toBe("INTERNAL");
    expect(failure.details).toContain(REQUEST_ID);
    expect(failure.details).toMatch(/internal error/);
    expect(failure.details).not.toContain("raid-secret");
    expect(failure.details).not.toContain("driver.js");
  });
});

/** Runs a handler through the real interceptor chain with a fake call; answers status and log. */
async function runUnary(handler: () => Promise<unknown>): Promise<{ err: ServiceError; log: string[] }> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const rpc = unary("CreateVolume", createLogger("debug", sink), handler);
  const call = { request: { name: "pvc-1" }, getDeadline: () => Infinity } as unknown as ServerUnaryCall<
    unknown,
    unknown
  >;
  const err = await new Promise<ServiceError>((resolve, reject) => {
    rpc(call, (error) => {
      if (error) resolve(error as ServiceError);
      else reject(new Error("the handler was expected to fail"));
    });
  });
  return { err, log: lines };
}

describe("the pipeline's error boundary", () => {
  it("answers INTERNAL naming the request id that the error log line carries, with the detail only in the log", async () => {
    const { err, log } = await runUnary(() => Promise.reject(new Error("socket hang up at 10.0.0.1")));
    expect(status[err.code]).toBe("INTERNAL");
    const requestId = /request ([0-9a-f]{12})/.exec(err.details)?.[1];
    expect(requestId).toBeDefined();
    expect(err.details).not.toContain("socket hang up");
    const errorLine = log
      .map((l) => JSON.parse(l) as { level: number; requestId?: string; err?: { message?: string } })
      .find((e) => e.level === 50);
    expect(errorLine?.requestId).toBe(requestId);
    expect(errorLine?.err?.message).toContain("socket hang up");
  });

  it("maps a validation error thrown before the handler's first await, logged as a warning", async () => {
    const { err, log } = await runUnary(() => {
      throw new InvalidArgumentError("name is required");
    });
    expect(status[err.code]).toBe("INVALID_ARGUMENT");
    expect(err.details).toBe("name is required");
    expect(log.some((l) => (JSON.parse(l) as { level: number }).level === 40)).toBe(true);
  });

  it("turns a synchronously thrown non-Error into INTERNAL, not UNKNOWN", async () => {
    const { err } = await runUnary(() => {
      throw "a string"; // eslint-disable-line @typescript-eslint/only-throw-error -- the case under test
    });
    expect(status[err.code]).toBe("INTERNAL");
    expect(err.details).not.toContain("a string");
  });
});
