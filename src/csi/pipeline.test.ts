import { status } from "@grpc/grpc-js";
import type { ServerUnaryCall, ServiceError } from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";

import { currentDeadline } from "../deadline.js";
import { pollUntil } from "../driver/poll.js";
import { createLogger } from "../logging.js";
import { callDeadline, deadlineMargin, unary } from "./pipeline.js";

const NOW = 1_700_000_000_000;
const silent = createLogger("silent");

afterEach(() => {
  vi.useRealTimers();
});

describe("deadlineMargin: 5 % of the budget, 250 ms to 2 s", () => {
  it.each([
    [0, 250],
    [1_000, 250],
    [10_000, 500],
    [40_000, 2_000],
    [100_000, 2_000],
  ])("budget %d ms → %d ms", (budget, margin) => {
    expect(deadlineMargin(budget)).toBe(margin);
  });
});

describe("callDeadline: the earlier of the gRPC deadline and the operation timeout, less the margin", () => {
  it.each<[string, Date | number, number | undefined, number]>([
    ["no gRPC deadline, no operation timeout", Infinity, undefined, Infinity],
    ["a gRPC deadline (Date) alone", new Date(NOW + 10_000), undefined, NOW + 9_500],
    ["a gRPC deadline (epoch ms) alone", NOW + 10_000, undefined, NOW + 9_500],
    ["the operation timeout alone (100 s)", Infinity, 100_000, NOW + 98_000],
    ["a gRPC deadline before the operation timeout", new Date(NOW + 10_000), 100_000, NOW + 9_500],
    ["the operation timeout before a gRPC deadline", new Date(NOW + 300_000), 100_000, NOW + 98_000],
    ["a deadline already too close: nothing left", NOW + 200, 100_000, NOW - 50],
  ])("%s", (_what, grpc, operationTimeoutMs, expected) => {
    expect(callDeadline(grpc, operationTimeoutMs, NOW)).toBe(expected);
  });
});

function fakeCall(deadline: Date | number): ServerUnaryCall<unknown, unknown> {
  return { request: { name: "pvc-1" }, getDeadline: () => deadline } as unknown as ServerUnaryCall<
    unknown,
    unknown
  >;
}

interface Answer {
  at: number;
  err: ServiceError | null;
}

/** Runs one call through `unary` under fake timers; the handler polls a state that never comes. */
async function pollingCall(
  pipeline: Parameters<typeof unary>[1],
  grpcDeadline: Date | number,
  runFor: number,
): Promise<{ answer: Answer | undefined; seenDeadline: number | undefined; reads: number }> {
  let seenDeadline: number | undefined;
  let reads = 0;
  let answer: Answer | undefined;
  const rpc = unary("CreateSnapshot", pipeline, () => {
    seenDeadline = currentDeadline();
    return pollUntil(
      () => Promise.resolve(++reads),
      () => false,
      "the snapshot is still being cut; retry",
    );
  });
  rpc(fakeCall(grpcDeadline), (err) => {
    answer = { at: Date.now(), err: err as ServiceError | null };
  });
  await vi.advanceTimersByTimeAsync(runFor);
  return { answer, seenDeadline, reads };
}

describe("unary runs every handler under the call's deadline", () => {
  it("a short gRPC deadline makes pollUntil give up with ABORTED before it (not after its own 60 s)", async () => {
    vi.useFakeTimers({ now: NOW });
    const grpcDeadline = new Date(NOW + 10_000);
    const { answer, seenDeadline, reads } = await pollingCall(
      { logger: silent, operationTimeoutMs: 100_000 },
      grpcDeadline,
      10_000,
    );
    expect(seenDeadline).toBe(NOW + 9_500);
    expect(answer?.err?.code).toBe(status.ABORTED);
    expect(answer?.err?.details).toBe("the snapshot is still being cut; retry");
    expect(answer?.at).toBeLessThanOrEqual(NOW + 9_500);
    // It did wait: most of the budget went to polling, not to an early give-up.
    expect(answer?.at).toBeGreaterThan(NOW + 9_000);
    expect(reads).toBeGreaterThan(10);
  });

  it("controller.operationTimeoutSeconds bounds a call that has no gRPC deadline", async () => {
    vi.useFakeTimers({ now: NOW });
    const { answer, seenDeadline } = await pollingCall(
      { logger: silent, operationTimeoutMs: 4_000 },
      Infinity,
      5_000,
    );
    expect(seenDeadline).toBe(NOW + 3_750);
    expect(answer?.err?.code).toBe(status.ABORTED);
    expect(answer?.at).toBeLessThanOrEqual(NOW + 3_750);
  });

  it("a bare logger (node, identity) and no gRPC deadline: no deadline, the handler's own wait applies", async () => {
    vi.useFakeTimers({ now: NOW });
    const { answer, seenDeadline } = await pollingCall(silent, Infinity, 30_000);
    expect(seenDeadline).toBeUndefined();
    expect(answer).toBeUndefined(); // still polling: pollUntil's 60 s wait is the only bound
    await vi.advanceTimersByTimeAsync(31_000);
  });
});
