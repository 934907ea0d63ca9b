import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";

import { toGrpcFailure } from "./error-map.js";
import { InFlight, OperationInProgressError } from "./inflight.js";

/** A promise the test settles by hand, to hold an operation "in flight". */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("InFlight.tryAcquire", () => {
  it("refuses a duplicate while the first holder runs, and lets the next in after release", () => {
    const locks = new InFlight();
    const release = locks.tryAcquire(["name:pvc-1"]);
    expect(release).toBeTypeOf("function");
    expect(locks.tryAcquire(["name:pvc-1"])).toBeUndefined();
    release?.();
    const again = locks.tryAcquire(["name:pvc-1"]);
    expect(again).toBeTypeOf("function");
    again?.();
    expect(locks.size).toBe(0);
  });

  it("independent keys do not block each other", () => {
    const locks = new InFlight();
    expect(locks.tryAcquire(["name:pvc-1"])).toBeDefined();
    expect(locks.tryAcquire(["name:pvc-2"])).toBeDefined();
    expect(locks.size).toBe(2);
  });

  it("takes all keys or none: a busy second key leaves the first one free", () => {
    const locks = new InFlight();
    const snap = locks.tryAcquire(["snapshot:1.886000123456.ti.1.0.cs-x"]);
    expect(snap).toBeDefined();
    expect(locks.tryAcquire(["name:pvc-restore", "snapshot:1.886000123456.ti.1.0.cs-x"])).toBeUndefined();
    // pvc-restore was not taken by the failed attempt:
    const other = locks.tryAcquire(["name:pvc-restore"]);
    expect(other).toBeDefined();
    expect(locks.busy(["name:pvc-restore", "snapshot:1.886000123456.ti.1.0.cs-x", "name:free"])).toEqual([
      "name:pvc-restore",
      "snapshot:1.886000123456.ti.1.0.cs-x",
    ]);
  });

  it("a key listed twice is taken once and released fully", () => {
    const locks = new InFlight();
    const release = locks.tryAcquire(["k", "k"]);
    expect(release).toBeDefined();
    expect(locks.size).toBe(1);
    release?.();
    expect(locks.size).toBe(0);
  });

  it("releasing twice is harmless and never frees a later holder's key", () => {
    const locks = new InFlight();
    const first = locks.tryAcquire(["volume:1.886000123456.5"]);
    first?.();
    const second = locks.tryAcquire(["volume:1.886000123456.5"]);
    expect(second).toBeDefined();
    first?.(); // stale, second call
    expect(locks.tryAcquire(["volume:1.886000123456.5"])).toBeUndefined();
    second?.();
    second?.();
    expect(locks.size).toBe(0);
  });

  it("an empty key list always succeeds and holds nothing", () => {
    const locks = new InFlight();
    const release = locks.tryAcquire([]);
    expect(release).toBeDefined();
    expect(locks.size).toBe(0);
  });
});

describe("InFlight.withLocks", () => {
  it("a concurrent duplicate gets OperationInProgressError naming the busy key, without running", async () => {
    const locks = new InFlight();
    const gate = deferred();
    let runs = 0;
    const first = locks.withLocks(["name:pvc-1", "snapshot:s"], async () => {
      runs++;
      await gate.promise;
      return "created";
    });
    // No await between the two calls: the first must already hold its keys.
    const second = locks.withLocks(["name:pvc-1"], () => {
      runs++;
      return "duplicate";
    });
    await expect(second).rejects.toBeInstanceOf(OperationInProgressError);
    await expect(second).rejects.toThrow('an operation on "name:pvc-1" is already in progress; retry later');
    // …which the CSI boundary answers with ABORTED, so the sidecar retries with backoff.
    const err = await second.catch((e: unknown) => e);
    expect(toGrpcFailure(err, "req-1")).toEqual({
      code: status.ABORTED,
      details: 'an operation on "name:pvc-1" is already in progress; retry later',
    });
    gate.resolve();
    await expect(first).resolves.toBe("created");
    expect(runs).toBe(1);
    await expect(locks.withLocks(["name:pvc-1"], () => "next")).resolves.toBe("next");
    expect(locks.size).toBe(0);
  });

  it("an exception in fn releases the keys and propagates unchanged", async () => {
    const locks = new InFlight();
    const boom = new Error("array said no");
    await expect(
      locks.withLocks(["volume:v"], async () => {
        await Promise.resolve();
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(locks.size).toBe(0);
    await expect(
      locks.withLocks(["volume:v"], () => {
        throw boom; // synchronous throw, too
      }),
    ).rejects.toBe(boom);
    expect(locks.size).toBe(0);
  });

  it("keys are held until fn settles, not just until it starts", async () => {
    const locks = new InFlight();
    const gate = deferred();
    const running = locks.withLocks(["k"], () => gate.promise);
    await Promise.resolve();
    await Promise.resolve();
    expect(locks.busy(["k"])).toEqual(["k"]);
    gate.reject(new Error("late failure"));
    await expect(running).rejects.toThrow("late failure");
    expect(locks.busy(["k"])).toEqual([]);
  });
});
