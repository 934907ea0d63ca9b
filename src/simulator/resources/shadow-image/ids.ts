/**
 * ShadowImage object ids and lookups (D-SI-LIST; ANS-SI). A copy group is named by three names,
 * a copy pair by four:
 *   local-clone-copygroups/{copyGroupName},{pvolDeviceGroupName},{svolDeviceGroupName}
 *   local-clone-copypairs/{copyGroupName},{pvolDeviceGroupName},{svolDeviceGroupName},{copyPairName}
 */
import { invalidObjectId, objectNotFound } from "../../errors.js";
import type { RequestContext } from "../../routing.js";
import { splitId } from "../../routing.js";
import type { SiCopyGroupState, SiPairState, SimState } from "../../state.js";

/** D-SI-LIST: copy group, device group and copy pair names are at most 31 characters. */
export const SI_NAME_MAX = 31;

/**
 * D-FMT: alphanumerics and `- . : @ _`, not starting with `-`. sim: the comma of the general rule is
 * left out, since a name with a comma could not be told apart inside the comma-joined object id.
 */
export const SI_NAME_PATTERN = /^[A-Za-z0-9.:@_][A-Za-z0-9.:@_-]*$/;

export const PAIRS_PATH = "local-clone-copypairs";
export const GROUPS_PATH = "local-clone-copygroups";

export interface GroupNames {
  copyGroupName: string;
  pvolDeviceGroupName: string;
  svolDeviceGroupName: string;
}

export function groupIdOf(g: GroupNames): string {
  return `${g.copyGroupName},${g.pvolDeviceGroupName},${g.svolDeviceGroupName}`;
}

export function pairIdOf(p: SiPairState): string {
  return `${groupIdOf(p)},${p.copyPairName}`;
}

export function sameGroup(a: GroupNames, b: GroupNames): boolean {
  return groupIdOf(a) === groupIdOf(b);
}

export function findGroup(state: SimState, id: string): SiCopyGroupState | undefined {
  return state.siCopyGroups.find((g) => groupIdOf(g) === id);
}

export function findPair(state: SimState, id: string): SiPairState | undefined {
  return state.siPairs.find((p) => pairIdOf(p) === id);
}

export function pairsOfGroup(state: SimState, group: GroupNames): SiPairState[] {
  return state.siPairs.filter((p) => sameGroup(p, group));
}

/** Parses a group id (3 names) or answers 400 KART20005-E. */
export function parseGroupId(id: string): string {
  if (!splitId(id, 3)) throw invalidObjectId(id);
  return id;
}

export function requireGroup(ctx: RequestContext): SiCopyGroupState {
  const id = parseGroupId(ctx.params.groupId ?? "");
  const group = findGroup(ctx.sim.state, id);
  if (!group) throw objectNotFound(`local clone copy group ${id}`);
  return group;
}

export function requirePair(ctx: RequestContext): SiPairState {
  const id = ctx.params.pairId ?? "";
  if (!splitId(id, 4)) throw invalidObjectId(id);
  const pair = findPair(ctx.sim.state, id);
  if (!pair) throw objectNotFound(`local clone copy pair ${id}`);
  return pair;
}
