/**
 * Lookups over the array state that several resource modules need. Pure functions of the state:
 * no I/O, no mutation, so any module can call them inside or outside a job.
 */
import { randomBytes } from "node:crypto";

import type { LdevState, LunState, PoolState, SiPairState, SimState, TiPairState } from "./state.js";

export function findLdev(state: SimState, ldevId: number): LdevState | undefined {
  return state.ldevs[String(ldevId)];
}

export function findPool(state: SimState, poolId: number): PoolState | undefined {
  return state.pools.find((p) => p.poolId === poolId);
}

export function ldevBytes(ldev: LdevState): number {
  return ldev.blockCapacity * 512;
}

/** Thin Image pairs in which the LDEV is the P-VOL or the S-VOL. */
export function tiPairsOf(state: SimState, ldevId: number): TiPairState[] {
  return state.tiPairs.filter((p) => p.pvolLdevId === ldevId || p.svolLdevId === ldevId);
}

/** ShadowImage pairs in which the LDEV is the P-VOL or the S-VOL. */
export function siPairsOf(state: SimState, ldevId: number): SiPairState[] {
  return state.siPairs.filter((p) => p.pvolLdevId === ldevId || p.svolLdevId === ldevId);
}

export function lunsOf(state: SimState, ldevId: number): LunState[] {
  return state.luns.filter((l) => l.ldevId === ldevId);
}

/**
 * A new NAA identifier for an LDEV: Hitachi's NAA prefix `60060e80`, then the array serial, then a
 * per-array serial number and the LDEV id. A re-created LDEV id gets a new NAA, so a host can tell
 * the new volume from the old one even at the same LUN.
 */
export function allocateNaa(state: SimState, storageDeviceId: string, ldevId: number): string {
  state.naaSerial += 1;
  const serial = Number(storageDeviceId.slice(-6)).toString(16).padStart(6, "0");
  const generation = state.naaSerial.toString(16).padStart(8, "0");
  const salt = randomBytes(2).toString("hex");
  return `60060e80${serial}${salt}${generation}${ldevId.toString(16).padStart(6, "0")}`.slice(0, 32);
}
