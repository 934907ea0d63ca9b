/**
 * What the Thin Image handlers share: limits, ids, lookups over pairs and groups, and the 412 a
 * refused operation answers.
 */
import type { SimCore } from "../../core.js";
import { SSB, invalidObjectId, objectNotFound, preconditionFailed } from "../../errors.js";
import type { ApiError } from "../../errors.js";
import { findLdev, findPool } from "../../model.js";
import type { RequestContext } from "../../routing.js";
import { splitId } from "../../routing.js";
import type { LdevState, SimState, SnapshotGroupState, TiPairState, TiStatus } from "../../state.js";
import type { Operation } from "./matrix.js";

/** MU numbers 0–1023: up to 1,024 snapshots per P-VOL (D-HTI-UG babbihhj). */
export const MAX_MU = 1023;
export const MAX_PAIRS_PER_PVOL = 1024;
/** Per snapshot group / consistency group, and groups per array (D-TI-GROUPS). */
export const MAX_PAIRS_PER_GROUP = 8192;
export const MAX_GROUPS = 2048;

export type CopySpeed = TiPairState["copySpeed"];

/** The object id of a pair, `pvol,mu` (D-TI-SPLIT). */
export function snapshotId(pair: Pick<TiPairState, "pvolLdevId" | "muNumber">): string {
  return `${pair.pvolLdevId},${pair.muNumber}`;
}

export function findPair(state: SimState, pvolLdevId: number, muNumber: number): TiPairState | undefined {
  return state.tiPairs.find((p) => p.pvolLdevId === pvolLdevId && p.muNumber === muNumber);
}

/** Looks the pair up again by id: the state object may have been replaced (rollback, restart). */
export function samePair(
  state: SimState,
  pair: Pick<TiPairState, "pvolLdevId" | "muNumber">,
): TiPairState | undefined {
  return findPair(state, pair.pvolLdevId, pair.muNumber);
}

/** `100,3` or `100%2C3` (already decoded): 400 KART20005-E when malformed, 404 when absent. */
export function requirePair(ctx: RequestContext): TiPairState {
  const raw = ctx.params.snapshotId ?? "";
  const parts = splitId(raw, 2);
  if (!parts?.every((p) => /^\d+$/.test(p))) throw invalidObjectId(raw);
  const [pvol, mu] = parts.map(Number) as [number, number];
  const pair = findPair(ctx.sim.state, pvol, mu);
  if (!pair) throw objectNotFound(`snapshot ${raw}`);
  return pair;
}

export function findGroup(state: SimState, name: string): SnapshotGroupState | undefined {
  return state.snapshotGroups.find((g) => g.snapshotGroupName === name);
}

export function pairsInGroup(state: SimState, name: string): TiPairState[] {
  return state.tiPairs.filter((p) => p.snapshotGroupName === name);
}

/** Pairs whose P-VOL is this LDEV: the next layer of a cascade below it. */
export function pairsBelow(state: SimState, ldevId: number): TiPairState[] {
  return state.tiPairs.filter((p) => p.pvolLdevId === ldevId);
}

/** The pair this LDEV is the S-VOL of. */
export function pairAbove(state: SimState, ldevId: number): TiPairState | undefined {
  return state.tiPairs.find((p) => p.svolLdevId === ldevId);
}

/** A Dynamic Provisioning volume (S-VOL of cascade and clone pairs must be one, D-TI-CREATE). */
export function isDpVol(state: SimState, ldev: LdevState): boolean {
  return findPool(state, ldev.poolId)?.poolType === "HDP";
}

/** Statuses in which a pair's S-VOL can be read and written by hosts (§6). */
const SVOL_ACCESSIBLE: readonly TiStatus[] = ["PSUS", "PFUS", "PSUP", "SMPP"];

export function svolAccessible(pair: TiPairState): boolean {
  // A snapshot pair in PSUP is still settling its split: sim: treat the S-VOL as not yet usable.
  if (pair.status === "PSUP" && !pair.isClone) return false;
  if (pair.status === "SMPP" && !pair.isClone) return false;
  return SVOL_ACCESSIBLE.includes(pair.status);
}

export function requireLdevById(sim: SimCore, ldevId: number, what: string): LdevState {
  const ldev = findLdev(sim.state, ldevId);
  if (!ldev) throw objectNotFound(`${what} ldev ${ldevId}`);
  return ldev;
}

/** The 412 of an operation the matrix refuses (N), with the status that forbids it. */
export function refused(op: Operation, pairs: TiPairState[], why = ""): ApiError {
  const statuses = pairs.map((p) => `${snapshotId(p)}=${p.status}`).join(", ");
  const [SSB1, SSB2] = SSB.PAIR_STATUS_FORBIDS;
  return preconditionFailed(
    `The ${op} operation cannot be performed on the Thin Image pair in its current status (${statuses})${why}.`,
    { SSB1, SSB2 },
  );
}

/** `YYYY-MM-DDThh:mm:ss`, the format of `splitTime` (§5). */
export function splitTimeOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** Removes groups left without pairs: a snapshot group exists only through its pairs. */
export function dropEmptyGroups(state: SimState): void {
  const used = new Set(state.tiPairs.map((p) => p.snapshotGroupName));
  state.snapshotGroups = state.snapshotGroups.filter((g) => used.has(g.snapshotGroupName));
}

/** Clients send `null` for options they leave unset (TF sends `retentionPeriod: null`): absent. */
export function dropNulls(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}
