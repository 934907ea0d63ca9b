/**
 * The simulated array as one object: configuration, persistent state, block data, sessions, jobs,
 * faults, and the background clock that moves pair statuses along. Resource modules receive it and
 * change `store.state` only inside jobs, which run one at a time (`serialize`), as the array's
 * configuration changes do.
 */
import { BlockStore } from "./data/block-store.js";
import type { Clock } from "./clock.js";
import type { SimConfig } from "./config.js";
import { RequestGate } from "./concurrency.js";
import { Faults } from "./faults.js";
import { JobStore } from "./jobs.js";
import { SessionStore } from "./sessions.js";
import { StateStore } from "./state.js";

/** Applies the transitions that are due at `now`; returns true when it changed state. */
export type Ticker = (now: number) => boolean;

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  /** The query string, without "?", when there is one. */
  query?: string;
  status: number;
  ms: number;
  /** Bytes of the response body, when the route answered. */
  bytes?: number;
  /** The request waited in the holdChangesAfter fault (crash tests) before it was run or dropped. */
  held?: boolean;
}

const REQUEST_LOG_LIMIT = 20_000;

export class SimCore {
  readonly store: StateStore;
  readonly blocks: BlockStore;
  readonly sessions: SessionStore;
  readonly jobs: JobStore;
  readonly faults = new Faults();
  /** The REST server's request threads: how many VSP API requests run at once. */
  readonly requests: RequestGate;
  readonly requestLog: RequestLogEntry[] = [];
  private readonly tickers: Ticker[] = [];
  private readonly tickWaiters = new Set<() => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly config: SimConfig,
    readonly clock: Clock,
  ) {
    this.store = StateStore.open(config);
    this.blocks = new BlockStore(config.dataDir);
    this.sessions = new SessionStore(clock, config.sessionLimit);
    this.jobs = new JobStore(clock, config.jobRetention);
    this.requests = new RequestGate(config.maxConcurrentRequests);
  }

  get state() {
    return this.store.state;
  }

  async init(): Promise<void> {
    await this.blocks.init();
  }

  /** Starts the background clock. Transitions are also applied at the start of every request. */
  startClock(intervalMs = 20): void {
    this.timer ??= setInterval(() => {
      this.tick();
    }, intervalMs);
    this.timer.unref();
  }

  stopClock(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  addTicker(ticker: Ticker): void {
    this.tickers.push(ticker);
  }

  /** Applies due transitions, persists them, and wakes anything waiting on a condition. */
  tick(): void {
    const now = this.clock.now();
    let changed = false;
    for (const ticker of this.tickers) changed = ticker(now) || changed;
    if (changed) this.store.save();
    for (const wake of this.tickWaiters) wake();
  }

  /**
   * Resolves once `condition()` holds, checking after every tick; rejects after `timeoutMs`.
   * Used by jobs that, without NoWait, end only when the array's background work has ended.
   */
  async waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    this.tick();
    if (condition()) return true;
    return new Promise<boolean>((resolve) => {
      const finish = (result: boolean) => {
        clearTimeout(timeout);
        this.tickWaiters.delete(check);
        resolve(result);
      };
      const check = () => {
        if (condition()) finish(true);
      };
      const timeout = setTimeout(() => {
        finish(false);
      }, timeoutMs);
      this.tickWaiters.add(check);
    });
  }

  /** Time the change queue spent running jobs, and how many it ran (GET /simulator/stats). */
  readonly jobQueue = { busyMs: 0, jobs: 0 };

  /** Runs configuration changes one at a time. */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const timed = async () => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        this.jobQueue.busyMs += performance.now() - started;
        this.jobQueue.jobs++;
      }
    };
    const run = this.queue.then(timed, timed);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Requests logged since start; the log itself keeps only the last REQUEST_LOG_LIMIT. */
  requestsLogged = 0;

  logRequest(entry: RequestLogEntry): void {
    this.requestsLogged++;
    this.requestLog.push(entry);
    if (this.requestLog.length > REQUEST_LOG_LIMIT)
      this.requestLog.splice(0, this.requestLog.length - REQUEST_LOG_LIMIT);
  }
}
