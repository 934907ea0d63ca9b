/**
 * The members of a group snapshot on the array: one Thin Image pair per source volume, all in the
 * group's snapshot group in consistency-group mode, each with a DP-VOL S-VOL of its source's size
 * (so a restore cascades a clone pair from it, as from any snapshot) — Cinder's consistency-group
 * snapshot (vsp-rest-api.md §5 "Cinder consistency-group snapshot").
 *
 * Two change calls per member, no more: the S-VOL (POST ldevs, at an id chosen from one listing of
 * the range) and its pair (POST snapshots, NoWait so the members' pair creates overlap). The S-VOLs
 * are not labelled while the group lives: a member's S-VOL is named by its pair (`svolLdevId`), and
 * an S-VOL left by a crash before its pair existed is an orphan (unlabelled, unwritten, unpaired)
 * in the window of its member label, which the retry adopts (ldev-placement.ts). The label is
 * written when the group is deleted, before the pairs go (group-snapshots.ts), so an interrupted
 * delete finds the S-VOLs again.
 */
import type { Ldev, Snapshot as ArrayPair } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { bytesOf, freeSlots, inWindow, isOrphan, windowFor } from "./ldev-placement.js";
import { groupMemberSvolLabel } from "./names.js";
import type { SnapshotParameters } from "./parameters.js";
import { dataReductionOf, pairCreateError } from "./snapshots.js";
import type { VolumeService } from "./volumes.js";

const BLOCK = 512n;

/** A member to add: its source volume's LDEV. */
export interface MemberSource {
  pvol: Ldev;
}

/** Where a member's S-VOL goes: an orphan of an interrupted attempt, or a free id (or anywhere). */
type SvolSlot = { adopt: number } | { create: number | undefined };

/** The pool of the snapshot data: VolumeSnapshotClass, else the array's, else the source's pool. */
export function snapshotPoolOf(array: ManagedArray, pvol: Ldev, parameters: SnapshotParameters): number {
  return parameters.snapshotPool ?? array.config.snapshotPoolId ?? pvol.poolId ?? array.config.defaultPoolId;
}

/**
 * Adds one pair per source to `group`. The S-VOL ids are chosen from `listed` (one listing of the
 * range) before any call, so members placed in the same window do not race for an id. The S-VOLs
 * are created concurrently, then the pairs: when the group does not exist yet (`newGroup`), the
 * first pair alone — it creates the group in CTG mode — and the others concurrently after it, so
 * no two requests race to create one group. Every S-VOL this call creates is pushed to `created`
 * as soon as it exists (the caller's rollback deletes them); a stage's failure is thrown once all
 * of its requests have ended.
 */
export async function addMembers(
  volumes: VolumeService,
  array: ManagedArray,
  group: string,
  sources: readonly MemberSource[],
  listed: readonly Ldev[],
  parameters: SnapshotParameters,
  created: number[],
  newGroup: boolean,
): Promise<void> {
  const slots = chooseSlots(volumes, array, group, sources, listed);
  // Ids being used are never adopted as orphans by a concurrent call of this process.
  const guarded: number[] = [];
  const guard = (id: number) => {
    guarded.push(id);
    volumes.ldevs.reserve(array, id, group);
  };
  for (const slot of slots) {
    const id = "adopt" in slot ? slot.adopt : slot.create;
    if (id !== undefined) guard(id);
  }
  try {
    const svols = await allOrFirstError(
      sources.map(async ({ pvol }, i) => {
        const slot = slots[i] ?? { create: undefined };
        if ("adopt" in slot) return slot.adopt;
        const svolLdevId = await createSvol(array, pvol, slot.create);
        created.push(svolLdevId);
        guard(svolLdevId);
        return svolLdevId;
      }),
    );
    const pair = (i: number) =>
      createPair(array, group, sources[i]?.pvol ?? missing(i), svols[i] ?? missing(i), parameters);
    const indices = sources.map((_, i) => i);
    const first = newGroup ? indices.shift() : undefined;
    if (first !== undefined) await pair(first);
    await allOrFirstError(indices.map(pair));
  } finally {
    for (const id of guarded) volumes.ldevs.release(array, id);
  }
}

/** Waits for every promise; then the values, or the first failure. */
async function allOrFirstError<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
}

function missing(i: number): never {
  throw new Error(`group member ${i} has no source or S-VOL`);
}

/** Orphans of earlier attempts first (same shape, in the member's window), else a free id. */
function chooseSlots(
  volumes: VolumeService,
  array: ManagedArray,
  group: string,
  sources: readonly MemberSource[],
  listed: readonly Ldev[],
): SvolSlot[] {
  const defined = new Set(listed.map((l) => l.ldevId));
  const taken = new Set<number>();
  return sources.map(({ pvol }) => {
    const window = windowFor(groupMemberSvolLabel(group, pvol.ldevId), array.config.ldevRange);
    const poolId = pvol.poolId ?? array.config.defaultPoolId;
    const orphan = listed.find(
      (l) =>
        inWindow(l, window) &&
        !taken.has(l.ldevId) &&
        !volumes.ldevs.isReserved(array, l.ldevId, group) &&
        isOrphan(l, poolId) &&
        bytesOf(l) === bytesOf(pvol) &&
        (l.dataReductionMode ?? "disabled") === (pvol.dataReductionMode ?? "disabled"),
    );
    if (orphan) {
      taken.add(orphan.ldevId);
      return { adopt: orphan.ldevId };
    }
    const [free] = freeSlots(window, defined);
    if (free !== undefined) defined.add(free);
    return { create: free };
  });
}

/** The S-VOL: a DP-VOL of the source's size and capacity saving, in the source's pool. */
async function createSvol(array: ManagedArray, pvol: Ldev, ldevId: number | undefined): Promise<number> {
  const { start, end } = array.config.ldevRange;
  const mode = dataReductionOf(pvol);
  return onArray("creating an S-VOL of the group snapshot", () =>
    array.client.ldevs.create({
      poolId: pvol.poolId ?? array.config.defaultPoolId,
      blockCapacity: Number(bytesOf(pvol) / BLOCK),
      ...(mode ? { dataReductionMode: mode } : {}),
      ...(ldevId === undefined ? { startLdevId: start, endLdevId: end } : { ldevId }),
    }),
  );
}

/**
 * The member's pair, NoWait: the array accepts it at once and copies nothing yet (COPY → PAIR);
 * the caller waits for the whole group to reach PAIR and then splits it in one call.
 */
async function createPair(
  array: ManagedArray,
  group: string,
  pvol: Ldev,
  svolLdevId: number,
  parameters: SnapshotParameters,
): Promise<void> {
  const snapshotPoolId = snapshotPoolOf(array, pvol, parameters);
  try {
    await array.client.snapshots.create(
      {
        snapshotGroupName: group,
        snapshotPoolId,
        pvolLdevId: pvol.ldevId,
        svolLdevId,
        isConsistencyGroup: true,
        // A restore cascades a clone pair from the member's S-VOL, as from any snapshot.
        canCascade: true,
        ...(dataReductionOf(pvol) ? { isDataReductionForceCopy: true } : {}),
      },
      { noWait: true },
    );
  } catch (err) {
    throw pairCreateError(err, snapshotPoolId);
  }
}

/** The pairs of a group, by P-VOL. */
export function byPvol(pairs: readonly ArrayPair[]): Map<number, ArrayPair> {
  return new Map(pairs.map((p) => [p.pvolLdevId, p]));
}
