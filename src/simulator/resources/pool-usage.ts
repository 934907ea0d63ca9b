/**
 * Pool capacity accounting in HDP pages (D-HDP: 42 MB pages, allocated only when written; a new
 * DP-VOL holds no pages). Every figure is computed from what is really on disk, so thin behaviour is
 * visible: a 100 GiB volume nobody wrote uses 0 pages, 1 MiB written at offset 0 uses 1 page.
 *
 * Deliberate simplifications (sim:):
 * - An LDEV's pages = ceil(allocated bytes of its sparse file / page size). A real array counts the
 *   distinct 42 MB regions touched; scattered small writes would use more pages there. Node has no
 *   SEEK_DATA, so the file's allocated size is what we can measure cheaply; the figure is a lower
 *   bound and exact for sequential data.
 * - The 4 control pages D-HDP reserves per DP-VOL and the 4,200 MB management area are not
 *   charged: the pool's capacity is its pages × page size, and a new DP-VOL uses 0 pages, so that
 *   used capacity (total − available, NOTES p.378) moves only with written data and is easy to
 *   predict in tests of thin provisioning.
 * - A full-allocation volume (isFullAllocationEnabled) holds all its pages from creation on.
 * - Snapshot data of Thin Image pairs is charged to the pair's snapshot pool, as reported by the
 *   providers registered with `registerSnapshotUsage` (the Thin Image module owns those files).
 */
import { MIB } from "../config.js";
import type { SimCore } from "../core.js";
import { ldevBytes } from "../model.js";
import type { LdevState, PoolState } from "../state.js";

/** Bytes of snapshot data a module keeps in `poolId` (e.g. the Thin Image split images). */
export type SnapshotUsageFn = (sim: SimCore, poolId: number) => Promise<number>;

const snapshotUsageProviders = new Set<SnapshotUsageFn>();

/**
 * Adds a source of snapshot data to the pool figures. Pass a module-level function: registering the
 * same function again (each simulator instance runs the registrars) is a no-op.
 */
export function registerSnapshotUsage(fn: SnapshotUsageFn): void {
  snapshotUsageProviders.add(fn);
}

export function pagesFor(bytes: number, pageSizeBytes: number): number {
  return Math.ceil(bytes / pageSizeBytes);
}

/** Pages the LDEV takes from its pool now. */
export async function ldevUsedPages(sim: SimCore, ldev: LdevState): Promise<number> {
  const page = sim.config.pageSizeBytes;
  const capacity = ldevBytes(ldev);
  // Filesystem metadata can make st_blocks exceed the file size by a block or two: cap it.
  const written = Math.min(await sim.blocks.allocatedBytes(sim.blocks.ldevPath(ldev.ldevId)), capacity);
  const pages = pagesFor(written, page);
  return ldev.isFullAllocationEnabled ? pagesFor(capacity, page) : pages;
}

export interface PoolUsage {
  totalPages: number;
  /** Pages of the DP-VOLs in the pool. */
  ldevPages: number;
  snapshotBytes: number;
  snapshotPages: number;
  /** ldevPages + snapshotPages (may exceed totalPages when data was written regardless). */
  usedPages: number;
  /** Sum of the capacities of the DP-VOLs in the pool (provisioned, not used). */
  locatedBytes: number;
  locatedVolumeCount: number;
  /** Pages held by full-allocation volumes, and how many there are. */
  reservedPages: number;
  reservedVolumeCount: number;
  /** Thin Image pairs whose snapshot data lives in the pool. */
  snapshotCount: number;
}

async function snapshotBytesIn(sim: SimCore, poolId: number): Promise<number> {
  let total = 0;
  for (const provider of snapshotUsageProviders) total += await provider(sim, poolId);
  return total;
}

export async function poolUsage(sim: SimCore, pool: PoolState): Promise<PoolUsage> {
  const page = sim.config.pageSizeBytes;
  const ldevs = Object.values(sim.state.ldevs).filter((l) => l.poolId === pool.poolId);
  let ldevPages = 0;
  let reservedPages = 0;
  for (const ldev of ldevs) {
    const pages = await ldevUsedPages(sim, ldev);
    ldevPages += pages;
    if (ldev.isFullAllocationEnabled) reservedPages += pages;
  }
  const snapshotBytes = await snapshotBytesIn(sim, pool.poolId);
  const snapshotPages = pagesFor(snapshotBytes, page);
  return {
    totalPages: pool.totalPages,
    ldevPages,
    snapshotBytes,
    snapshotPages,
    usedPages: ldevPages + snapshotPages,
    locatedBytes: ldevs.reduce((sum, l) => sum + ldevBytes(l), 0),
    locatedVolumeCount: ldevs.length,
    reservedPages,
    reservedVolumeCount: ldevs.filter((l) => l.isFullAllocationEnabled).length,
    snapshotCount: sim.state.tiPairs.filter((p) => p.snapshotPoolId === pool.poolId).length,
  };
}

export function freePages(usage: PoolUsage): number {
  return Math.max(0, usage.totalPages - usage.usedPages);
}

/** Used capacity in whole percent, truncated (as the array reports it), at most 100. */
export function usedRate(usage: PoolUsage): number {
  if (usage.totalPages <= 0) return 100;
  return Math.min(100, Math.floor((usage.usedPages * 100) / usage.totalPages));
}

/** Pages → MB (MiB), truncated: the unit of every pool capacity field. */
export function pagesToMiB(pages: number, pageSizeBytes: number): number {
  return Math.floor((pages * pageSizeBytes) / MIB);
}
