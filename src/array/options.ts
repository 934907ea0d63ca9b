/**
 * Client configuration: one typed object, validated once with precise messages, defaults applied.
 * Defaults follow the reference where it has one (aliveTime 300 s, Cinder's keep-alive GET before it
 * runs out) and otherwise keep every call well inside a CSI sidecar's timeout.
 */
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { z } from "zod";

export type UrlStyle = "storage-scoped" | "short";
export type JobWaitMode = "header" | "poll";

export interface VspClientOptions {
  /** e.g. `https://array.example:443`; the client appends `/ConfigurationManager/v1`. */
  baseUrl: string;
  /** 12 digits: model prefix + serial (vsp-rest-api.md §0). */
  storageDeviceId: string;
  username: string;
  password: string;
  /** `storage-scoped` (Configuration Manager server, Cinder) or `short` (embedded, Ansible). */
  urlStyle?: UrlStyle;
  tls?: {
    /** PEM bundle of the CAs to trust for the array's certificate. */
    caBundle?: string;
    /** Turns certificate verification OFF. Default false: verification is on. */
    insecureSkipVerify?: boolean;
  };
  /** Requests in flight at once, login and keep-alive included (default 8). */
  maxConcurrentRequests?: number;
  /** Time for one HTTP exchange (default 30 s); header-mode job waits add Response-Max-Wait. */
  requestTimeoutMs?: number;
  /** `header`: Response-Job-Status: Completed (+ poll if still running); `poll`: GET jobs/{id}. */
  jobWait?: JobWaitMode;
  /** How long to wait for a job to complete (default 60 s). */
  jobTimeoutMs?: number;
  /** Response-Max-Wait header in header mode (default: jobTimeoutMs rounded up to seconds). */
  responseMaxWaitSeconds?: number;
  /** Job polling: first delay, doubling up to the maximum (default 50 ms → 2 s). */
  jobPollInitialMs?: number;
  jobPollMaxMs?: number;
  retry?: {
    /** No new attempt starts after this much time since the call began (default 60 s). */
    budgetMs?: number;
    /** First backoff delay (default 250 ms), doubling, with jitter. */
    baseDelayMs?: number;
    /** Cap of one delay, Retry-After included (default 5 s). */
    maxDelayMs?: number;
  };
  /** Session idle timeout asked of the array, 1–300 s (default 300). */
  aliveTimeSeconds?: number;
  /** Keep-alive GET of the session (default: half of aliveTime; 0 turns it off). */
  keepAliveIntervalMs?: number;
  /**
   * The deadline (epoch ms) of the work the client is called for, read at the start of every
   * request, or undefined for none. The driver passes src/deadline.ts `currentDeadline` (its CSI
   * call's deadline). Retries, job waits and each HTTP exchange then end by it: a retry loop or a
   * job wait stopped by it throws VspBusyError / VspJobTimeoutError, and no request is sent once it
   * has passed. Session upkeep (login, keep-alive, logout) ignores it. Default: no deadline.
   */
  deadline?: () => number | undefined;
  logger?: Logger;
  /** A custom undici dispatcher (e.g. MockAgent in tests); TLS options are then the caller's. */
  dispatcher?: Dispatcher;
}

const positiveInt = z.number().int().positive();

const schema = z.object({
  baseUrl: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, "")),
  storageDeviceId: z.string().regex(/^\d{12}$/, "must be 12 digits (model prefix + serial)"),
  username: z.string().min(1),
  password: z.string().min(1),
  urlStyle: z.enum(["storage-scoped", "short"]).default("storage-scoped"),
  tls: z
    .object({ caBundle: z.string().min(1).optional(), insecureSkipVerify: z.boolean().default(false) })
    .default({ insecureSkipVerify: false }),
  maxConcurrentRequests: positiveInt.max(64).default(8),
  requestTimeoutMs: positiveInt.default(30_000),
  jobWait: z.enum(["header", "poll"]).default("header"),
  jobTimeoutMs: positiveInt.default(60_000),
  responseMaxWaitSeconds: z.number().int().min(0).optional(),
  jobPollInitialMs: positiveInt.default(50),
  jobPollMaxMs: positiveInt.default(2_000),
  retry: z
    .object({
      budgetMs: z.number().int().min(0).default(60_000),
      baseDelayMs: positiveInt.default(250),
      maxDelayMs: positiveInt.default(5_000),
    })
    .default({ budgetMs: 60_000, baseDelayMs: 250, maxDelayMs: 5_000 }),
  aliveTimeSeconds: z.number().int().min(1).max(300).default(300),
  keepAliveIntervalMs: z.number().int().min(0).optional(),
});

export interface ResolvedOptions {
  baseUrl: string;
  storageDeviceId: string;
  username: string;
  password: string;
  urlStyle: UrlStyle;
  tls: { caBundle?: string | undefined; insecureSkipVerify: boolean };
  maxConcurrentRequests: number;
  requestTimeoutMs: number;
  jobWait: JobWaitMode;
  jobTimeoutMs: number;
  responseMaxWaitSeconds: number;
  jobPollInitialMs: number;
  jobPollMaxMs: number;
  retry: { budgetMs: number; baseDelayMs: number; maxDelayMs: number };
  aliveTimeSeconds: number;
  keepAliveIntervalMs: number;
  deadline: () => number | undefined;
  logger: Logger | undefined;
  dispatcher: Dispatcher | undefined;
}

const noDeadline = (): undefined => undefined;

/** Validates options; throws a TypeError naming every bad field (never echoing the password). */
export function resolveOptions(options: VspClientOptions): ResolvedOptions {
  const { logger, dispatcher, deadline, ...plain } = options;
  const parsed = schema.safeParse(plain);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`);
    throw new TypeError(`invalid VSP client options: ${problems.join("; ")}`);
  }
  const o = parsed.data;
  return {
    ...o,
    responseMaxWaitSeconds: o.responseMaxWaitSeconds ?? Math.ceil(o.jobTimeoutMs / 1000),
    // Cinder refreshes every 180 s for a 300 s aliveTime; half the alive time keeps the same margin.
    keepAliveIntervalMs: o.keepAliveIntervalMs ?? (o.aliveTimeSeconds * 1000) / 2,
    deadline: deadline ?? noDeadline,
    logger,
    dispatcher,
  };
}
