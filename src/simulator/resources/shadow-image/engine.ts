/**
 * The ShadowImage copy engine: how long a copy takes, when data moves between P-VOL and S-VOL, and
 * the background transitions (D-SI-STATUS) that end a copy or suspend a pair on failure.
 *
 * Data model (sim:). The array mirrors P-VOL writes onto the S-VOL while a pair is COPY/PAIR; the
 * simulator cannot see host writes (they reach the sparse files directly), so it copies the P-VOL's
 * allocated data onto the S-VOL at the moments the S-VOL's content becomes defined:
 * - the end of an initial copy or resync (COPY → PAIR, or → PSUS with autoSplit);
 * - a split (PAIR → PSUS, and a split during COPY: the image is the P-VOL at the split);
 * - a delete in PAIR (the S-VOL is left holding the P-VOL's data, as a mirrored S-VOL would).
 * A restore copies the S-VOL onto the P-VOL when accepted: during RCPY neither volume is for host
 * use, so the exact moment inside the restore is not observable by a well-behaved client.
 * A host reading the (read-only) S-VOL in PAIR therefore sees the P-VOL as of the end of the copy,
 * not writes made since; a split or delete brings it up to date.
 */
import { GIB } from "../../config.js";
import type { SimCore, Ticker } from "../../core.js";
import { findLdev, ldevBytes } from "../../model.js";
import type { SiPairState } from "../../state.js";
import { findPair, pairIdOf } from "./ids.js";

export type SiPairStatus = SiPairState["status"];

/** copyPace when the request names none (ANS-SI sends 3 for "medium"). */
export const DEFAULT_COPY_PACE = 3;

/**
 * sim: copy time = siCopyMs × (1 + allocated GiB of the copy source) × (3 / copyPace).
 * siCopyMs is the fixed part and also the cost of each allocated GiB (config.ts); copyPace 3
 * (medium) is the unit, 15 copies five times faster, 1 three times slower. Resync and restore are
 * charged like an initial copy: the simulator keeps no differential bitmap. 0 = instant.
 */
export function copyDurationMs(sim: SimCore, allocatedBytes: number, copyPace: number): number {
  const fixed = sim.config.timings.siCopyMs;
  if (fixed <= 0) return 0;
  return Math.round(fixed * (1 + allocatedBytes / GIB) * (DEFAULT_COPY_PACE / copyPace));
}

/** Copies one LDEV's allocated data onto another (thin-aware, in place). */
export async function copyLdevData(sim: SimCore, fromLdevId: number, toLdevId: number): Promise<void> {
  const target = findLdev(sim.state, toLdevId);
  if (!target) throw new Error(`LDEV ${toLdevId} is not defined`);
  const { blocks } = sim;
  await blocks.copyAllocated(blocks.ldevPath(fromLdevId), blocks.ldevPath(toLdevId), ldevBytes(target));
}

/** Puts the pair in a steady status: no copy running, nothing pending. */
export function settlePair(pair: SiPairState, status: SiPairStatus): void {
  pair.status = status;
  delete pair.pending;
  delete pair.copyKind;
  delete pair.copyOnArrival;
}

export interface CopyPhase {
  status: "COPY" | "RCPY";
  kind: "initial" | "resync" | "restore";
  /** Status when the copy ends: PAIR, or PSUS (autoSplit, split during COPY). */
  to: "PAIR" | "PSUS";
  /** Copy the P-VOL onto the S-VOL when the phase ends (initial copy, resync). */
  copyOnArrival: boolean;
  /** The volume whose allocated data sizes the copy time. */
  sourceLdevId: number;
}

/** Starts a copy phase; with a zero copy time it ends at once, inside the calling job. */
export async function beginCopy(sim: SimCore, pair: SiPairState, phase: CopyPhase): Promise<void> {
  const allocated = await sim.blocks.allocatedBytes(sim.blocks.ldevPath(phase.sourceLdevId));
  const duration = copyDurationMs(sim, allocated, pair.copyPace);
  if (duration === 0) {
    if (phase.copyOnArrival) await copyLdevData(sim, pair.pvolLdevId, pair.svolLdevId);
    settlePair(pair, phase.to);
    return;
  }
  const now = sim.clock.now();
  pair.status = phase.status;
  pair.copyKind = phase.kind;
  pair.pending = { to: phase.to, at: now + duration, from: now };
  if (phase.copyOnArrival) pair.copyOnArrival = true;
  else delete pair.copyOnArrival;
}

/** Whether the pair is copying (COPY or RCPY): what a waiting job waits out. */
export function isCopying(pair: SiPairState): boolean {
  return pair.status === "COPY" || pair.status === "RCPY";
}

