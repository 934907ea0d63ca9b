/**
 * What GET answers for Thin Image pairs (§5 field list; TF `Snapshot`, `SnapshotAll`; ANS-SNAP
 * `DirectSnapshotInfo`; CIN-TEST-FC). Fields that do not apply are left out, as the array does:
 * `svolLdevId` without an S-VOL, `consistencyGroupId` outside CTG mode, `progressRate` outside
 * COPY/PSUP/RCPY, `splitTime` before the first split.
 *
 * sim: `concordanceRate` is 100 except while copying, where it follows the progress: differential
 * tracking between P-VOL and image is not modeled.
 */
import type { SimCore } from "../../core.js";
import type { TiPairState } from "../../state.js";
import { findGroup, snapshotId } from "./common.js";
import { svolWritten } from "./data.js";
import { progressOf } from "./transitions.js";

export type Role = "P-VOL" | "S-VOL";

function rates(sim: SimCore, pair: TiPairState): { concordanceRate: number; progressRate?: number } {
  const copying = pair.status === "COPY" || pair.status === "PSUP" || pair.status === "RCPY";
  if (!copying) return { concordanceRate: 100 };
  const progress = progressOf(pair, sim.clock.now());
  return { concordanceRate: progress, progressRate: progress };
}

function consistencyGroupIdOf(sim: SimCore, pair: TiPairState): number | undefined {
  if (!pair.isConsistencyGroup) return undefined;
  return pair.consistencyGroupId ?? findGroup(sim.state, pair.snapshotGroupName)?.consistencyGroupId;
}

/** One pair, as `GET /snapshots...` shows it; `role` is that of the LDEV the query named. */
export async function pairView(
  sim: SimCore,
  pair: TiPairState,
  role: Role = "P-VOL",
): Promise<Record<string, unknown>> {
  const ctg = consistencyGroupIdOf(sim, pair);
  const { concordanceRate, progressRate } = rates(sim, pair);
  return {
    snapshotGroupName: pair.snapshotGroupName,
    primaryOrSecondary: role,
    status: pair.status,
    pvolLdevId: pair.pvolLdevId,
    muNumber: pair.muNumber,
    ...(pair.svolLdevId === undefined ? {} : { svolLdevId: pair.svolLdevId }),
    snapshotPoolId: pair.snapshotPoolId,
    snapshotId: snapshotId(pair),
    isConsistencyGroup: pair.isConsistencyGroup,
    ...(ctg === undefined ? {} : { consistencyGroupId: ctg }),
    isWrittenInSvol: await svolWritten(sim, pair),
    isClone: pair.isClone,
    canCascade: pair.canCascade,
    isRedirectOnWrite: false,
    snapshotDataReadOnly: false,
    concordanceRate,
    ...(progressRate === undefined ? {} : { progressRate }),
    ...(pair.splitTime === undefined ? {} : { splitTime: pair.splitTime }),
    pvolProcessingStatus: "N",
    ...(pair.svolLdevId === undefined ? {} : { svolProcessingStatus: "N" }),
  };
}

/** One pair in the whole-array listing (`GET /snapshot-replications`, TF `SnapshotAll`). */
export function replicationView(sim: SimCore, pair: TiPairState): Record<string, unknown> {
  const ctg = consistencyGroupIdOf(sim, pair);
  return {
    snapshotReplicationId: snapshotId(pair),
    snapshotGroupName: pair.snapshotGroupName,
    pvolLdevId: pair.pvolLdevId,
    muNumber: pair.muNumber,
    snapshotPoolId: pair.snapshotPoolId,
    ...(pair.svolLdevId === undefined ? {} : { svolLdevId: pair.svolLdevId }),
    ...(ctg === undefined ? {} : { consistencyGroupId: ctg }),
    status: pair.status,
    concordanceRate: rates(sim, pair).concordanceRate,
    isRedirectOnWrite: false,
    isClone: pair.isClone,
    canCascade: pair.canCascade,
    ...(pair.splitTime === undefined ? {} : { splitTime: pair.splitTime }),
  };
}

export function byPairId(a: TiPairState, b: TiPairState): number {
  return a.pvolLdevId - b.pvolLdevId || a.muNumber - b.muNumber;
}
