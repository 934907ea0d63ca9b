/**
 * POST /local-clone-copypairs: creates a ShadowImage pair, and with `isNewGroupCreation` its copy
 * group (ANS-SI; D-SI-LIST). What the REST server can judge from the body alone is answered 400;
 * what needs the array's configuration is refused as a Failed job with SSB codes (§2, §3).
 */
import { z } from "zod";

import { isoSeconds } from "../../clock.js";
import type { SimCore } from "../../core.js";
import { invalidParameter, ssbError } from "../../errors.js";
import { findLdev, ldevBytes, siPairsOf, tiPairsOf } from "../../model.js";
import type { JobResult, RequestContext } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { SiCopyGroupState, SiPairState, SimState } from "../../state.js";
import {
  beginCopy,
  copyDurationMs,
  copyLdevData,
  DEFAULT_COPY_PACE,
  quickSplit,
  settlePair,
} from "./engine.js";
import { PAIRS_PATH, pairIdOf, pairsOfGroup, sameGroup, SI_NAME_MAX, SI_NAME_PATTERN } from "./ids.js";
import { dropNulls, pairJobResult } from "./operations.js";

const name = z.string().min(1).max(SI_NAME_MAX).regex(SI_NAME_PATTERN, "alphanumerics and - . : @ _ only");

/** CTG ids ShadowImage may use (D-TI-GROUPS: SI uses 0-127). */
const SI_MAX_CTG_ID = 127;
/** D-SI-STATUS / ANS-SI `get_pvol_mu_number`: at most 3 SI pairs per P-VOL, MU 0-2. */
const SI_MAX_MU = 2;

const createSchema = z.preprocess(
  dropNulls,
  z
    .object({
      copyGroupName: name,
      copyPairName: name,
      replicationType: z.string(),
      pvolLdevId: z.number().int().min(0),
      svolLdevId: z.number().int().min(0),
      pvolDeviceGroupName: name,
      svolDeviceGroupName: name,
      // sim: absent = false (ANS-SI always sends it).
      isNewGroupCreation: z.boolean().default(false),
      copyPace: z.number().int().min(1).max(15).default(DEFAULT_COPY_PACE),
      autoSplit: z.boolean().default(false),
      pvolMuNumber: z.number().int().min(0).max(SI_MAX_MU).optional(),
      isConsistencyGroup: z.boolean().optional(),
      consistencyGroupId: z.number().int().min(0).max(SI_MAX_CTG_ID).optional(),
      quickMode: z.boolean().default(false),
      isDataReductionForceCopy: z.boolean().default(false),
      copyMode: z.string().optional(),
    })
    .strict(),
);
type CreateBody = z.infer<typeof createSchema>;

/** Checks the REST server makes on the body alone (400). */
function checkRequest(sim: SimCore, body: CreateBody): void {
  if (body.replicationType !== "SI") throw invalidParameter("replicationType", "must be SI");
  const max = sim.config.maxLdevId;
  if (body.pvolLdevId > max) throw invalidParameter("pvolLdevId", `must be an integer from 0 to ${max}`);
  if (body.svolLdevId > max) throw invalidParameter("svolLdevId", `must be an integer from 0 to ${max}`);
  if (body.pvolLdevId === body.svolLdevId)
    throw invalidParameter("svolLdevId", "must differ from pvolLdevId");
  if (body.copyMode !== undefined && body.copyMode !== "NotSynchronized") {
    throw invalidParameter("copyMode", "must be NotSynchronized");
  }
  if (body.isConsistencyGroup === false && body.consistencyGroupId !== undefined) {
    throw invalidParameter("consistencyGroupId", "only with isConsistencyGroup");
  }
}

