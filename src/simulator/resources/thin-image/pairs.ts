/**
 * `POST /snapshots`: creating a Thin Image pair (D-TI-CREATE; §5). The request is checked the way
 * the array splits the work: malformed or contradictory bodies are refused by the REST server (400,
 * no job); what the storage system refuses (pool, volumes, MU, limits) ends the job Failed with an
 * SSB code. The new pair's id `pvol,mu` ends affectedResources[0].
 */
import { z } from "zod";

import type { SimCore } from "../../core.js";
import { invalidParameter, missingParameter, ssbError } from "../../errors.js";
import { findPool, ldevBytes, siPairsOf, tiPairsOf } from "../../model.js";
import type { JobResult, RequestContext } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { LdevState, TiPairState } from "../../state.js";
import { isoSeconds } from "../../clock.js";
import {
  MAX_MU,
  MAX_PAIRS_PER_PVOL,
  dropNulls,
  findPair,
  isDpVol,
  pairAbove,
  requireLdevById,
  snapshotId,
  svolAccessible,
} from "./common.js";
import { groupForNewPair } from "./group-model.js";
import { verdict } from "./matrix.js";
import { advance, pairSettled } from "./transitions.js";

/** Snapshot group names: 1–32 characters, case-sensitive (D-TI-CREATE), D-FMT characters. */
export const groupNameSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^(?!-)[A-Za-z0-9,\-.:@_]+$/, "1-32 of A-Z a-z 0-9 , - . : @ _, not starting with -");

/** slower | medium | faster, not case sensitive (TF `CloneSnapshotParams`). */
export const copySpeedSchema = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum(["slower", "medium", "faster"]));

const createBody = z
  .object({
    snapshotGroupName: groupNameSchema,
    snapshotPoolId: z.number().int().min(0),
    pvolLdevId: z.number().int().min(0),
    svolLdevId: z.number().int().min(0).optional(),
    isConsistencyGroup: z.boolean().default(false),
    autoSplit: z.boolean().default(false),
    canCascade: z.boolean().optional(),
    isClone: z.boolean().default(false),
    clonesAutomation: z.boolean().default(false),
    copySpeed: copySpeedSchema.optional(),
    isDataReductionForceCopy: z.boolean().default(false),
    muNumber: z.number().int().min(0).max(MAX_MU).optional(),
    retentionPeriod: z.number().int().optional(),
  })
  .loose();

type CreateBody = z.infer<typeof createBody>;

/** The parameter combinations D-TI-CREATE rules out, refused by the REST server (400). */
function checkCombinations(body: CreateBody, maxLdevId: number): void {
  if (body.pvolLdevId > maxLdevId) throw invalidParameter("pvolLdevId", `must be 0 to ${maxLdevId}`);
  if (body.svolLdevId !== undefined && body.svolLdevId > maxLdevId) {
    throw invalidParameter("svolLdevId", `must be 0 to ${maxLdevId}`);
  }
  if (body.retentionPeriod !== undefined) {
    throw invalidParameter("retentionPeriod", "sim: retention applies to VSP One B20 only");
  }
  if (body.isClone && body.autoSplit) throw invalidParameter("autoSplit", "cannot be true with isClone");
  if (body.isClone && body.canCascade === false)
    throw invalidParameter("canCascade", "must be true with isClone");
  if (body.clonesAutomation && !body.isClone) throw invalidParameter("clonesAutomation", "requires isClone");
  if (body.copySpeed !== undefined && !(body.isClone && body.clonesAutomation)) {
    throw invalidParameter("copySpeed", "requires isClone and clonesAutomation");
  }
  if (body.isClone && body.svolLdevId === undefined) throw missingParameter("svolLdevId");
}

/** The snapshot pool: a Thin Image or HDP pool that exists (2E30/600E otherwise) and is not full. */
function checkPool(sim: SimCore, poolId: number): void {
  // Every pool of this array is HTI or HDP (PoolState), so existence is the test.
  if (!findPool(sim.state, poolId)) {
    throw ssbError("INVALID_SNAPSHOT_POOL", `Pool ${poolId} cannot hold Thin Image snapshot data.`);
  }
  if (sim.faults.isPoolFull(poolId)) {
    throw ssbError("POOL_FULL", `Snapshot pool ${poolId} is full: no new pairs can be created (§8).`);
  }
}

/**
 * A P-VOL that is itself an S-VOL must be the S-VOL of a cascade-capable pair, and readable now
 * (split, or a clone being copied): that is how a snapshot is restored into a new volume.
 */
function checkPvol(sim: SimCore, pvol: LdevState, body: CreateBody): void {
  if (pvol.dataReductionMode !== "disabled" && !body.isDataReductionForceCopy) {
    throw ssbError(
      "TI_FORCE_COPY_REQUIRED",
      `P-VOL ${pvol.ldevId} has capacity saving enabled: isDataReductionForceCopy must be true.`,
    );
  }
  const above = pairAbove(sim.state, pvol.ldevId);
  if (!above) return;
  if (!above.canCascade) {
    throw ssbError(
      "LDEV_IN_PAIR",
      `LDEV ${pvol.ldevId} is the S-VOL of pair ${snapshotId(above)}, which cannot cascade.`,
    );
  }
  if (!svolAccessible(above)) {
    throw ssbError(
      "PAIR_STATUS_FORBIDS",
      `LDEV ${pvol.ldevId} is the S-VOL of pair ${snapshotId(above)} in ${above.status}; it must be split first.`,
    );
  }
}

