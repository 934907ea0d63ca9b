/**
 * Asynchronous jobs: every change answers 202 with a job object, which moves
 * Initializing/Queued → Running/Started → Completed/Succeeded|Failed. Records are kept up to the
 * retention limit, oldest evicted first (3,000 on VSP E and G/F 350-900).
 */
import type { Clock } from "./clock.js";
import { isoSeconds } from "./clock.js";
import type { ErrorObject } from "./errors.js";

export type JobStatus = "Initializing" | "Running" | "Completed";
export type JobState = "Queued" | "Started" | "Succeeded" | "Failed";

export interface JobObject {
  jobId: number;
  self: string;
  userId: string;
  status: JobStatus;
  state: JobState;
  createdTime: string;
  updatedTime: string;
  completedTime?: string;
  request: { requestUrl: string; requestMethod: string; requestBody: string };
  affectedResources: string[];
  error?: ErrorObject;
}

export interface JobRecord {
  object: JobObject;
  /** Resolves when the job has ended, whatever the outcome. */
  done: Promise<void>;
  finish: () => void;
}

export class JobStore {
  private readonly records = new Map<number, JobRecord>();
  private nextId = 1;

  constructor(
    private readonly clock: Clock,
    private readonly retention: number,
  ) {}

  create(input: {
    selfPrefix: string;
    userId: string;
    requestUrl: string;
    requestMethod: string;
    requestBody: string;
  }): JobRecord {
    const jobId = this.nextId++;
    const now = isoSeconds(this.clock.now());
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const record: JobRecord = {
      object: {
        jobId,
        self: `${input.selfPrefix}/jobs/${jobId}`,
        userId: input.userId,
        status: "Initializing",
        state: "Queued",
        createdTime: now,
        updatedTime: now,
        request: {
          requestUrl: input.requestUrl,
          requestMethod: input.requestMethod,
          requestBody: input.requestBody,
        },
        affectedResources: [],
      },
      done,
      finish,
    };
    this.records.set(jobId, record);
    this.evict();
    return record;
  }

  get(jobId: number): JobObject | undefined {
    return this.records.get(jobId)?.object;
  }

  /** Most recent first, as an operator looking for the last failure would want. */
  list(count: number): JobObject[] {
    return [...this.records.values()]
      .map((r) => r.object)
      .reverse()
      .slice(0, count);
  }

  start(record: JobRecord): void {
    record.object.status = "Running";
    record.object.state = "Started";
    record.object.updatedTime = isoSeconds(this.clock.now());
  }

  succeed(record: JobRecord, affectedResources: string[]): void {
    this.complete(record, "Succeeded");
    record.object.affectedResources = affectedResources;
  }

  fail(record: JobRecord, error: ErrorObject, confirmed: string[] = []): void {
    this.complete(record, "Failed");
    record.object.error = error;
    record.object.affectedResources = confirmed;
  }

  private complete(record: JobRecord, state: JobState): void {
    const now = isoSeconds(this.clock.now());
    record.object.status = "Completed";
    record.object.state = state;
    record.object.updatedTime = now;
    record.object.completedTime = now;
    record.finish();
  }

  private evict(): void {
    for (const [id, record] of this.records) {
      if (this.records.size <= this.retention) break;
      // A running job is never forgotten before it ends: its client may still be polling it.
      if (record.object.status === "Completed") this.records.delete(id);
    }
  }
}
