/**
 * Creates LDEVs directly in a simulator's state, for tests of modules that need volumes but are not
 * about creating them (pairs, paths). Tests of LDEV creation itself go through the REST API.
 */
import { allocateNaa } from "../model.js";
import type { SimCore } from "../core.js";
import type { LdevState, TiPairState } from "../state.js";

export async function seedLdev(
  sim: SimCore,
  ldevId: number,
  bytes: number,
  overrides: Partial<LdevState> = {},
): Promise<LdevState> {
  const ldev: LdevState = {
    ldevId,
    poolId: 0,
    blockCapacity: bytes / 512,
    label: "",
    status: "NML",
    dataReductionMode: "disabled",
    isFullAllocationEnabled: false,
    isAluaEnabled: false,
    naaId: allocateNaa(sim.state, sim.config.storageDeviceId, ldevId),
    ...overrides,
  };
  sim.state.ldevs[String(ldevId)] = ldev;
  await sim.blocks.create(ldevId, bytes);
  sim.store.save();
  return ldev;
}

/** A split Thin Image pair without S-VOL, for filling groups and volumes up to the array's limits. */
export function tiPairState(
  pair: Pick<TiPairState, "pvolLdevId" | "muNumber" | "snapshotGroupName"> & Partial<TiPairState>,
): TiPairState {
  return {
    snapshotPoolId: 0,
    isConsistencyGroup: false,
    isClone: false,
    canCascade: false,
    clonesAutomation: false,
    copySpeed: "medium",
    status: "PSUS",
    isWrittenInSvol: false,
    hasSnapshotData: false,
    createdTime: "2026-01-01T00:00:00Z",
    ...pair,
  };
}
