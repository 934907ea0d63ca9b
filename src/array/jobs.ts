/**
 * Asynchronous jobs (vsp-rest-api.md §2). Every change answers 202 + a job. In `header` mode the
 * request carries `Response-Job-Status: Completed` and `Response-Max-Wait`, so the answer is
 * normally the completed job (Cinder never polls); if the array answers before the job ends (the
 * wait ran out) we fall back to polling. In `poll` mode we GET jobs/{id} with backoff (50 ms
 * doubling to 2 s by default), bounded by the job timeout.
 */
import type { Logger } from "pino";

import type { VspError } from "./errors.js";
import { classifyApiError, VspJobTimeoutError, VspServerError } from "./errors.js";
import type { HttpRequest } from "./http.js";
import { lastSegment } from "./paths.js";
import type { Job } from "./types.js";

export interface JobWaitOptions {
  timeoutMs: number;
  /** The caller's deadline (epoch ms): the wait ends there too, with VspJobTimeoutError. */
  deadline?: number | undefined;
  pollInitialMs: number;
  pollMaxMs: number;
  logger: Logger;
  /** GET jobs/{id} with the client's session and retry policy. */
  fetchJob: (jobId: number) => Promise<Job>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Checks that an answer is a job object; anything else is the server misbehaving. */
export function asJob(req: HttpRequest, httpStatus: number, json: unknown): Job {
  const j = json as Partial<Job> | undefined;
  if (
    typeof j === "object" &&
    typeof j.jobId === "number" &&
    typeof j.status === "string" &&
    typeof j.state === "string"
  ) {
    return j as Job;
  }
  throw new VspServerError(
    { method: req.method, path: req.path, httpStatus },
    "the answer is not a job object",
  );
}

/**
 * Waits until the job is Completed; returns it whatever its state. VspJobTimeoutError after the
 * job timeout or at the caller's deadline, whichever comes first: the job may still complete, and
 * the caller's retry finds what it did.
 */
export async function waitForJob(
  req: HttpRequest,
  job: Job,
  startedAt: number,
  o: JobWaitOptions,
): Promise<Job> {
  let current = job;
  let delay = o.pollInitialMs;
  let polled = false;
  const callEnd = o.deadline ?? Infinity;
  const deadline = Math.min(startedAt + o.timeoutMs, callEnd);
  const timedOut = (cause?: unknown) =>
    new VspJobTimeoutError(
      { method: req.method, path: req.path, jobId: current.jobId, cause },
      `job ${current.jobId} still ${current.status}/${current.state} ` +
        (Date.now() >= callEnd
          ? `at the call's deadline, ${Date.now() - startedAt} ms after it was submitted`
          : `after ${o.timeoutMs} ms`),
    );
  while (current.status !== "Completed") {
    const remaining = deadline - Date.now();
    // Look at least once: a header-mode answer can arrive just as the job timeout passes. Not past
    // the call's deadline, though: no request is sent then.
    if (remaining <= 0 && (polled || Date.now() >= callEnd)) throw timedOut();
    await sleep(Math.max(0, Math.min(delay, remaining)));
    delay = Math.min(delay * 2, o.pollMaxMs);
    try {
      current = await o.fetchJob(current.jobId);
    } catch (err) {
      // The poll itself ran into the call's deadline: the job is what did not finish in time.
      if (Date.now() >= callEnd) throw timedOut(err);
      throw err;
    }
    polled = true;
    o.logger.trace({ jobId: current.jobId, status: current.status, state: current.state }, "vsp job polled");
  }
  return current;
}

/** A Completed job that did not succeed, as a typed error (Failed or Unknown state). */
export function jobError(req: HttpRequest, httpStatus: number, job: Job): VspError {
  return classifyApiError({
    method: req.method,
    path: req.path,
    httpStatus,
    body: job.error,
    jobId: job.jobId,
    ...(job.error ? {} : { textExcerpt: `job ${job.jobId} ended ${job.status}/${job.state}` }),
  });
}

/** The id at the end of `affectedResources[index]` (last path segment, percent-decoded). */
export function affectedId(job: Job, index = 0): string {
  const url = job.affectedResources?.[index];
  if (url === undefined) {
    throw new VspServerError(
      {
        method: job.request?.requestMethod ?? "?",
        path: job.request?.requestUrl ?? `jobs/${job.jobId}`,
        jobId: job.jobId,
      },
      `job ${job.jobId} names no affected resource #${index}`,
    );
  }
  return lastSegment(url);
}

/** Every affected resource id of a job. */
export function affectedIds(job: Job): string[] {
  return (job.affectedResources ?? []).map(lastSegment);
}
