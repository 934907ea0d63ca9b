/**
 * Faults on demand, set at start (`--fault` flags) or at run time through the admin endpoint
 * (PUT /simulator/faults). Counters ("the next N requests") make tests deterministic; rates make
 * demos and soak runs realistic.
 */
import { z } from "zod";

export const faultSettingsSchema = z
  .object({
    /** Added to every VSP API request before it is handled. */
    latencyMs: z.number().int().min(0).max(60_000).default(0),
    /** Probability that a VSP API request answers 503 KART00003-E (server busy). */
    busyRate: z.number().min(0).max(1).default(0),
    /** The next N VSP API requests (other than session creation) answer 503 busy. */
    busyCount: z.number().int().min(0).default(0),
    /** The next N change requests fail as if another session held the resource-group lock. */
    lockConflictCount: z.number().int().min(0).default(0),
    /** The next N jobs whose request URL contains `failJobsMatch` end Failed with `failJobsSsb`. */
    failJobsCount: z.number().int().min(0).default(0),
    failJobsMatch: z.string().default(""),
    /** Let this many matching jobs succeed before the failures start (to hit a later one). */
    failJobsSkip: z.number().int().min(0).default(0),
    failJobsSsb: z.tuple([z.string(), z.string()]).default(["2E31", "9999"]),
    /** Pools that behave as full: no new pages, new pairs refused, TI pairs suspend (PSUE). */
    poolFull: z.array(z.number().int().min(0)).default([]),
    /**
     * Crash testing: after this many more change requests, hold every further change request
     * unanswered (null = off). A test kills its client while a request is held, which stops the
     * client at an exact point between two REST calls.
     */
    holdChangesAfter: z.number().int().min(0).nullable().default(null),
    /** What held requests do when the hold is lifted: run as if received, or vanish unprocessed. */
    heldOnRelease: z.enum(["process", "drop"]).default("process"),
  })
  .strict();

export type FaultSettings = z.infer<typeof faultSettingsSchema>;

/** A change to some of the settings; unknown keys are refused so a typo is not silently ignored. */
export const faultPatchSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(60_000),
    busyRate: z.number().min(0).max(1),
    busyCount: z.number().int().min(0),
    lockConflictCount: z.number().int().min(0),
    failJobsCount: z.number().int().min(0),
    failJobsMatch: z.string(),
    failJobsSkip: z.number().int().min(0),
    failJobsSsb: z.tuple([z.string(), z.string()]),
    poolFull: z.array(z.number().int().min(0)),
    holdChangesAfter: z.number().int().min(0).nullable(),
    heldOnRelease: z.enum(["process", "drop"]),
  })
  .partial()
  .strict();

export class Faults {
  settings: FaultSettings = faultSettingsSchema.parse({});
  private held: { request: string; resolve: (process: boolean) => void }[] = [];
  /** Requests (by their Request object) that waited in the hold: the request log marks them. */
  private readonly wasHeld = new WeakSet<object>();

  update(patch: z.infer<typeof faultPatchSchema>): FaultSettings {
    const merged = faultSettingsSchema.parse({ ...this.settings, ...patch });
    this.settings = merged;
    if (merged.holdChangesAfter === null) this.releaseHeld();
    return merged;
  }

  /** Clears every fault; held requests are released the way the settings being cleared said. */
  reset(): void {
    const mode = this.settings.heldOnRelease;
    this.settings = faultSettingsSchema.parse({});
    this.releaseHeld(mode);
  }

  /** Number of change requests being held right now. */
  get heldCount(): number {
    return this.held.length;
  }

  /** The change requests being held right now, as "METHOD /path", in arrival order. */
  get heldRequests(): string[] {
    return this.held.map((h) => h.request);
  }

  /**
   * Called for every change request ("METHOD /path") before it is processed. Resolves true to
   * process it, false to drop it (the hold was lifted with heldOnRelease "drop").
   */
  async admitChange(request: string, key: object): Promise<boolean> {
    const after = this.settings.holdChangesAfter;
    if (after === null) return true;
    if (after > 0) {
      this.settings.holdChangesAfter = after - 1;
      return true;
    }
    this.wasHeld.add(key);
    return new Promise<boolean>((resolve) => this.held.push({ request, resolve }));
  }

  /** Whether the request `key` waited in the hold (before it was processed or dropped). */
  heldBefore(key: object): boolean {
    return this.wasHeld.has(key);
  }

  private releaseHeld(mode = this.settings.heldOnRelease): void {
    const process = mode === "process";
    const held = this.held;
    this.held = [];
    for (const { resolve } of held) resolve(process);
  }

  /** Consumes one "busy" answer if one is due. */
  takeBusy(): boolean {
    if (this.settings.busyCount > 0) {
      this.settings.busyCount--;
      return true;
    }
    return this.settings.busyRate > 0 && Math.random() < this.settings.busyRate;
  }

  takeLockConflict(): boolean {
    if (this.settings.lockConflictCount > 0) {
      this.settings.lockConflictCount--;
      return true;
    }
    return false;
  }

  /** Consumes one injected job failure if this request matches; returns its SSB pair. */
  takeJobFailure(requestUrl: string): readonly [string, string] | undefined {
    const s = this.settings;
    if (s.failJobsCount > 0 && requestUrl.includes(s.failJobsMatch)) {
      if (s.failJobsSkip > 0) {
        s.failJobsSkip--;
        return undefined;
      }
      s.failJobsCount--;
      return s.failJobsSsb;
    }
    return undefined;
  }

  isPoolFull(poolId: number): boolean {
    return this.settings.poolFull.includes(poolId);
  }
}
