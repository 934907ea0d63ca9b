/**
 * The Thin Image status machine (§6): what each operation does to a pair and its data, and the
 * transitions the array makes on its own when a pair's `pending` time comes.
 *
 *   snapshot: create → COPY → PAIR (autoSplit: → split → PSUS); split PAIR → PSUS;
 *             resync PSUS|PSUE → COPY → PAIR (autoSplit: → PSUS); restore PSUS → RCPY → PAIR|PSUS;
 *             delete → (SMPP, cascade pairs) → gone.
 *   clone:    create → COPY → PAIR (clonesAutomation: → clone); clone PAIR → PSUP → SMPP → gone,
 *             leaving the S-VOL an independent DP-VOL.
 *
 * Transitions that only change state run from the ticker. Two move data and so are async: the
 * split at the end of an autoSplit COPY (the image is taken at that moment) and the clone start at
 * the end of a clonesAutomation COPY; those run serialized with the jobs (see ticker.ts).
 */
import { MIB } from "../../config.js";
import type { SimCore } from "../../core.js";
import { findLdev, ldevBytes } from "../../model.js";
import type { TiPairState, TiStatus } from "../../state.js";
import { dropEmptyGroups, samePair, splitTimeOf } from "./common.js";
import type { CopySpeed } from "./common.js";
import {
  cloneSourceBytes,
  copyPvolToSvol,
  dropImage,
  imageKey,
  restoreOntoPvol,
  takeImage,
  zeroFrom,
} from "./data.js";

/** Clone copy rate per copySpeed, relative to timings.cloneMiBPerSecond (`medium`). */
const SPEED_FACTOR: Readonly<Record<CopySpeed, number>> = { slower: 0.5, medium: 1, faster: 2 };

function setPending(pair: TiPairState, to: TiStatus | "DELETED", from: number, ms: number): void {
  pair.pending = { to, from, at: from + ms };
}

/** Ramp of `pending` in whole percent (progressRate, §5). */
export function progressOf(pair: TiPairState, now: number): number {
  const p = pair.pending;
  if (!p) return 100;
  if (p.at <= p.from) return 99;
  return Math.max(0, Math.min(99, Math.floor(((now - p.from) * 100) / (p.at - p.from))));
}

/**
 * Split: every pair's image is taken now inside the calling job — which nothing else runs
 * alongside — and stamped with the same splitTime, so a consistency group's pairs share one point
 * in time (D-TI-GROUPS). sim: with timings.tiSplitMs > 0 the pairs show PSUP until the split
 * settles; the image is already fixed.
 *
 * sim: host writes that reach the LDEV files past the simulator — the sim transport's loop
 * devices, the e2e suite's pods — cannot be fenced from here. The images are taken all at once
 * (not one after another) so that the cut across a group's volumes is as narrow as one copy of
 * the allocated data (milliseconds); a host writing dependent records faster than that could still
 * see them straddle the cut. A real array freezes its I/O for the split.
 */
export async function splitPairs(sim: SimCore, pairs: TiPairState[]): Promise<void> {
  const at = sim.clock.now();
  const time = splitTimeOf(at);
  // Host writes to the P-VOLs wait while the images are taken (block-store.ts write fence): the
  // group's images are one point in time for the hosts too, not only for the array's jobs.
  const pvols = pairs.map((p) => sim.blocks.ldevPath(p.pvolLdevId));
  await sim.blocks.fenced(pvols, async () => {
    await Promise.all(pairs.map((pair) => takeImage(sim, pair)));
  });
  const ms = sim.config.timings.tiSplitMs;
  for (const pair of pairs) {
    pair.splitTime = time;
    if (ms > 0) {
      pair.status = "PSUP";
      setPending(pair, "PSUS", at, ms);
    } else {
      pair.status = "PSUS";
      delete pair.pending;
    }
  }
}

/** Clone start (D-TI-CLONE): PSUP for as long as copying the source's data takes at `speed`. */
export async function startClone(sim: SimCore, pair: TiPairState, speed: CopySpeed): Promise<void> {
  pair.copySpeed = speed;
  await copyPvolToSvol(sim, pair);
  const bytes = await cloneSourceBytes(sim, pair);
  const rate = sim.config.timings.cloneMiBPerSecond * SPEED_FACTOR[speed] * MIB;
  const ms = rate > 0 ? Math.ceil((bytes / rate) * 1000) : 0;
  const now = sim.clock.now();
  pair.status = "PSUP";
  pair.splitTime = splitTimeOf(now);
  setPending(pair, "SMPP", now, ms);
}

/** Resync: the snapshot data is discarded and the pair re-pairs (PSUS|PSUE → COPY → PAIR). */
export async function beginResync(sim: SimCore, pair: TiPairState, autoSplit: boolean): Promise<void> {
  await dropImage(sim, pair);
  delete pair.splitTime;
  pair.status = "COPY";
  setPending(pair, autoSplit ? "PSUS" : "PAIR", sim.clock.now(), sim.config.timings.tiResyncMs);
}

/**
 * Restore (RCPY): the snapshot data goes back onto the P-VOL now — the P-VOL cannot be accessed
 * during RCPY (§6), so nobody sees the order. autoSplit keeps the image (→ PSUS); otherwise the
 * pair ends in PAIR without snapshot data.
 */