/**
 * PSUS(SP) (D-SI-STATUS GUI sub-state): split by a quick split while the array still copies in the
 * background. The S-VOL is R/W and shows the image already; REST answers PSUS (with the progress);
 * the pair cannot be deleted until the copy is done.
 */
export function isQuickSplitCopying(pair: SiPairState): boolean {
  return pair.status === "PSUS" && pair.pending !== undefined;
}

/**
 * A quick split: the S-VOL image is the P-VOL now (the caller copied it), the pair PSUS at once;
 * the copy the array still owes runs on until `until` (PSUS(SP)), or is done when that has passed.
 */
export function quickSplit(sim: SimCore, pair: SiPairState, until: number): void {
  const now = sim.clock.now();
  settlePair(pair, "PSUS");
  if (until > now) pair.pending = { to: "PSUS", from: now, at: until };
}

/** 0–99 while copying (linear over the copy time), 100 in PAIR/PSUS, none after a failure. */
export function progressRate(pair: SiPairState, now: number): number | undefined {
  if (pair.status === "PSUE") return undefined;
  if (!isCopying(pair) && !isQuickSplitCopying(pair)) return 100;
  const pending = pair.pending;
  if (!pending || pending.at <= pending.from) return 0;
  const ratio = (now - pending.from) / (pending.at - pending.from);
  return Math.max(0, Math.min(99, Math.floor(ratio * 100)));
}

/**
 * D-SI-STATUS: a pair goes PSUE when the copy cannot write: the S-VOL's pool while COPY/PAIR (the
 * copy and the mirroring write the S-VOL), sim: the P-VOL's pool during RCPY (the restore writes
 * the P-VOL). A split pair copies nothing and stays PSUS.
 */
function suspendIfPoolFull(sim: SimCore, pair: SiPairState): boolean {
  if (pair.status !== "COPY" && pair.status !== "PAIR" && pair.status !== "RCPY") return false;
  const written = findLdev(sim.state, pair.status === "RCPY" ? pair.pvolLdevId : pair.svolLdevId);
  if (!written || !sim.faults.isPoolFull(written.poolId)) return false;
  settlePair(pair, "PSUE");
  return true;
}

function applyPending(sim: SimCore, pair: SiPairState): void {
  const to = pair.pending?.to;
  if (to === undefined) return;
  if (to === "DELETED") {
    sim.state.siPairs = sim.state.siPairs.filter((p) => p !== pair);
    return;
  }
  settlePair(pair, to);
}

/**
 * Ends a copy whose last step is a data copy. Tickers are synchronous, so the copy runs as its own
 * serialized step (never inside another job, whose rollback could undo it); the status changes
 * only once the data is on the S-VOL, so a waiting job or a client polling the status never sees
 * PAIR/PSUS before the S-VOL holds the data. Pending state is persisted, so a restart redoes it.
 */
function finishWithCopy(sim: SimCore, id: string, inFlight: Set<string>): void {
  if (inFlight.has(id)) return;
  inFlight.add(id);
  const work = async (): Promise<void> => {
    const pair = findPair(sim.state, id);
    if (!pair?.pending || pair.copyOnArrival !== true || pair.pending.at > sim.clock.now()) return;
    try {
      await copyLdevData(sim, pair.pvolLdevId, pair.svolLdevId);
    } catch {
      // sim: a copy that cannot complete suspends the pair, as a failed copy does on the array.
      settlePair(pair, "PSUE");
      sim.store.save();
      return;
    }
    // Looked up again: the pool-full check may have suspended the pair while the data was moving.
    const current = findPair(sim.state, id);
    if (current?.pending && current.copyOnArrival === true) applyPending(sim, current);
    sim.store.save();
  };
  void sim
    .serialize(work)
    .catch(() => undefined)
    .finally(() => inFlight.delete(id));
}

/** The background side of ShadowImage: copy ends, autoSplit, suspension on pool full. */
export function shadowImageTicker(sim: SimCore): Ticker {
  const inFlight = new Set<string>();
  return (now) => {
    let changed = false;
    for (const pair of [...sim.state.siPairs]) {
      if (suspendIfPoolFull(sim, pair)) {
        changed = true;
        continue;
      }
      if (!pair.pending || pair.pending.at > now) continue;
      if (pair.copyOnArrival === true) {
        finishWithCopy(sim, pairIdOf(pair), inFlight);
        continue;
      }
      applyPending(sim, pair);
      changed = true;
    }
    return changed;
  };
}
