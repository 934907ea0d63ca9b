/**
 * split / resync / restore on one pair or on every pair of a copy group, and pair deletion
 * (D-SI-STATUS, D-SI-RESTORE; ANS-SI). A group operation is checked for every pair before anything
 * changes, then runs inside one job: the data copies of a group split start together, so the
 * S-VOL images of the group (a consistency group in particular) are taken at one point of the
 * array's serialized configuration work.
 */
import { z } from "zod";

import { preconditionFailed, ssbError } from "../../errors.js";
import type { SimCore } from "../../core.js";
import type { JobResult } from "../../routing.js";
import type { SiPairState, SimState } from "../../state.js";
import {
  beginCopy,
  copyLdevData,
  DEFAULT_COPY_PACE,
  isCopying,
  isQuickSplitCopying,
  quickSplit,
  settlePair,
} from "./engine.js";
import { findPair, pairIdOf, pairsOfGroup } from "./ids.js";

export const SI_ACTIONS = ["split", "resync", "restore"] as const;
export type SiAction = (typeof SI_ACTIONS)[number];

/** Clients send explicit nulls for options they leave unset (ANS-SI sends `copyPace: None`). */
export function dropNulls(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

/**
 * `{parameters: {copyPace, quickMode}}` (ANS-SI, D-SI-RESTORE). sim: `forceSuspend` (ANS-SI copy
 * group split) is the CCI forced suspension: the pairs go PSUE. Other keys Ansible sends
 * (`forceSplit`) are accepted and ignored.
 */
export const actionSchema = z.preprocess(
  dropNulls,
  z
    .object({
      copyPace: z.number().int().min(1).max(15).optional(),
      quickMode: z.boolean().default(false),
      forceSuspend: z.boolean().default(false),
    })
    .loose(),
);
export type ActionParams = z.infer<typeof actionSchema>;

type Verdict = "run" | "noop" | { refused: string };

function restoreVerdict(state: SimState, pair: SiPairState): Verdict {
  if (pair.status === "RCPY") return "noop";
  if (pair.status !== "PSUS") return { refused: `a pair in ${pair.status} cannot be restored (PSUS only)` };
  // sim: the P-VOL is overwritten, so every other pair of that P-VOL must be split first.
  const busy = state.siPairs.find(
    (p) => p !== pair && p.pvolLdevId === pair.pvolLdevId && p.status !== "PSUS" && p.status !== "PSUE",
  );
  if (busy) {
    return { refused: `P-VOL ${pair.pvolLdevId} is also in pair ${pairIdOf(busy)} (${busy.status})` };
  }
  return "run";
}

/**
 * A pair split during its copy (GUI COPY(SP)): it shows COPY until the copy time is over, but its
 * S-VOL image is already fixed. Splitting it again does nothing, as splitting PSUS does (D-SI-STATUS):
 * a second split cannot take a newer image without a resync.
 */
function splitDuringCopy(pair: SiPairState): boolean {
  return pair.status === "COPY" && pair.pending?.to === "PSUS" && pair.copyOnArrival !== true;
}

/**
 * D-SI-STATUS: splitting PSUS, or resyncing COPY/PAIR/RCPY, succeeds and does nothing; PSUE allows
 * only resync and delete; RCPY cannot be split; restore needs PSUS.
 */
function verdict(state: SimState, action: SiAction, pair: SiPairState, params: ActionParams): Verdict {
  const status = pair.status;
  switch (action) {
    case "split":
      if (params.forceSuspend) return status === "PSUE" ? "noop" : "run";
      if (status === "PSUS" || splitDuringCopy(pair)) return "noop";
      if (status === "PAIR" || status === "COPY") return "run";
      return { refused: `a pair in ${status} cannot be split` };
    case "resync":
      return status === "PSUS" || status === "PSUE" ? "run" : "noop";
    case "restore":
      return restoreVerdict(state, pair);
  }
}

function firstRefusal(
  state: SimState,
  action: SiAction,
  pairs: SiPairState[],
  params: ActionParams,
): string | undefined {
  for (const pair of pairs) {
    const v = verdict(state, action, pair, params);
    if (typeof v === "object") return `Pair ${pairIdOf(pair)}: ${v.refused}.`;
  }
  if (action === "restore") {
    const pvols = pairs.map((p) => p.pvolLdevId);
    const twice = pvols.find((id, i) => pvols.indexOf(id) !== i);
    if (twice !== undefined) return `P-VOL ${twice} is in more than one pair of the group.`;
  }
  return undefined;
}

/** GET on an action URL: the body template, or 412 when the action cannot run now (§0). */
export function actionTemplate(state: SimState, action: SiAction, pairs: SiPairState[]): unknown {
  const refusal = firstRefusal(state, action, pairs, { quickMode: false, forceSuspend: false });
  if (refusal) throw preconditionFailed(`The ${action} operation cannot run now. ${refusal}`);
  return { parameters: { copyPace: pairs[0]?.copyPace ?? DEFAULT_COPY_PACE, quickMode: false } };
}

async function split(sim: SimCore, pair: SiPairState, params: ActionParams): Promise<void> {
  if (params.forceSuspend) {
    settlePair(pair, "PSUE");
    return;
  }
  // The S-VOL image is the P-VOL at the split.
  await copyLdevData(sim, pair.pvolLdevId, pair.svolLdevId);
  if (params.quickMode && pair.status === "COPY" && pair.pending) {
    // Quick split during the copy: PSUS(SP) until the copy the array still owes is done.
    quickSplit(sim, pair, pair.pending.at);
    return;
  }
  if (pair.status === "PAIR" || params.quickMode || !pair.pending) {
    settlePair(pair, "PSUS");
    return;
  }
  // Split during COPY (GUI COPY(SP), D-HTI-UG): the pair shows COPY until the copy time is over.
  pair.pending.to = "PSUS";
  delete pair.copyOnArrival;
}

async function resync(sim: SimCore, pair: SiPairState, params: ActionParams): Promise<void> {
  if (params.quickMode) {
    // Quick resync: PAIR at once; the difference is copied in the background on the array.
    await copyLdevData(sim, pair.pvolLdevId, pair.svolLdevId);
    settlePair(pair, "PAIR");
    return;
  }
  await beginCopy(sim, pair, {
    status: "COPY",
    kind: "resync",
    to: "PAIR",
    copyOnArrival: true,
    sourceLdevId: pair.pvolLdevId,
  });
}

async function restore(sim: SimCore, pair: SiPairState, params: ActionParams): Promise<void> {
  await copyLdevData(sim, pair.svolLdevId, pair.pvolLdevId);
  if (params.quickMode) {
    // Quick restore exchanges the volumes' data at once and the pair is PAIR.
    settlePair(pair, "PAIR");
    return;
  }
  await beginCopy(sim, pair, {
    status: "RCPY",
    kind: "restore",
    to: "PAIR",
    copyOnArrival: false,
    sourceLdevId: pair.svolLdevId,
  });
}

async function runOne(
  sim: SimCore,
  action: SiAction,
  pair: SiPairState,
  params: ActionParams,
): Promise<void> {
  if (params.copyPace !== undefined) pair.copyPace = params.copyPace;
  switch (action) {
    case "split":
      return split(sim, pair, params);
    case "resync":
      return resync(sim, pair, params);
    case "restore":
      return restore(sim, pair, params);
  }
}

/**
 * Runs an action on pairs (one, or a whole group). Refused as a Failed job (PAIR_STATUS_FORBIDS)
 * when any pair's status forbids it, before anything changes.
 */
export async function runAction(
  sim: SimCore,
  action: SiAction,
  pairs: SiPairState[],
  params: ActionParams,
): Promise<void> {
  const refusal = firstRefusal(sim.state, action, pairs, params);
  if (refusal) throw ssbError("PAIR_STATUS_FORBIDS", refusal);
  const run = pairs.filter((p) => verdict(sim.state, action, p, params) === "run");
  await Promise.all(run.map((p) => runOne(sim, action, p, params)));
}

/**
 * Deletes pairs (→ SMPL). Both volumes keep their data. A pair deleted in PAIR leaves the S-VOL
 * holding the P-VOL's data (the mirror it was). sim: a pair deleted during COPY/RCPY or in PSUE
 * leaves the written volume as it is, one of the "not guaranteed" outcomes: the S-VOL keeps what
 * it held before (or at the last split); after an accepted restore the P-VOL holds the S-VOL data.
 * A copy group goes with its last pair, as a CCI device group does with its last LDEV.
 */
export async function deletePairs(sim: SimCore, pairs: SiPairState[]): Promise<void> {
  const copying = pairs.find(isQuickSplitCopying);
  if (copying) {
    throw ssbError(
      "PAIR_STATUS_FORBIDS",
      `Pair ${pairIdOf(copying)} is in PSUS(SP): the copy of its quick split is still running; delete it when it completes.`,
    );
  }
  const mirrored = pairs.filter((p) => p.status === "PAIR");
  await Promise.all(mirrored.map((p) => copyLdevData(sim, p.pvolLdevId, p.svolLdevId)));
  const gone = new Set(pairs);
  const state = sim.state;
  state.siPairs = state.siPairs.filter((p) => !gone.has(p));
  state.siCopyGroups = state.siCopyGroups.filter((g) => pairsOfGroup(state, g).length > 0);
}

/**
 * The job's outcome: without NoWait it ends only when the copies it started or met have ended
 * (D-SI-RESTORE; ANS-SI sends NoWait and follows the pair status instead).
 */
export function pairJobResult(sim: SimCore, affected: string[], pairs: SiPairState[]): string[] | JobResult {
  const ids = pairs.map(pairIdOf);
  const copying = () =>
    ids.some((id) => {
      const pair = findPair(sim.state, id);
      return pair !== undefined && isCopying(pair);
    });
  return copying() ? { affected, settle: () => !copying() } : affected;
}