function checkVolumes(sim: SimCore, body: CreateBody): void {
  const state = sim.state;
  const pvol = findLdev(state, body.pvolLdevId);
  if (!pvol) throw ssbError("SI_LDEV_UNDEFINED", `The P-VOL LDEV ${body.pvolLdevId} is not defined.`);
  const svol = findLdev(state, body.svolLdevId);
  if (!svol) throw ssbError("SI_LDEV_UNDEFINED", `The S-VOL LDEV ${body.svolLdevId} is not defined.`);
  if (ldevBytes(pvol) !== ldevBytes(svol)) {
    throw ssbError(
      "SI_CAPACITY_MISMATCH",
      `The P-VOL (${pvol.blockCapacity} blocks) and the S-VOL (${svol.blockCapacity} blocks) differ in size.`,
    );
  }
  if (siPairsOf(state, svol.ldevId).length > 0 || tiPairsOf(state, svol.ldevId).length > 0) {
    throw ssbError("LDEV_IN_PAIR", `The S-VOL LDEV ${svol.ldevId} is already in a pair.`);
  }
  // sim: cascaded ShadowImage (an S-VOL as the P-VOL of a second-level pair) is not simulated.
  if (state.siPairs.some((p) => p.svolLdevId === pvol.ldevId)) {
    throw ssbError("LDEV_IN_PAIR", `The P-VOL LDEV ${pvol.ldevId} is the S-VOL of a ShadowImage pair.`);
  }
  const reduced = pvol.dataReductionMode !== "disabled" || svol.dataReductionMode !== "disabled";
  if (reduced && !body.isDataReductionForceCopy) {
    throw ssbError("SI_FORCE_COPY_REQUIRED", "Capacity saving is enabled: specify isDataReductionForceCopy.");
  }
  if (sim.faults.isPoolFull(svol.poolId)) {
    throw ssbError("POOL_FULL", `Pool ${svol.poolId} of the S-VOL has no free capacity.`);
  }
}

/** CTG ids in use by any copy group or snapshot group (SI and TI share the CTG numbers). */
function usedCtgIds(state: SimState): Set<number> {
  const ids = [
    ...state.siCopyGroups.map((g) => g.consistencyGroupId),
    ...state.snapshotGroups.map((g) => g.consistencyGroupId),
    ...state.tiPairs.map((p) => p.consistencyGroupId),
  ];
  return new Set(ids.filter((id): id is number => id !== undefined));
}

function newGroupCtg(
  state: SimState,
  body: CreateBody,
): Pick<SiCopyGroupState, "isConsistencyGroup" | "consistencyGroupId"> {
  // ANS-SI: a consistencyGroupId alone means a consistency group.
  if (!(body.isConsistencyGroup ?? body.consistencyGroupId !== undefined))
    return { isConsistencyGroup: false };
  const used = usedCtgIds(state);
  if (body.consistencyGroupId !== undefined) {
    if (used.has(body.consistencyGroupId)) {
      throw ssbError("SI_CTG_CONFLICT", `Consistency group ${body.consistencyGroupId} is in use.`);
    }
    return { isConsistencyGroup: true, consistencyGroupId: body.consistencyGroupId };
  }
  for (let id = 0; id <= SI_MAX_CTG_ID; id++) {
    if (!used.has(id)) return { isConsistencyGroup: true, consistencyGroupId: id };
  }
  throw ssbError("MAX_CTG_EXCEEDED", `All consistency group ids 0-${SI_MAX_CTG_ID} are in use.`);
}

function existingGroup(state: SimState, body: CreateBody): SiCopyGroupState {
  const group = state.siCopyGroups.find((g) => sameGroup(g, body));
  if (!group) {
    throw ssbError(
      "SI_GROUP_NOT_FOUND",
      `Copy group ${body.copyGroupName} (${body.pvolDeviceGroupName}, ${body.svolDeviceGroupName}) does not exist.`,
    );
  }
  const ctgDiffers =
    (body.isConsistencyGroup !== undefined && body.isConsistencyGroup !== group.isConsistencyGroup) ||
    (body.consistencyGroupId !== undefined && body.consistencyGroupId !== group.consistencyGroupId);
  if (ctgDiffers) {
    throw ssbError(
      "SI_CTG_CONFLICT",
      `The consistency group settings differ from copy group ${group.copyGroupName}.`,
    );
  }
  if (pairsOfGroup(state, group).some((p) => p.copyPairName === body.copyPairName)) {
    throw ssbError("SI_PAIR_NAME_IN_USE", `Copy pair ${body.copyPairName} exists in ${group.copyGroupName}.`);
  }
  return group;
}