/** An S-VOL: another volume of the P-VOL's size, a DP-VOL for cascade/clone pairs, in no pair. */
export function checkSvol(sim: SimCore, pvol: LdevState, svol: LdevState, needsDpVol: boolean): void {
  if (svol.ldevId === pvol.ldevId) throw ssbError("INVALID_SVOL", "The S-VOL cannot be the P-VOL.");
  if (needsDpVol && !isDpVol(sim.state, svol)) {
    throw ssbError("INVALID_SVOL", `LDEV ${svol.ldevId} is not a DP-VOL; cascade and clone pairs need one.`);
  }
  if (ldevBytes(svol) !== ldevBytes(pvol)) {
    throw ssbError(
      "INVALID_SVOL",
      `S-VOL ${svol.ldevId} (${svol.blockCapacity} blocks) and P-VOL ${pvol.ldevId} (${pvol.blockCapacity} blocks) differ in size.`,
    );
  }
  const ti = tiPairsOf(sim.state, svol.ldevId);
  const si = siPairsOf(sim.state, svol.ldevId);
  if (ti.length + si.length > 0) {
    throw ssbError("LDEV_IN_PAIR", `LDEV ${svol.ldevId} is already in ${ti.length + si.length} pair(s).`);
  }
}

/** The lowest MU the P-VOL does not use; 1,024 pairs per P-VOL at most (D-HTI-UG babbihhj). */
function freeMu(sim: SimCore, pvolLdevId: number): number {
  const used = new Set(sim.state.tiPairs.filter((p) => p.pvolLdevId === pvolLdevId).map((p) => p.muNumber));
  if (used.size >= MAX_PAIRS_PER_PVOL) {
    throw ssbError(
      "MAX_SNAPSHOTS_PER_PVOL",
      `P-VOL ${pvolLdevId} already has ${MAX_PAIRS_PER_PVOL} snapshots.`,
    );
  }
  for (let mu = 0; mu <= MAX_MU; mu++) if (!used.has(mu)) return mu;
  throw ssbError("MAX_SNAPSHOTS_PER_PVOL", `P-VOL ${pvolLdevId} has no free MU number.`);
}

/** A create naming a pair that exists: a no-op when the matrix says YN and it is the same pair. */
function sameRequest(pair: TiPairState, body: CreateBody): boolean {
  return (
    pair.snapshotGroupName === body.snapshotGroupName &&
    pair.snapshotPoolId === body.snapshotPoolId &&
    pair.svolLdevId === body.svolLdevId &&
    pair.isClone === body.isClone
  );
}

function newPair(sim: SimCore, body: CreateBody, mu: number, consistencyGroupId?: number): TiPairState {
  const now = sim.clock.now();
  // After COPY: PAIR, or straight on to the split (autoSplit) or the clone (clonesAutomation).
  const next = body.autoSplit ? "PSUS" : body.clonesAutomation ? "PSUP" : "PAIR";
  return {
    pvolLdevId: body.pvolLdevId,
    muNumber: mu,
    ...(body.svolLdevId === undefined ? {} : { svolLdevId: body.svolLdevId }),
    snapshotGroupName: body.snapshotGroupName,
    snapshotPoolId: body.snapshotPoolId,
    isConsistencyGroup: body.isConsistencyGroup,
    ...(consistencyGroupId === undefined ? {} : { consistencyGroupId }),
    isClone: body.isClone,
    canCascade: body.canCascade ?? body.isClone,
    clonesAutomation: body.clonesAutomation,
    copySpeed: body.copySpeed ?? "medium",
    status: "COPY",
    pending: { to: next, from: now, at: now + sim.config.timings.tiPairCreateMs },
    isWrittenInSvol: false,
    hasSnapshotData: false,
    createdTime: isoSeconds(now),
  };
}

export async function createPair(ctx: RequestContext): Promise<JobResult> {
  const { sim } = ctx;
  const body = parseWith(createBody, dropNulls(ctx.body));
  checkCombinations(body, sim.config.maxLdevId);
  const pvol = requireLdevById(sim, body.pvolLdevId, "P-VOL");
  const svol = body.svolLdevId === undefined ? undefined : requireLdevById(sim, body.svolLdevId, "S-VOL");

  checkPool(sim, body.snapshotPoolId);
  checkPvol(sim, pvol, body);
  if (body.muNumber !== undefined) {
    const existing = findPair(sim.state, pvol.ldevId, body.muNumber);
    if (existing) {
      if (verdict(sim.state, existing, "create") === "YN" && sameRequest(existing, body)) {
        return { affected: [ctx.link("snapshots", snapshotId(existing))] };
      }
      throw ssbError("MU_IN_USE", `MU ${body.muNumber} of P-VOL ${pvol.ldevId} is in use.`);
    }
  }
  if (svol) checkSvol(sim, pvol, svol, body.isClone || body.canCascade === true);
  const mu = body.muNumber ?? freeMu(sim, pvol.ldevId);
  if (
    tiPairsOf(sim.state, pvol.ldevId).filter((p) => p.pvolLdevId === pvol.ldevId).length >= MAX_PAIRS_PER_PVOL
  ) {
    throw ssbError(
      "MAX_SNAPSHOTS_PER_PVOL",
      `P-VOL ${pvol.ldevId} already has ${MAX_PAIRS_PER_PVOL} snapshots.`,
    );
  }
  const group = groupForNewPair(sim.state, body.snapshotGroupName, body.isConsistencyGroup);

  const pair = newPair(sim, body, mu, group.consistencyGroupId);
  sim.state.tiPairs.push(pair);
  // The S-VOL reports the snapshot pool while paired (§4 `snapshotPoolId`; Cinder detects S-VOLs by it).
  if (svol) svol.snapshotPoolId = body.snapshotPoolId;
  await advance(sim, pair);
  return {
    affected: [ctx.link("snapshots", snapshotId(pair))],
    settle: () => pairSettled(sim, pair),
  };
}
