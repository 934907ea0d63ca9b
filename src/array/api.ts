/**
 * The request pipeline every resource method goes through:
 *   retry loop (retry.ts) → session token (session.ts; one re-login + replay on 401) → transport
 *   (http.ts) → typed error for any non-2xx (errors.ts) → job wait and Failed → typed error (jobs.ts).
 */
import type { Logger } from "pino";

import { VspNotFoundError, VspServerError } from "./errors.js";
import type { HttpMethod, HttpRequest, HttpResponse, Transport } from "./http.js";
import { responseError } from "./http.js";
import { asJob, jobError, waitForJob } from "./jobs.js";
import type { ResolvedOptions } from "./options.js";
import type { Paths, Query } from "./paths.js";
import { withQuery } from "./paths.js";
import { noReplay, withRetry } from "./retry.js";
import type { SessionManager } from "./session.js";
import type { Job } from "./types.js";

export interface ChangeOptions {
  /**
   * `Job-Mode-Wait-Configuration-Change: NoWait`: the job completes once the array has accepted
   * the change, without waiting for pair copy work (pair operations only, §2).
   */
  noWait?: boolean;
}

export type ChangeMethod = Exclude<HttpMethod, "GET">;

export class Api {
  constructor(
    readonly paths: Paths,
    private readonly transport: Transport,
    private readonly sessions: SessionManager,
    private readonly o: ResolvedOptions,
    private readonly logger: Logger,
  ) {}

  /** A synchronous GET answering 200 with a JSON body. */
  async get<T>(path: string, query?: Query): Promise<T> {
    const req: HttpRequest = { method: "GET", path: withQuery(path, query), deadline: this.o.deadline() };
    return withRetry(this.o.retry, this.call(req), async () => {
      const res = await this.authorized(req);
      if (res.status !== 200 || res.json === undefined) throw responseError(req, res);
      return res.json as T;
    });
  }

  /**
   * A GET of one object that may not exist: undefined when the array answers 404 (KART30013-E and
   * the like, classified as VspNotFoundError). The one meaning of "absent" the driver relies on.
   */
  async find<T>(path: string, query?: Query): Promise<T | undefined> {
    try {
      return await this.get<T>(path, query);
    } catch (err) {
      if (err instanceof VspNotFoundError) return undefined;
      throw err;
    }
  }

  /** A list GET: the items of `{data: [...]}` (§0). */
  async list<T>(path: string, query?: Query): Promise<T[]> {
    const body = await this.get<{ data?: unknown }>(path, query);
    if (!Array.isArray(body.data)) {
      throw new VspServerError(
        { method: "GET", path: withQuery(path, query), httpStatus: 200 },
        "list answer has no data array",
      );
    }
    return body.data as T[];
  }

  /** A change (POST/PATCH/PUT/DELETE): submits it, waits for its job, returns the Succeeded job. */
  async change(
    method: ChangeMethod,
    path: string,
    body?: unknown,
    options: ChangeOptions = {},
  ): Promise<Job> {
    const deadline = this.o.deadline();
    const base: HttpRequest = { method, path, body, deadline };
    return withRetry(this.o.retry, this.call(base), async () => {
      const startedAt = Date.now();
      const req = this.changeRequest(base, options, deadline);
      const res = await this.authorized(req);
      if (res.status !== 202 && res.status !== 200) throw responseError(req, res);
      const submitted = asJob(req, res.status, res.json);
      let done: Job;
      try {
        done = await waitForJob(req, submitted, startedAt, {
          timeoutMs: this.o.jobTimeoutMs,
          deadline,
          pollInitialMs: this.o.jobPollInitialMs,
          pollMaxMs: this.o.jobPollMaxMs,
          logger: this.logger,
          fetchJob: (jobId) => this.get<Job>(this.paths.objects("jobs", jobId)),
        });
      } catch (err) {
        // The change was accepted: whatever went wrong while waiting, it must not be submitted again.
        throw noReplay(err);
      }
      this.logger.debug(
        { method, path, jobId: done.jobId, state: done.state, ms: Date.now() - startedAt },
        "vsp job completed",
      );
      if (done.state !== "Succeeded") {
        const err = jobError(req, res.status, done);
        this.logger.info(
          { method, path, jobId: done.jobId, messageId: err.messageId, ssb: err.ssb },
          "vsp job failed",
        );
        throw err;
      }
      return done;
    });
  }

  /** `POST <actionPath>/invoke` with `{parameters}` (§0 actions). */
  invoke(
    actionPath: string,
    parameters?: Record<string, unknown>,
    options: ChangeOptions = {},
  ): Promise<Job> {
    return this.change(
      "POST",
      `${actionPath}/invoke`,
      parameters === undefined ? undefined : { parameters },
      options,
    );
  }

  /**
   * One attempt's request with its job headers. In header mode the array holds the answer up to
   * Response-Max-Wait, so the exchange may take that long; with a deadline, the wait asked for
   * ends a second before it, so the array answers with the job still running (polled, then
   * VspJobTimeoutError with its id) rather than the exchange being cut with no answer at all.
   */
  private changeRequest(
    base: HttpRequest,
    options: ChangeOptions,
    deadline: number | undefined,
  ): HttpRequest {
    const headers: Record<string, string> = {};
    const req: HttpRequest = { ...base, headers };
    if (this.o.jobWait === "header") {
      let maxWait = this.o.responseMaxWaitSeconds;
      if (deadline !== undefined) {
        maxWait = Math.max(0, Math.min(maxWait, Math.floor((deadline - Date.now()) / 1000) - 1));
      }
      headers["Response-Job-Status"] = "Completed";
      headers["Response-Max-Wait"] = String(maxWait);
      req.timeoutMs = this.o.requestTimeoutMs + maxWait * 1000;
    }
    if (options.noWait === true) headers["Job-Mode-Wait-Configuration-Change"] = "NoWait";
    return req;
  }

  private call(req: HttpRequest) {
    return { method: req.method, path: req.path, logger: this.logger, deadline: req.deadline };
  }

  /** Sends with the session token; on 401 logs in again (shared) and replays once (Cinder). */
  private async authorized(req: HttpRequest): Promise<HttpResponse> {
    const first = await this.sessions.session();
    const res = await this.transport.send(withToken(req, first.token));
    if (res.status !== 401) return res;
    this.sessions.invalidate(first.token);
    const second = await this.sessions.session();
    return this.transport.send(withToken(req, second.token));
  }
}

function withToken(req: HttpRequest, token: string): HttpRequest {
  return { ...req, headers: { ...req.headers, Authorization: `Session ${token}` } };
}
