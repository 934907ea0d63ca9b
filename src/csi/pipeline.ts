/**
 * The interceptor chain every CSI call goes through, in order:
 *   1. a request id, kept in AsyncLocalStorage so every log line of the call carries it;
 *   2. a child logger bound to the request id, the method and the object the call is about
 *      (volume, snapshot or name), so `grep <volume id>` finds a volume's whole history;
 *   3. the payload at debug level with CSI secrets removed (Probe at trace: kubelet calls it often);
 *   4. the handler, an async function returning the response, run under the call's deadline
 *      (src/deadline.ts): the gRPC deadline, capped by the operation timeout, less a margin so the
 *      answer reaches the CO before it gives up; work that does not fit answers ABORTED/UNAVAILABLE
 *      and the CO's retry picks it up;
 *   5. errors mapped to gRPC statuses in one place (error-map.ts), unmapped ones as INTERNAL, and a
 *      warning for calls slower than the slow-call threshold.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

import { status } from "@grpc/grpc-js";
import type { handleUnaryCall, ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";

import { runWithDeadline } from "../deadline.js";
import type { Logger } from "../logging.js";
import { toGrpcFailure } from "./error-map.js";

export interface CallContext {
  requestId: string;
  method: string;
  log: Logger;
}

const store = new AsyncLocalStorage<CallContext>();

/** The context of the CSI call running now, if any (for code far from the handler). */
export function currentCall(): CallContext | undefined {
  return store.getStore();
}

const SLOW_CALL_MS = 10_000;

/** Fields that name what a call is about, bound to its logger. */
const SUBJECT_FIELDS = [
  "volume_id",
  "snapshot_id",
  "group_snapshot_id",
  "source_volume_id",
  "node_id",
  "name",
] as const;

function subjectOf(request: unknown): Record<string, string> {
  const subject: Record<string, string> = {};
  if (typeof request !== "object" || request === null) return subject;
  for (const field of SUBJECT_FIELDS) {
    const value = (request as Record<string, unknown>)[field];
    if (typeof value === "string" && value !== "") subject[field] = value;
  }
  return subject;
}

/** The request as it may be logged: every `secrets` map replaced, at any depth. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = key === "secrets" ? "[REDACTED]" : withoutSecrets(inner);
  }
  return out;
}

export type AsyncUnary<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;

/** What a service gives `unary` besides the handler (a bare Logger: no operation timeout). */
export interface PipelineOptions {
  logger: Logger;
  /**
   * Longest a call may run even when the CO set no gRPC deadline (or a later one):
   * controller.operationTimeoutSeconds. Unset: the gRPC deadline alone bounds the call.
   */
  operationTimeoutMs?: number;
}

/**
 * Time kept back from a call's budget so the answer gets back before the CO's deadline: 5 % of
 * the budget, at least 250 ms (serialising and sending the answer, event-loop lag, clock reading
 * on both sides), at most 2 s (a 100 s budget should not lose more than that). A budget shorter
 * than the minimum margin leaves no time: the handler then answers at its first wait.
 */
export function deadlineMargin(budgetMs: number): number {
  return Math.min(2_000, Math.max(250, budgetMs * 0.05));
}

/**
 * The deadline (epoch ms) a call's work must finish by: the earlier of the gRPC deadline
 * (`call.getDeadline()`: a Date, or a number where Infinity means none) and now + the operation
 * timeout, less deadlineMargin. Infinity when neither bounds the call.
 */
export function callDeadline(
  grpcDeadline: Date | number,
  operationTimeoutMs: number | undefined,
  now = Date.now(),
): number {
  const grpc = grpcDeadline instanceof Date ? grpcDeadline.getTime() : grpcDeadline;
  const end = Math.min(Number.isNaN(grpc) ? Infinity : grpc, now + (operationTimeoutMs ?? Infinity));
  if (!Number.isFinite(end)) return Infinity;
  const budget = Math.max(0, end - now);
  return now + budget - deadlineMargin(budget);
}

export function unary<Req, Res>(
  method: string,
  pipeline: Logger | PipelineOptions,
  handler: AsyncUnary<Req, Res>,
): handleUnaryCall<Req, Res> {
  const { logger, operationTimeoutMs }: PipelineOptions =
    "logger" in pipeline ? pipeline : { logger: pipeline };
  const quiet = method === "Probe" || method.endsWith("GetCapabilities") || method === "GetPluginInfo";
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const requestId = randomBytes(6).toString("hex");
    const log = logger.child({ requestId, method, ...subjectOf(call.request) });
    const ctx: CallContext = { requestId, method, log };
    const started = performance.now();
    const deadline = callDeadline(call.getDeadline(), operationTimeoutMs);
    log[quiet ? "trace" : "debug"]({ request: withoutSecrets(call.request) }, "call");
    // Validation may throw before the handler's first await: map that like any other failure.
    let result: Promise<Res>;
    try {
      result = store.run(ctx, () => runWithDeadline(deadline, () => handler(call.request, ctx)));
    } catch (err) {
      result = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    result.then(
      (response) => {
        const ms = Math.round(performance.now() - started);
        if (ms > SLOW_CALL_MS) log.warn({ ms }, "slow call");
        log[quiet ? "trace" : "info"]({ ms }, "ok");
        callback(null, response);
      },
      (err: unknown) => {
        const ms = Math.round(performance.now() - started);
        const failure = toGrpcFailure(err, requestId);
        const level = failure.code === status.INTERNAL ? "error" : "warn";
        log[level]({ ms, code: failure.code, err }, failure.details);
        callback({ code: failure.code, details: failure.details }, null);
      },
    );
  };
}
