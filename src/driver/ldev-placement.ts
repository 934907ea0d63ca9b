/**
 * Where a volume's LDEV lives, so that CreateVolume is idempotent and crash-safe from the array
 * alone (ARCHITECTURE §3).
 *
 * Each CO name maps to a window of WINDOW consecutive LDEV ids inside the driver's ldevRange,
 * chosen by the digest label. The volume is created at the first free id of its window and then
 * labelled. A lookup lists the driver's range (one call below 16,384 LDEVs) and finds:
 *   - the volume itself (its label, anywhere in the range) — a retried CreateVolume returns it;
 *   - in the window, an orphan — an unlabelled, empty, unmapped, unpaired DP volume in the same
 *     pool, left by a controller that died between "create LDEV" and "set label" — which the retry
 *     adopts (or deletes, when its size or data reduction is wrong) instead of leaking it;
 *   - the free id of the window to create at.
 * Only when every id of the window is taken by other volumes does creation fall back to any free id
 * of the range; the range-wide label lookup still finds that volume later.
 */
import { createHash } from "node:crypto";

import type { Ldev } from "../array/types.js";

export const WINDOW = 16;

export interface LdevRange {
  start: number;
  end: number;
}

export interface Window {
  head: number;
  count: number;
}

export function windowFor(label: string, range: LdevRange): Window {
  const size = range.end - range.start + 1;
  const count = Math.min(WINDOW, size);
  const hash = createHash("sha256").update(label).digest().readUInt32BE(0);
  return { head: range.start + (hash % (size - count + 1)), count };
}

export function inWindow(ldev: Ldev, w: Window): boolean {
  return ldev.ldevId >= w.head && ldev.ldevId < w.head + w.count;
}

/** Attributes that mean the LDEV takes part in a copy pair (Thin Image, ShadowImage). */
const PAIR_ATTRIBUTES = ["HTI", "MRCF"];

export function inPair(ldev: Ldev): boolean {
  return (ldev.attributes ?? []).some((a) => PAIR_ATTRIBUTES.includes(a));
}

/**
 * An LDEV a crashed CreateVolume left behind: no label, never written, no LU path, no pair, in the
 * pool the volume is wanted in. A user's volume in the driver's range would have data or paths.
 */
export function isOrphan(ldev: Ldev, poolId: number): boolean {
  return (
    (ldev.label ?? "") === "" &&
    (ldev.numOfUsedBlock ?? 0) === 0 &&
    (ldev.numOfPorts ?? ldev.ports?.length ?? 0) === 0 &&
    !inPair(ldev) &&
    ldev.poolId === poolId &&
    (ldev.status ?? "NML") === "NML"
  );
}

/** The first id of the window that no LDEV holds. */
export function freeSlot(w: Window, defined: ReadonlySet<number>): number | undefined {
  for (let id = w.head; id < w.head + w.count; id++) if (!defined.has(id)) return id;
  return undefined;
}
