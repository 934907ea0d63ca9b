/**
 * Typed errors of the VSP client. Every non-2xx answer and every Failed job becomes one of these in
 * ONE place (`classifyApiError`), so callers decide by class, never by inspecting bodies. Classes
 * are chosen for what a caller must decide: retry later (Busy, Locked), give up (InvalidRequest,
 * Precondition, Auth), treat as gone (NotFound), or look at the SSB (Storage).
 *
 * No error ever carries the session token or the password: only method, path and the array's error
 * object.
 */
import type { Ssb, SsbName } from "./ssb.js";
import { isLockSsb, ssbMatches, ssbName } from "./ssb.js";
import type { ErrorObject } from "./types.js";

export const VSP_ERROR_KINDS = [
  "notFound",
  "invalidRequest",
  "precondition",
  "auth",
  "busy",
  "locked",
  "storage",
  "server",
  "jobTimeout",
  "transport",
] as const;
export type VspErrorKind = (typeof VSP_ERROR_KINDS)[number];

export interface VspErrorDetails {
  method: string;
  /** Request path (and query), never headers. */
  path: string;
  /** HTTP status of the answer; 202/200 for a Failed job; undefined when no answer came. */
  httpStatus?: number;
  messageId?: string;
  /** The array's own message text. */
  arrayMessage?: string;
  /** The array's `cause` text (not the JavaScript error cause). */
  arrayCause?: string;
  solution?: string;
  /** RETRY ⇒ the array says resending the same request is safe; SEE_ERROR_DETAIL ⇒ do not. */
  solutionType?: string;
  errorSource?: string;
  detailCode?: string;
  /** RAID-Manager-style return code from `errorCode.errorCode` (EX_ENOOBJ, EX_EACCES…). */
  returnCode?: string;
  ssb?: Ssb;
  jobId?: number;
  /** From a Retry-After header. */
  retryAfterMs?: number;
  cause?: unknown;
}

function describe(d: VspErrorDetails, summary: string): string {
  const parts = [`${d.method} ${d.path}`];
  if (d.httpStatus !== undefined) parts.push(`HTTP ${d.httpStatus}`);
  if (d.jobId !== undefined) parts.push(`job ${d.jobId}`);
  if (d.messageId) parts.push(d.messageId);
  if (d.ssb) parts.push(`SSB ${d.ssb.ssb1}/${d.ssb.ssb2}${ssbSuffix(d.ssb)}`);
  return `${parts.join(" ")}: ${d.arrayMessage ?? summary}`;
}

function ssbSuffix(ssb: Ssb): string {
  const name = ssbName(ssb);
  return name ? ` (${name})` : "";
}

export class VspError extends Error {
  readonly kind: VspErrorKind = "server";
  readonly method: string;
  readonly path: string;
  readonly httpStatus: number | undefined;
  readonly messageId: string | undefined;
  readonly arrayMessage: string | undefined;
  readonly arrayCause: string | undefined;
  readonly solution: string | undefined;
  readonly solutionType: string | undefined;
  readonly errorSource: string | undefined;
  readonly detailCode: string | undefined;
  readonly returnCode: string | undefined;
  readonly ssb: Ssb | undefined;
  readonly jobId: number | undefined;
  readonly retryAfterMs: number | undefined;
  /** Attempts made before this error was given up on (set by the retry loop). */
  attempts = 1;

