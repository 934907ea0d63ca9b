/**
 * Pair creates into the shared Thin Image snapshot groups (names.ts SHARED_GROUPS): the group of
 * the LDEV, or another when the array refuses that one:
 *   - the group holds its 8,192 pairs (MAX_PAIRS_IN_CTG): the next group;
 *   - the group does not exist and cannot be made, the array's 2,048 groups being in use (MAX_CTG):
 *     one of the shared groups that do exist, read from the array (one listing of its groups, only
 *     on this rare path).
 * A pair is found by its S-VOL, never by its group, so any shared group will do.
 */
import { VspError } from "../array/errors.js";
import type { SnapshotGroupSummary } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { SHARED_GROUPS, sharedGroupKind, sharedGroupName } from "./names.js";

/** Groups tried before a pair create gives up. */
const ATTEMPTS = 16;

export async function inSharedGroup<T>(
  array: ManagedArray,
  kind: "snapshots" | "copies",
  ldevId: number,
  create: (group: string) => Promise<T>,
): Promise<T> {
  const tried = new Set<string>();
  let existing: string[] | undefined;
  let group = sharedGroupName(kind, ldevId);
  for (let attempt = 1; ; attempt++) {
    tried.add(group);
    try {
      return await create(group);
    } catch (err) {
      const full = err instanceof VspError && err.is("MAX_PAIRS_IN_CTG");
      const noNewGroup = err instanceof VspError && err.is("MAX_CTG");
      if ((!full && !noNewGroup) || attempt >= Math.min(ATTEMPTS, SHARED_GROUPS)) throw err;
      if (noNewGroup) existing ??= await sharedGroupsOn(array, kind);
      const next = existing ? existing.find((g) => !tried.has(g)) : sharedGroupName(kind, ldevId + attempt);
      if (next === undefined) throw err;
      group = next;
    }
  }
}

/** The shared groups of `kind` the array holds now. */
async function sharedGroupsOn(array: ManagedArray, kind: "snapshots" | "copies"): Promise<string[]> {
  const groups: SnapshotGroupSummary[] = await onArray("looking for a snapshot group with room", () =>
    array.client.snapshotGroups.list(),
  );
  return groups.map((g) => g.snapshotGroupName).filter((name) => sharedGroupKind(name) === kind);
}
