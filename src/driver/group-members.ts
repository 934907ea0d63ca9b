/**
 * The members of a group snapshot on the array: one Thin Image pair per source volume, all in the
 * group's snapshot group in consistency-group mode, each with a DP-VOL S-VOL of its source's size
 * (so a restore cascades a clone pair from it, as from any snapshot) — Cinder's consistency-group
 * snapshot (vsp-rest-api.md §5 "Cinder consistency-group snapshot").
 *
 * Two change calls per member, no more: the S-VOL (POST ldevs) and its pair (POST snapshots, NoWait
 * so the members' pair creates overlap). Each S-VOL goes at a free id of the window of its member
 * label (names.ts `groupMemberSvolLabel`, ldev-placement.ts), read with one GET of 64 ids per
 * member, never a listing of the range; a full window is RESOURCE_EXHAUSTED, as for a volume, so
 * that every member S-VOL can be found again in its window. The S-VOLs are not labelled while the
 * group lives: a member's S-VOL is named by its pair (`svolLdevId`), and an S-VOL left by a crash
 * before its pair existed is an orphan (unlabelled, unwritten, unpaired) in that window, which the
 * retry adopts. The label is written when the group is deleted, before the pairs go
 * (group-snapshots.ts), so an interrupted delete finds the S-VOLs again in their windows.
 */
import type { Ldev, Snapshot as ArrayPair } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { windowFull } from "./ldev-allocator.js";
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

/** Where a member's S-VOL goes: an orphan of an interrupted attempt (as read), or a free id. */
type SvolSlot = { adopt: Ldev } | { create: number };

/** The pool of the snapshot data: VolumeSnapshotClass, else the array's, else the source's pool. */
export function snapshotPoolOf(array: ManagedArray, pvol: Ldev, parameters: SnapshotParameters): number {
  return parameters.snapshotPool ?? array.config.snapshotPoolId ?? pvol.poolId ?? array.config.defaultPoolId;
}

/**
 * Adds one pair per source to `group`; answers the members' S-VOLs (as adopted or created). The
 * members' windows are read first (one GET each, concurrently; a window two members share once)
 * and every S-VOL id chosen before any change, so members placed in the same window do not race
 * for an id. The S-VOLs are created concurrently, then the pairs: when the group does not exist
 * yet (`newGroup`), the first pair alone — it creates the group in CTG mode — and the others
 * concurrently after it, so no two requests race to create one group. Every S-VOL this call
 * creates is pushed to `created` as soon as it exists (the caller's rollback deletes them); a
 * stage's failure is thrown once all of its requests have ended.
 */
export async function addMembers(
  volumes: VolumeService,
  array: ManagedArray,
  group: string,
  sources: readonly MemberSource[],
  parameters: SnapshotParameters,
  created: number[],
  newGroup: boolean,
): Promise<Ldev[]> {
  const listed = await memberWindows(volumes, array, group, sources);
  const slots = chooseSlots(volumes, array, group, sources, listed);
  // Ids being used are never adopted as orphans by a concurrent call of this process.
  const guarded: number[] = [];
  const guard = (id: number) => {
    guarded.push(id);
    volumes.ldevs.reserve(array, id, group);
  };
  for (const slot of slots) guard("adopt" in slot ? slot.adopt.ldevId : slot.create);
  try {
    const svols = await allOrFirstError(
      sources.map(async ({ pvol }, i) => {
        const slot = slots[i] ?? missing(i);
        if ("adopt" in slot) return slot.adopt;
        const svol = await createSvol(array, pvol, slot.create);
        created.push(svol.ldevId);
        return svol;
      }),
    );
    const pair = (i: number) =>
      createPair(array, group, sources[i]?.pvol ?? missing(i), svols[i]?.ldevId ?? missing(i), parameters);
    const indices = sources.map((_, i) => i);
    const first = newGroup ? indices.shift() : undefined;
    if (first !== undefined) await pair(first);
    await allOrFirstError(indices.map(pair));
    return svols;
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

/**
 * The defined LDEVs of the members' S-VOL windows: one GET of 64 ids per distinct window,
 * concurrently; an LDEV in two overlapping windows once.
 */
async function memberWindows(
  volumes: VolumeService,
  array: ManagedArray,
  group: string,
  sources: readonly MemberSource[],
): Promise<Ldev[]> {
  const byHead = new Map<number, string>();
  for (const { pvol } of sources) {
    const label = groupMemberSvolLabel(group, pvol.ldevId);
    byHead.set(windowFor(label, array.config.ldevRange).head, label);
  }
  const windows = await Promise.all(
    [...byHead.values()].map((label) =>
      volumes.ldevs.windowOf(array, label, "looking up the group snapshot's S-VOLs"),
    ),
  );
  return [...new Map(windows.flat().map((l) => [l.ldevId, l])).values()];
}

/**
 * Orphans of earlier attempts first (same shape, in the member's window), else a free id of the
 * window; a full window is RESOURCE_EXHAUSTED before anything is created (an S-VOL outside its
 * window could not be found again after a delete interrupted once the group was gone).
 */
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
      return { adopt: orphan };
    }
    const [free] = freeSlots(window, defined).filter((id) => !volumes.ldevs.isReserved(array, id));
    if (free === undefined) throw windowFull(array, window);
    defined.add(free);
    return { create: free };
  });
}

/** The S-VOL at `ldevId`: a DP-VOL of the source's size and capacity saving, in the source's pool. */
async function createSvol(array: ManagedArray, pvol: Ldev, ldevId: number): Promise<Ldev> {
  const mode = dataReductionOf(pvol);
  const poolId = pvol.poolId ?? array.config.defaultPoolId;
  const blockCapacity = Number(bytesOf(pvol) / BLOCK);
  await onArray("creating an S-VOL of the group snapshot", () =>
    array.client.ldevs.create({
      poolId,
      blockCapacity,
      ...(mode ? { dataReductionMode: mode } : {}),
      ldevId,
    }),
  );
  return {
    ldevId,
    emulationType: "OPEN-V-CVS",
    blockCapacity,
    poolId,
    attributes: ["CVS", "HDP"],
    status: "NML",
    numOfUsedBlock: 0,
    numOfPorts: 0,
    dataReductionMode: mode ?? "disabled",
  };
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
