/**
 * How many REST requests the simulated REST server processes at once, and the high-water mark a
 * benchmark reads back (GET /simulator/stats).
 *
 * sim: Hitachi documents no number for this. The reference says only that the REST server answers
 * 503 (KART00003-E, "busy", solutionType RETRY, possibly with Retry-After) when it cannot take a
 * request, and the clients in the field retry that answer (Cinder every 5 s for up to 2 h; Ansible
 * sleeps on 503). We model a fixed number of request threads (`SimConfig.maxConcurrentRequests`):
 * a request that arrives while all are in use is answered 503 at once and does nothing.
 * Configuration changes still run one at a time behind that (`SimCore.serialize`); the array's
 * background copy work runs on its own clock and occupies no request thread.
 */

export interface RequestStats {
  /** The limit in force. */
  maxConcurrentRequests: number;
  /** Requests being processed right now. */
  inFlight: number;
  /** Most requests processed at once since start (or the last reset). */
  highWater: number;
  /** Requests refused because the limit was reached, since start (or the last reset). */
  refused: number;
}

export class RequestGate {
  private inFlight = 0;
  private highWater = 0;
  private refused = 0;

  constructor(private limit: number) {}

  get maxConcurrentRequests(): number {
    return this.limit;
  }

  /** Changes the limit; requests already in flight finish, new ones see the new limit. */
  set maxConcurrentRequests(limit: number) {
    this.limit = limit;
  }

  /** Takes a request thread if one is free; the caller must `leave()` once, when it is done. */
  tryEnter(): boolean {
    if (this.inFlight >= this.limit) {
      this.refused++;
      return false;
    }
    this.inFlight++;
    this.highWater = Math.max(this.highWater, this.inFlight);
    return true;
  }

  leave(): void {
    this.inFlight--;
  }

  stats(): RequestStats {
    return {
      maxConcurrentRequests: this.limit,
      inFlight: this.inFlight,
      highWater: this.highWater,
      refused: this.refused,
    };
  }

  /** Starts a new measurement: the high-water mark restarts from the requests in flight now. */
  resetStats(): void {
    this.highWater = this.inFlight;
    this.refused = 0;
  }
}
