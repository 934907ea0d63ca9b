/**
 * The one place that sends HTTP requests (undici, keep-alive, TLS verification on by default), caps
 * the requests in flight, parses answers, and reports failures to connect or to answer as a typed
 * VspTransportError. It knows nothing about sessions or jobs.
 */
import type { IncomingHttpHeaders } from "node:http";

import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { Agent } from "undici";

import type { VspError } from "./errors.js";
import { classifyApiError, VspBusyError, VspTransportError } from "./errors.js";
import type { TransportFailure } from "./errors.js";
import { Semaphore } from "./semaphore.js";
import type { ErrorObject } from "./types.js";

export type HttpMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface HttpRequest {
  method: HttpMethod;
  /** Absolute path with query, e.g. `/ConfigurationManager/v1/objects/ldevs/5`. */
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Overrides the client's request timeout (header-mode job waits need longer). */
  timeoutMs?: number;
  /** The caller's deadline (epoch ms): the exchange is cut there, and not sent once it has passed. */
  deadline?: number | undefined;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed body when the server declared and sent JSON. */
  json: unknown;
  /** Start of a body that is not JSON (HTML error pages from proxies or web servers). */
  textExcerpt?: string;
  retryAfterMs?: number;
}

export interface TransportOptions {
  baseUrl: string;
  maxConcurrentRequests: number;
  requestTimeoutMs: number;
  tls: { caBundle?: string | undefined; insecureSkipVerify: boolean };
  dispatcher: Dispatcher | undefined;
  logger: Logger;
}

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);
/** Our own code for the request deadline (AbortSignal.timeout): undici's timers are ~1 s coarse. */
const REQUEST_TIMEOUT = "VSP_REQUEST_TIMEOUT";
const TIMEOUT_CODES = new Set([
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
  REQUEST_TIMEOUT,
]);
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "UND_ERR_ABORTED"]);

function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  if ((err as { name?: unknown }).name === "TimeoutError") return REQUEST_TIMEOUT;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") return code;
  // Node's happy-eyeballs connect reports an AggregateError of per-address failures.
  const inner = (err as { errors?: unknown[] }).errors?.[0];
  return inner === undefined ? undefined : errorCode(inner);
}

function failureOf(code: string | undefined): TransportFailure {
  if (code === undefined) return "other";
  if (CONNECT_CODES.has(code)) return "connect";
  if (TIMEOUT_CODES.has(code)) return "timeout";
  if (RESET_CODES.has(code)) return "reset";
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) return "tls";
  return "other";
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === "") return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function excerpt(text: string): string {
  const plain = text
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return plain.length > 200 ? `${plain.slice(0, 200)}…` : plain;
}

function isJson(headers: IncomingHttpHeaders): boolean {
  const type = headers["content-type"];
  return typeof type === "string" && /\bjson\b/i.test(type);
}

export class Transport {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly limiter: Semaphore;

  constructor(private readonly options: TransportOptions) {
    this.limiter = new Semaphore(options.maxConcurrentRequests);
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connections: options.maxConcurrentRequests,
        keepAliveTimeout: 4_000,
        connect: {
          timeout: Math.min(options.requestTimeoutMs, 30_000),
          rejectUnauthorized: !options.tls.insecureSkipVerify,
          ...(options.tls.caBundle ? { ca: options.tls.caBundle } : {}),
        },
      });
  }

  /** Requests in flight right now (at most maxConcurrentRequests). */
  get inFlight(): number {
    return this.limiter.inUse;
  }

  /**
   * Sends one request. Resolves with any HTTP answer; rejects with VspTransportError, or with
   * VspBusyError when the request's deadline passed before it could be sent (e.g. while queued for
   * a connection slot): nothing reached the array, so it is as safe to retry as a 503.
   */
  send(req: HttpRequest): Promise<HttpResponse> {
    return this.limiter.run(() => this.exchange(req));
  }

  private async exchange(req: HttpRequest): Promise<HttpResponse> {
    let timeout = req.timeoutMs ?? this.options.requestTimeoutMs;
    if (req.deadline !== undefined) {
      const left = Math.floor(req.deadline - Date.now());
      if (left <= 0) {
        throw new VspBusyError(
          { method: req.method, path: req.path },
          "the call's deadline passed before the request could be sent",
        );
      }
      timeout = Math.min(timeout, left);
    }
    const started = performance.now();
    const headers: Record<string, string> = { Accept: "application/json", ...req.headers };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers["Content-Type"] = "application/json";
    }
    try {
      const res = await this.dispatcher.request({
        origin: this.options.baseUrl,
        path: req.path,
        method: req.method,
        headers,
        body: body ?? null,
        // undici's own header/body timers tick about once a second; the signal is exact.
        signal: AbortSignal.timeout(timeout),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const text = await res.body.text();
      const parsed = parseBody(res.headers, text);
      this.options.logger.debug(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        "vsp request",
      );
      return {
        status: res.statusCode,
        headers: res.headers,
        ...parsed,
        retryAfterMs: parseRetryAfter(res.headers["retry-after"]),
      };
    } catch (err) {
      const code = errorCode(err);
      this.options.logger.debug({ method: req.method, path: req.path, code }, "vsp request failed");
      throw new VspTransportError({ method: req.method, path: req.path, cause: err }, failureOf(code), code);
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

function parseBody(headers: IncomingHttpHeaders, text: string): { json: unknown; textExcerpt?: string } {
  if (text.trim() === "") return { json: undefined };
  if (isJson(headers)) {
    try {
      return { json: JSON.parse(text) as unknown };
    } catch {
      return { json: undefined, textExcerpt: excerpt(text) };
    }
  }
  return { json: undefined, textExcerpt: excerpt(text) };
}

function asErrorObject(json: unknown): ErrorObject | undefined {
  return typeof json === "object" && json !== null && !Array.isArray(json) ? json : undefined;
}

/** A non-2xx answer (or a 2xx that is not the JSON the API promises) as a typed error. */
export function responseError(req: HttpRequest, res: HttpResponse): VspError {
  return classifyApiError({
    method: req.method,
    path: req.path,
    httpStatus: res.status,
    body: asErrorObject(res.json),
    ...(res.textExcerpt === undefined
      ? {}
      : { textExcerpt: `unexpected non-JSON answer: ${res.textExcerpt}` }),
    ...(res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs }),
  });
}