  constructor(details: VspErrorDetails, summary = "request failed") {
    super(describe(details, summary), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.method = details.method;
    this.path = details.path;
    this.httpStatus = details.httpStatus;
    this.messageId = details.messageId;
    this.arrayMessage = details.arrayMessage;
    this.arrayCause = details.arrayCause;
    this.solution = details.solution;
    this.solutionType = details.solutionType;
    this.errorSource = details.errorSource;
    this.detailCode = details.detailCode;
    this.returnCode = details.returnCode;
    this.ssb = details.ssb;
    this.jobId = details.jobId;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** True when the error carries the named SSB (see ssb.ts). */
  is(name: SsbName): boolean {
    return ssbMatches(this.ssb, name);
  }

  /** Plain fields for structured logs (pino serialises this). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      method: this.method,
      path: this.path,
      httpStatus: this.httpStatus,
      messageId: this.messageId,
      solutionType: this.solutionType,
      errorSource: this.errorSource,
      returnCode: this.returnCode,
      ssb: this.ssb,
      jobId: this.jobId,
      attempts: this.attempts,
    };
  }
}

/** 404 / KART30013-E / EX_ENOOBJ: the object does not exist (or the URL is unknown). */
export class VspNotFoundError extends VspError {
  override readonly kind = "notFound";
  /** KART20009-E: the URL itself is unknown to this array (API not supported), not a missing object. */
  get isUnknownUrl(): boolean {
    return this.messageId === "KART20009-E";
  }
}

/** 400 and other 4xx: the request is wrong; resending it will not help. */
export class VspInvalidRequestError extends VspError {
  override readonly kind = "invalidRequest";
}

/** 412: the action cannot run on this object in its current state. */
export class VspPreconditionError extends VspError {
  override readonly kind = "precondition";
}

/** 401 that a re-login did not cure, bad credentials, or 403. */
export class VspAuthError extends VspError {
  override readonly kind = "auth";
}

/** 503: REST server busy (KART00003-E) or the 64-session limit. */
export class VspBusyError extends VspError {
  override readonly kind = "busy";
}

/** Resource group locked by another session (KART40050/51/52-E, SSB 2E11/2205|2207, EX_EACCES). */
export class VspLockedError extends VspError {
  override readonly kind = "locked";
}

/** The storage system refused the change: a Failed job, or a 5xx with SSB codes. */
export class VspStorageError extends VspError {
  override readonly kind = "storage";
}

/** A 5xx without SSB codes, or an answer that is not what the API documents (e.g. HTML). */
export class VspServerError extends VspError {
  override readonly kind = "server";
}

/** A job did not reach Completed within the client's job timeout; it may still complete. */
export class VspJobTimeoutError extends VspError {
  override readonly kind = "jobTimeout";
}

export type TransportFailure = "connect" | "timeout" | "reset" | "tls" | "other";

/** No usable HTTP answer: connection refused/reset, timeout, TLS verification failure. */
export class VspTransportError extends VspError {
  override readonly kind = "transport";
  /** Whether the request may have reached the server (false only when the connection never opened). */
  readonly maybeSent: boolean;

  constructor(
    details: VspErrorDetails,
    readonly failure: TransportFailure,
    readonly code: string | undefined,
  ) {
    super(details, `${failure} failure${code ? ` (${code})` : ""}`);
    this.maybeSent = failure !== "connect" && failure !== "tls";
  }
}

const LOCK_MESSAGE_IDS = new Set(["KART40050-E", "KART40051-E", "KART40052-E"]);
const BUSY_MESSAGE_ID = "KART00003-E";
const NOT_FOUND_MESSAGE_ID = "KART30013-E";

export interface ApiErrorInput {
  method: string;
  path: string;
  httpStatus: number;
  body: ErrorObject | undefined;
  /** A short excerpt of a non-JSON body (HTML error pages), used as the message. */
  textExcerpt?: string;
  jobId?: number;
  retryAfterMs?: number;
}

function readSsb(body: ErrorObject | undefined): Ssb | undefined {
  const code = body?.errorCode;
  if (code?.SSB1 === undefined || code.SSB2 === undefined) return undefined;
  return { ssb1: code.SSB1, ssb2: code.SSB2 };
}

type ErrorClass = new (details: VspErrorDetails) => VspError;

function chooseClass(
  status: number,
  messageId: string | undefined,
  ssb: Ssb | undefined,
  rc: string | undefined,
  job: boolean,
): ErrorClass {
  // Lock signals first, whatever the status (Cinder `is_locked`). sim: EX_EACCES on a 412 means
  // "this session does not hold the lock" (unlock), which waiting cannot cure.
  if (
    (messageId && LOCK_MESSAGE_IDS.has(messageId)) ||
    isLockSsb(ssb) ||
    (rc === "EX_EACCES" && status !== 412)
  ) {
    return VspLockedError;
  }
  if (status === 401 || status === 403) return VspAuthError;
  if (messageId === NOT_FOUND_MESSAGE_ID || rc === "EX_ENOOBJ" || status === 404) return VspNotFoundError;
  if (status === 412) return VspPreconditionError;
  if (status >= 400 && status < 500) return VspInvalidRequestError;
  if (messageId === BUSY_MESSAGE_ID || status === 503) return VspBusyError;
  if (ssb !== undefined || job) return VspStorageError;
  return VspServerError;
}

/**
 * THE one function that turns an error answer or a Failed job into a typed error. `body` is the
 * response's error object, or a Failed job's `error`.
 */
export function classifyApiError(input: ApiErrorInput): VspError {
  const { body } = input;
  const messageId = body?.messageId ?? body?.messageID;
  const ssb = readSsb(body);
  const returnCode = body?.errorCode?.errorCode;
  const Class = chooseClass(input.httpStatus, messageId, ssb, returnCode, input.jobId !== undefined);
  const details: VspErrorDetails = {
    method: input.method,
    path: input.path,
    httpStatus: input.httpStatus,
    messageId,
    arrayMessage: body?.message ?? input.textExcerpt,
    arrayCause: body?.cause,
    solution: body?.solution,
    solutionType: body?.solutionType,
    errorSource: body?.errorSource,
    detailCode: body?.detailCode,
    returnCode,
    ssb,
    jobId: input.jobId,
    retryAfterMs: input.retryAfterMs,
  };
  return new Class(details);
}

export function isVspError(err: unknown): err is VspError {
  return err instanceof VspError;
}
