/**
 * Snapshot groups and consistency groups (D-TI-GROUPS, D-TIA-CTG): a group comes into being with
 * its first pair, in CTG mode or not for good, and gets a consistency group id when in CTG mode.
 */
import { ssbError } from "../../errors.js";
import type { SimState, SnapshotGroupState } from "../../state.js";
import { MAX_GROUPS, MAX_PAIRS_PER_GROUP, findGroup, pairsInGroup } from "./common.js";

/** CTG ids 0–2047; Thin Image hands out 128–2047 first, ShadowImage uses 0–127 (D-TIA-CTG). */
const CTG_ORDER: readonly number[] = [
  ...Array.from({ length: 2048 - 128 }, (_, i) => 128 + i),
  ...Array.from({ length: 128 }, (_, i) => i),
];

/** The lowest free consistency group id in the Thin Image order; ids are shared with ShadowImage. */
export function allocateCtgId(state: SimState): number {
  const used = new Set<number>();
  for (const g of state.snapshotGroups)
    if (g.consistencyGroupId !== undefined) used.add(g.consistencyGroupId);
  for (const g of state.siCopyGroups) if (g.consistencyGroupId !== undefined) used.add(g.consistencyGroupId);
  for (const p of state.siPairs) if (p.consistencyGroupId !== undefined) used.add(p.consistencyGroupId);
  const free = CTG_ORDER.find((id) => !used.has(id));
  if (free === undefined) {
    throw ssbError("MAX_CTG_EXCEEDED", "All 2,048 consistency group ids are in use.");
  }
  return free;
}

/**
 * The group a new pair joins: the existing one (its CTG mode must match: a group is either a
 * consistency group or not), or a new one. Limits: 2,048 groups, 8,192 pairs per group
 * (D-TI-GROUPS). sim: the group count limit answers MAX_CTG_EXCEEDED for plain groups too, the
 * only group-count code the reference names.
 */
export function groupForNewPair(state: SimState, name: string, consistency: boolean): SnapshotGroupState {
  const existing = findGroup(state, name);
  if (existing) {
    if (existing.isConsistencyGroup !== consistency) {
      const mode = existing.isConsistencyGroup ? "a consistency group (CTG mode)" : "not in CTG mode";
      throw ssbError(
        "TI_GROUP_MODE_MISMATCH",
        `Snapshot group ${name} is ${mode}; isConsistencyGroup must be ${String(existing.isConsistencyGroup)}.`,
      );
    }
    if (pairsInGroup(state, name).length >= MAX_PAIRS_PER_GROUP) {
      throw ssbError("MAX_PAIRS_IN_CTG", `Snapshot group ${name} already has ${MAX_PAIRS_PER_GROUP} pairs.`);
    }
    return existing;
  }
  if (state.snapshotGroups.length >= MAX_GROUPS) {
    throw ssbError("MAX_CTG_EXCEEDED", `The array already has ${MAX_GROUPS} snapshot groups.`);
  }
  const group: SnapshotGroupState = {
    snapshotGroupName: name,
    isConsistencyGroup: consistency,
    ...(consistency ? { consistencyGroupId: allocateCtgId(state) } : {}),
  };
  state.snapshotGroups.push(group);
  return group;
}