export async function beginRestore(sim: SimCore, pair: TiPairState, autoSplit: boolean): Promise<void> {
  await restoreOntoPvol(sim, pair);
  if (!autoSplit) await sim.blocks.removeImage(imageKey(pair));
  pair.status = "RCPY";
  setPending(pair, autoSplit ? "PSUS" : "PAIR", sim.clock.now(), sim.config.timings.tiRestoreMs);
}

/**
 * Delete (D-TI-DELETE): the snapshot data goes; a cascade or clone pair passes through SMPP. An
 * S-VOL that was never fully cloned keeps nothing it can rely on (§6 "content not guaranteed"):
 * a clone stopped in PSUP keeps only the part the copy reached, any other S-VOL reads zeros.
 * sim: the copy is taken to sweep the volume front to back, so the part reached is the first
 * progress × capacity bytes (the real order over allocated pages is not observable).
 */
export async function beginDelete(sim: SimCore, pair: TiPairState): Promise<void> {
  const now = sim.clock.now();
  if (pair.svolLdevId !== undefined) {
    const svol = findLdev(sim.state, pair.svolLdevId);
    const reached =
      pair.isClone && pair.status === "PSUP" && svol ? (ldevBytes(svol) * progressOf(pair, now)) / 100 : 0;
    await zeroFrom(sim, pair.svolLdevId, Math.floor(reached));
  }
  await dropImage(sim, pair);
  pair.status = "SMPP";
  const ms = pair.canCascade || pair.isClone ? sim.config.timings.pairDeleteMs : 0;
  setPending(pair, "DELETED", now, ms);
}

/** The pair leaves the array; its S-VOL becomes a plain DP-VOL; an emptied group goes too. */
export function removePair(sim: SimCore, pair: TiPairState): void {
  const state = sim.state;
  state.tiPairs = state.tiPairs.filter((p) => p !== pair);
  const svolId = pair.svolLdevId;
  if (svolId !== undefined && !state.tiPairs.some((p) => p.svolLdevId === svolId)) {
    const svol = findLdev(state, svolId);
    if (svol) delete svol.snapshotPoolId;
  }
  dropEmptyGroups(state);
}

/** A due transition out of COPY that moves data (autoSplit split, clonesAutomation clone). */
export function isDataStep(pair: TiPairState): boolean {
  return pair.status === "COPY" && (pair.pending?.to === "PSUS" || pair.pending?.to === "PSUP");
}

export function isDue(pair: TiPairState, now: number): boolean {
  return pair.pending !== undefined && pair.pending.at <= now;
}

/** Applies one due transition that only changes state. Returns false when there is none. */
export function applyStateStep(sim: SimCore, pair: TiPairState, now: number): boolean {
  const p = pair.pending;
  if (!p || p.at > now || isDataStep(pair)) return false;
  delete pair.pending;
  if (p.to === "DELETED") {
    removePair(sim, pair);
  } else if (pair.status === "PSUP" && pair.isClone && p.to === "SMPP") {
    // Clone copy done: SMPL(PD) while the pair is dissolved, then gone (D-HTI-UG clone workflow).
    pair.status = "SMPP";
    setPending(pair, "DELETED", p.at, sim.config.timings.pairDeleteMs);
  } else {
    if (pair.status === "RCPY" && p.to === "PAIR") {
      pair.hasSnapshotData = false;
      delete pair.splitTime;
    }
    pair.status = p.to;
  }
  return true;
}

/** Runs the data step of a due autoSplit / clonesAutomation COPY. */
async function runDataStep(sim: SimCore, pair: TiPairState): Promise<void> {
  if (pair.pending?.to === "PSUP") await startClone(sim, pair, pair.copySpeed);
  else await splitPairs(sim, [pair]);
}

/**
 * Applies every transition of the pair that is due now, data steps included. Called inside jobs
 * (so instant timings finish within the request) and by the ticker's serialized data work.
 */
export async function advance(sim: SimCore, pair: TiPairState): Promise<void> {
  for (let guard = 0; guard < 8; guard++) {
    const current = samePair(sim.state, pair);
    if (current !== pair || !isDue(pair, sim.clock.now())) return;
    if (isDataStep(pair)) await runDataStep(sim, pair);
    else applyStateStep(sim, pair, sim.clock.now());
  }
}

export type PairRef = Pick<TiPairState, "pvolLdevId" | "muNumber" | "createdTime">;

function stillThere(sim: SimCore, ref: PairRef): TiPairState | undefined {
  const pair = samePair(sim.state, ref);
  return pair?.createdTime === ref.createdTime ? pair : undefined;
}

/**
 * Whether a job that changed this pair can end (the condition it waits for without NoWait): the
 * pair has no transition left, or it is a clone whose copy is running or done (Cinder returns as
 * soon as the clone copy runs, §9), or it is gone.
 */
export function pairSettled(sim: SimCore, ref: PairRef): boolean {
  const pair = stillThere(sim, ref);
  if (!pair) return true;
  if (pair.isClone && (pair.status === "PSUP" || pair.status === "SMPP")) return true;
  return pair.pending === undefined;
}

/** Whether a deleted pair has left the array (the end of SMPP). */
export function pairGone(sim: SimCore, ref: PairRef): boolean {
  return stillThere(sim, ref) === undefined;
}