/** The group the pair goes into; a new one is returned but not yet added to the state. */
function resolveGroup(state: SimState, body: CreateBody): { group: SiCopyGroupState; isNew: boolean } {
  if (!body.isNewGroupCreation) return { group: existingGroup(state, body), isNew: false };
  if (state.siCopyGroups.some((g) => g.copyGroupName === body.copyGroupName)) {
    throw ssbError("SI_GROUP_EXISTS", `Copy group ${body.copyGroupName} already exists.`);
  }
  const group: SiCopyGroupState = {
    copyGroupName: body.copyGroupName,
    pvolDeviceGroupName: body.pvolDeviceGroupName,
    svolDeviceGroupName: body.svolDeviceGroupName,
    ...newGroupCtg(state, body),
  };
  return { group, isNew: true };
}

function chooseMu(state: SimState, body: CreateBody): number {
  const used = new Set(
    state.siPairs.filter((p) => p.pvolLdevId === body.pvolLdevId).map((p) => p.pvolMuNumber),
  );
  if (body.pvolMuNumber !== undefined) {
    if (used.has(body.pvolMuNumber)) {
      throw ssbError("MU_IN_USE", `MU ${body.pvolMuNumber} of P-VOL ${body.pvolLdevId} is in use.`);
    }
    return body.pvolMuNumber;
  }
  for (let mu = 0; mu <= SI_MAX_MU; mu++) if (!used.has(mu)) return mu;
  throw ssbError("MU_IN_USE", `P-VOL ${body.pvolLdevId} already has ${SI_MAX_MU + 1} ShadowImage pairs.`);
}

async function startInitialCopy(sim: SimCore, pair: SiPairState, body: CreateBody): Promise<void> {
  if (body.copyMode === "NotSynchronized") {
    // sim: a pair for migration is made without the initial copy (ANS-SI `create_for_migration`).
    settlePair(pair, "PAIR");
    return;
  }
  if (body.autoSplit && body.quickMode) {
    // Quick split right at creation: the S-VOL image is the P-VOL now and R/W at once; the initial
    // copy runs on in the background (PSUS(SP)).
    await copyLdevData(sim, pair.pvolLdevId, pair.svolLdevId);
    const allocated = await sim.blocks.allocatedBytes(sim.blocks.ldevPath(pair.pvolLdevId));
    quickSplit(sim, pair, sim.clock.now() + copyDurationMs(sim, allocated, pair.copyPace));
    return;
  }
  // sim: quickMode without autoSplit has nothing to make quick and is ignored (ANS-SI refuses it).
  await beginCopy(sim, pair, {
    status: "COPY",
    kind: "initial",
    // autoSplit: split when the initial copy ends, so the image is the P-VOL at that moment.
    to: body.autoSplit ? "PSUS" : "PAIR",
    copyOnArrival: true,
    sourceLdevId: pair.pvolLdevId,
  });
}

export async function createPair(ctx: RequestContext): Promise<string[] | JobResult> {
  const body = parseWith(createSchema, ctx.body);
  const { sim } = ctx;
  checkRequest(sim, body);
  checkVolumes(sim, body);
  const state = sim.state;
  const { group, isNew } = resolveGroup(state, body);
  const pair: SiPairState = {
    copyGroupName: body.copyGroupName,
    pvolDeviceGroupName: body.pvolDeviceGroupName,
    svolDeviceGroupName: body.svolDeviceGroupName,
    copyPairName: body.copyPairName,
    pvolLdevId: body.pvolLdevId,
    svolLdevId: body.svolLdevId,
    pvolMuNumber: chooseMu(state, body),
    copyPace: body.copyPace,
    status: "COPY",
    copyKind: "initial",
    ...(group.consistencyGroupId === undefined ? {} : { consistencyGroupId: group.consistencyGroupId }),
    createdTime: isoSeconds(sim.clock.now()),
  };
  if (isNew) state.siCopyGroups.push(group);
  state.siPairs.push(pair);
  await startInitialCopy(sim, pair, body);
  return pairJobResult(sim, [ctx.link(PAIRS_PATH, pairIdOf(pair))], [pair]);
}
