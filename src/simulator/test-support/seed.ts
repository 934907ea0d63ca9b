/**
 * Creates LDEVs directly in a simulator's state, for tests of modules that need volumes but are not
 * about creating them (pairs, paths). Tests of LDEV creation itself go through the REST API.
 */
import { allocateNaa } from "../model.js";
import type { SimCore } from "../core.js";
import type { LdevState } from "../state.js";

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
