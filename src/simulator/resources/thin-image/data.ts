/**
 * The bytes behind Thin Image pairs. A pair's snapshot data (its point-in-time image) is one sparse
 * file, `blocks.imagePath("ti-<pvol>-<mu>")`, written when the pair is split; its size on disk is
 * what the pair takes from its snapshot pool.
 *
 * sim: how the array's pointer-based snapshot data is rendered with whole files —
 * - Split copies the P-VOL's allocated regions into the image (thin-aware, block-store cp), and a
 *   DP-VOL S-VOL is given the image as its own content, so hosts read the snapshot through it.
 * - While an S-VOL is assigned, the S-VOL file *is* the snapshot data (TI S-VOL writes change the
 *   snapshot data): restore copies from it, and unassign saves it back into the image.
 * - A clone copies the P-VOL onto the S-VOL when the clone starts. The array copies in the
 *   background while redirecting S-VOL reads of not-yet-copied areas to the source, so a host sees
 *   the full clone from the start either way; PSUP only lasts as long as the copy would.
 * - An S-VOL that leaves its pair without having been cloned held no data of its own: it reads
 *   zeros afterwards. A clone deleted while copying keeps only the part the copy had reached.
 */
import { stat, truncate } from "node:fs/promises";

import type { SimCore } from "../../core.js";
import { findLdev, ldevBytes } from "../../model.js";
import type { TiPairState } from "../../state.js";

export function imageKey(pair: Pick<TiPairState, "pvolLdevId" | "muNumber">): string {
  return `ti-${pair.pvolLdevId}-${pair.muNumber}`;
}

function volumeBytes(sim: SimCore, ldevId: number): number {
  const ldev = findLdev(sim.state, ldevId);
  if (!ldev) throw new Error(`Thin Image data: LDEV ${ldevId} is not defined`);
  return ldevBytes(ldev);
}

async function mtimeMs(path: string): Promise<number> {
  return (await stat(path)).mtimeMs;
}

/** Gives the S-VOL the stored image, and remembers when, to tell later host writes apart. */
export async function showImageOnSvol(sim: SimCore, pair: TiPairState): Promise<void> {
  if (pair.svolLdevId === undefined) return;
  const svolPath = sim.blocks.ldevPath(pair.svolLdevId);
  await sim.blocks.copyAllocated(
    sim.blocks.imagePath(imageKey(pair)),
    svolPath,
    volumeBytes(sim, pair.svolLdevId),
  );
  pair.svolMtimeMs = await mtimeMs(svolPath);
}

/** The point-in-time image: the P-VOL as it is now, stored as the pair's snapshot data. */
export async function takeImage(sim: SimCore, pair: TiPairState): Promise<void> {
  const pvolBytes = volumeBytes(sim, pair.pvolLdevId);
  await sim.blocks.copyAllocated(
    sim.blocks.ldevPath(pair.pvolLdevId),
    sim.blocks.imagePath(imageKey(pair)),
    pvolBytes,
  );
  pair.hasSnapshotData = true;
  await showImageOnSvol(sim, pair);
}

/** Discards the snapshot data (resync, restore without autoSplit, delete). */
export async function dropImage(sim: SimCore, pair: TiPairState): Promise<void> {
  await sim.blocks.removeImage(imageKey(pair));
  pair.hasSnapshotData = false;
}

/** Restore: the snapshot data — through the S-VOL when one is assigned — onto the P-VOL, in place. */
export async function restoreOntoPvol(sim: SimCore, pair: TiPairState): Promise<void> {
  const source =
    pair.svolLdevId === undefined
      ? sim.blocks.imagePath(imageKey(pair))
      : sim.blocks.ldevPath(pair.svolLdevId);
  await sim.blocks.copyAllocated(
    source,
    sim.blocks.ldevPath(pair.pvolLdevId),
    volumeBytes(sim, pair.pvolLdevId),
  );
}

/** Unassign: what the host left on the S-VOL stays the snapshot data; the S-VOL itself empties. */
export async function saveSvolIntoImage(sim: SimCore, pair: TiPairState): Promise<void> {
  if (pair.svolLdevId === undefined) return;
  if (pair.hasSnapshotData) {
    await sim.blocks.copyAllocated(
      sim.blocks.ldevPath(pair.svolLdevId),
      sim.blocks.imagePath(imageKey(pair)),
      volumeBytes(sim, pair.pvolLdevId),
    );
  }
  await zeroFrom(sim, pair.svolLdevId, 0);
}

/** Clone start: the whole P-VOL onto the S-VOL (see the header on redirected reads). */
export async function copyPvolToSvol(sim: SimCore, pair: TiPairState): Promise<void> {
  if (pair.svolLdevId === undefined) return;
  await sim.blocks.copyAllocated(
    sim.blocks.ldevPath(pair.pvolLdevId),
    sim.blocks.ldevPath(pair.svolLdevId),
    volumeBytes(sim, pair.svolLdevId),
  );
}

/** Reads as zeros from `offset` (bytes) to the end: cut the sparse file there and grow it back. */
export async function zeroFrom(sim: SimCore, ldevId: number, offset: number): Promise<void> {
  const bytes = volumeBytes(sim, ldevId);
  const cut = Math.min(bytes, Math.max(0, offset - (offset % 512)));
  if (cut >= bytes) return;
  const path = sim.blocks.ldevPath(ldevId);
  await truncate(path, cut);
  await truncate(path, bytes);
}

/** Bytes of data the clone copies: the source's allocated data, capped at its capacity. */
export async function cloneSourceBytes(sim: SimCore, pair: TiPairState): Promise<number> {
  const allocated = await sim.blocks.allocatedBytes(sim.blocks.ldevPath(pair.pvolLdevId));
  return Math.min(allocated, volumeBytes(sim, pair.pvolLdevId));
}

/** `isWrittenInSvol`: a host wrote the S-VOL after the array last put the image there. */
export async function svolWritten(sim: SimCore, pair: TiPairState): Promise<boolean> {
  if (pair.svolLdevId === undefined || pair.svolMtimeMs === undefined) return false;
  try {
    return (await mtimeMs(sim.blocks.ldevPath(pair.svolLdevId))) > pair.svolMtimeMs;
  } catch {
    return false;
  }
}

/**
 * Snapshot data held in `poolId`: the images of the pairs whose snapshot pool it is. Registered
 * with pool-usage.ts so pool capacity figures include it.
 */
export async function snapshotUsageBytes(sim: SimCore, poolId: number): Promise<number> {
  let total = 0;
  for (const pair of sim.state.tiPairs) {
    if (pair.snapshotPoolId !== poolId || !pair.hasSnapshotData) continue;
    total += await sim.blocks.allocatedBytes(sim.blocks.imagePath(imageKey(pair)));
  }
  return total;
}
