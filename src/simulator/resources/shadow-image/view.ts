/**
 * What GET answers for ShadowImage pairs and copy groups (D-SI-LIST; ANS-SI
 * `parse_shadow_image_data`, vsp_local_copy_group_models).
 */
import type { SimCore } from "../../core.js";
import type { SiCopyGroupState, SiPairState } from "../../state.js";
import { progressRate } from "./engine.js";
import { findGroup, groupIdOf, pairIdOf, pairsOfGroup } from "./ids.js";

/** D-SI-STATUS: the S-VOL side of a split pair reads SSUS; every other status is the same on both sides. */
function svolStatus(pair: SiPairState): string {
  return pair.status === "PSUS" ? "SSUS" : pair.status;
}

export function pairView(sim: SimCore, pair: SiPairState): Record<string, unknown> {
  const group = findGroup(sim.state, groupIdOf(pair));
  const progress = progressRate(pair, sim.clock.now());
  return {
    localCloneCopypairId: pairIdOf(pair),
    copyGroupName: pair.copyGroupName,
    copyPairName: pair.copyPairName,
    replicationType: "SI",
    pvolLdevId: pair.pvolLdevId,
    svolLdevId: pair.svolLdevId,
    pvolDeviceGroupName: pair.pvolDeviceGroupName,
    svolDeviceGroupName: pair.svolDeviceGroupName,
    // COPY(RS) answers COPY and COPY(RS-R) answers RCPY, as the REST API reports them (§6).
    pvolStatus: pair.status,
    svolStatus: svolStatus(pair),
    pvolMuNumber: pair.pvolMuNumber,
    copyPace: pair.copyPace,
    ...(progress === undefined ? {} : { copyProgressRate: progress }),
    isConsistencyGroup: group?.isConsistencyGroup ?? false,
    ...(pair.consistencyGroupId === undefined ? {} : { consistencyGroupId: pair.consistencyGroupId }),
  };
}

export function groupView(
  sim: SimCore,
  group: SiCopyGroupState,
  withPairs: boolean,
): Record<string, unknown> {
  return {
    localCloneCopygroupId: groupIdOf(group),
    copyGroupName: group.copyGroupName,
    pvolDeviceGroupName: group.pvolDeviceGroupName,
    svolDeviceGroupName: group.svolDeviceGroupName,
    ...(withPairs ? { copyPairs: pairsOfGroup(sim.state, group).map((p) => pairView(sim, p)) } : {}),
  };
}
