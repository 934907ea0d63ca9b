/**
 * Pair actions (§5): `POST|PUT .../snapshots/{pvol},{mu}/actions/<x>/invoke` for split, resync,
 * restore, clone, assign-volume and unassign-volume, each with its `GET .../actions/<x>` template,
 * and `DELETE .../snapshots/{pvol},{mu}`. Every operation is first judged by the operation/status
 * matrix (matrix.ts): N → 412 on both the template and the request (D-TI-SPLIT, D-TI-CLONE), YN →
 * the job succeeds and nothing changes, Y → executed. Snapshot groups reuse the same operations.
 */
import { z } from "zod";

import type { SimCore } from "../../core.js";
import { ssbError } from "../../errors.js";
import type { ActionSpec, JobResult, RequestContext, RouteTable } from "../../routing.js";
import { actionParameters } from "../../routing.js";
import type { SimState, TiPairState } from "../../state.js";
import type { CopySpeed } from "./common.js";
import { pairsBelow, refused, requireLdevById, requirePair, snapshotId } from "./common.js";
import { saveSvolIntoImage, showImageOnSvol } from "./data.js";
import type { Operation } from "./matrix.js";
import { cascadeCloneCopying, verdict } from "./matrix.js";
import { checkSvol, copySpeedSchema } from "./pairs.js";
import type { PairRef } from "./transitions.js";
import {
  advance,
  beginDelete,
  beginRestore,
  beginResync,
  pairGone,
  pairSettled,
  splitPairs,
  startClone,
} from "./transitions.js";

/** An operation that applies to one pair or to every pair of a snapshot group. */
export interface PairOperation<P> {
  op: Extract<Operation, "split" | "resync" | "restore" | "clone">;
  template: Record<string, unknown>;
  parse(body: unknown): P;
  run(sim: SimCore, pairs: TiPairState[], params: P): Promise<void>;
}

const autoSplitParams = z.object({ autoSplit: z.boolean().default(false) }).loose();
const cloneParams = z.object({ copySpeed: copySpeedSchema.optional() }).loose();
const assignParams = z.object({ svolLdevId: z.number().int().min(0) }).loose();

/** Split: the pairs' images are taken together in this one job (D-TI-SPLIT, D-TI-GROUPS). */
export const SPLIT: PairOperation<undefined> = {
  op: "split",
  template: {},
  parse: () => undefined,
  run: (sim, pairs) => splitPairs(sim, pairs),
};

export const RESYNC: PairOperation<{ autoSplit: boolean }> = {
  op: "resync",
  template: { autoSplit: false },
  parse: (body) => actionParameters(autoSplitParams, body),
  run: async (sim, pairs, { autoSplit }) => {
    for (const pair of pairs) await beginResync(sim, pair, autoSplit);
  },
};

export const RESTORE: PairOperation<{ autoSplit: boolean }> = {
  op: "restore",
  template: { autoSplit: false },
  parse: (body) => actionParameters(autoSplitParams, body),
  run: async (sim, pairs, { autoSplit }) => {
    for (const pair of pairs) await beginRestore(sim, pair, autoSplit);
  },
};

export const CLONE: PairOperation<{ copySpeed: CopySpeed }> = {
  op: "clone",
  template: { copySpeed: "medium" },
  parse: (body) => ({ copySpeed: actionParameters(cloneParams, body).copySpeed ?? "medium" }),
  run: async (sim, pairs, { copySpeed }) => {
    for (const pair of pairs) await startClone(sim, pair, copySpeed);
  },
};

/** Why the pair refuses, beyond its own status: the cascade interaction of matrix.ts. */
function reasonOf(state: SimState, pairs: TiPairState[]): string {
  const blocker = pairs.map((p) => cascadeCloneCopying(state, p)).find((b) => b !== undefined);
  return blocker ? `; clone pair ${snapshotId(blocker)} is copying from its S-VOL` : "";
}

/** 412 when any of the pairs refuses the operation. */
export function requireAllowed(state: SimState, pairs: TiPairState[], op: Operation): void {
  const refusing = pairs.filter((p) => verdict(state, p, op) === "N");
  if (refusing.length > 0) throw refused(op, refusing, reasonOf(state, refusing));
}

function refOf(pair: TiPairState): PairRef {
  return { pvolLdevId: pair.pvolLdevId, muNumber: pair.muNumber, createdTime: pair.createdTime };
}

/** Runs the operation on the pairs the matrix says Y for; YN pairs are left as they are. */
export async function runOnPairs<P>(
  sim: SimCore,
  def: PairOperation<P>,
  pairs: TiPairState[],
  params: P,
  affected: string,
): Promise<JobResult> {
  requireAllowed(sim.state, pairs, def.op);
  const doing = pairs.filter((p) => verdict(sim.state, p, def.op) === "Y");
  if (doing.length > 0) await def.run(sim, doing, params);
  for (const pair of doing) await advance(sim, pair);
  const refs = doing.map(refOf);
  return { affected: [affected], settle: () => refs.every((r) => pairSettled(sim, r)) };
}

function pairAction<P>(def: PairOperation<P>): ActionSpec {
  return {
    template: (ctx) => {
      requireAllowed(ctx.sim.state, [requirePair(ctx)], def.op);
      return { parameters: def.template };
    },
    invoke: (ctx) => {
      const pair = requirePair(ctx);
      const params = def.parse(ctx.body);
      return runOnPairs(ctx.sim, def, [pair], params, ctx.link("snapshots", snapshotId(pair)));
    },
  };
}

/**
 * sim: a pair whose S-VOL is the P-VOL of further pairs is not deleted (nor its S-VOL unassigned)
 * while they exist — the lower layer would lose its source; the snapshot-tree delete service is the
 * documented way to remove a whole cascade (D-TI-TREE). Lower pairs already being deleted (SMPP)
 * do not count.
 */
function refuseIfCascadeBelow(state: SimState, pair: TiPairState): void {
  if (pair.svolLdevId === undefined) return;
  const below = pairsBelow(state, pair.svolLdevId).filter((p) => p.status !== "SMPP");
  if (below.length > 0) {
    throw ssbError(
      "LDEV_IN_PAIR",
      `S-VOL ${pair.svolLdevId} of pair ${snapshotId(pair)} is the P-VOL of ${below.length} cascaded pair(s).`,
    );
  }
}

/** Delete (D-TI-DELETE): the job ends when the pairs are gone (after SMPP for cascade pairs). */
export async function deletePairs(sim: SimCore, pairs: TiPairState[], affected: string): Promise<JobResult> {
  requireAllowed(sim.state, pairs, "delete");
  const doing = pairs.filter((p) => verdict(sim.state, p, "delete") === "Y");
  for (const pair of doing) refuseIfCascadeBelow(sim.state, pair);
  for (const pair of doing) await beginDelete(sim, pair);
  for (const pair of doing) await advance(sim, pair);
  const refs = pairs.map(refOf);
  return { affected: [affected], settle: () => refs.every((r) => pairGone(sim, r)) };
}

/** assign-volume: a DP-VOL of the P-VOL's size starts showing the snapshot image (requires PSUS). */
async function assignVolume(ctx: RequestContext): Promise<string[]> {
  const { sim } = ctx;
  const pair = requirePair(ctx);
  const { svolLdevId } = actionParameters(assignParams, ctx.body);
  requireAllowed(sim.state, [pair], "assign-volume");
  if (pair.svolLdevId !== undefined) {
    throw refused("assign-volume", [pair], `; S-VOL ${pair.svolLdevId} is already assigned`);
  }
  const pvol = requireLdevById(sim, pair.pvolLdevId, "P-VOL");
  const svol = requireLdevById(sim, svolLdevId, "S-VOL");
  checkSvol(sim, pvol, svol, pair.canCascade);
  pair.svolLdevId = svol.ldevId;
  svol.snapshotPoolId = pair.snapshotPoolId;
  await showImageOnSvol(sim, pair);
  return [ctx.link("snapshots", snapshotId(pair))];
}

/** unassign-volume: the S-VOL leaves the pair; what was written on it stays snapshot data. */
async function unassignVolume(ctx: RequestContext): Promise<string[]> {
  const { sim } = ctx;
  const pair = requirePair(ctx);
  requireAllowed(sim.state, [pair], "unassign-volume");
  const svolId = pair.svolLdevId;
  if (svolId === undefined) throw refused("unassign-volume", [pair], "; no S-VOL is assigned");
  refuseIfCascadeBelow(sim.state, pair);
  await saveSvolIntoImage(sim, pair);
  delete pair.svolLdevId;
  delete pair.svolMtimeMs;
  const svol = requireLdevById(sim, svolId, "S-VOL");
  delete svol.snapshotPoolId;
  return [ctx.link("snapshots", snapshotId(pair))];
}

export function registerPairActions(routes: RouteTable): void {
  const base = "/snapshots/:snapshotId/actions";
  routes.action(`${base}/split`, pairAction(SPLIT));
  routes.action(`${base}/resync`, pairAction(RESYNC));
  routes.action(`${base}/restore`, pairAction(RESTORE));
  routes.action(`${base}/clone`, pairAction(CLONE));
  const guarded = (op: Operation, parameters: Record<string, unknown>) => (ctx: RequestContext) => {
    requireAllowed(ctx.sim.state, [requirePair(ctx)], op);
    return { parameters };
  };
  routes.action(`${base}/assign-volume`, {
    template: guarded("assign-volume", { svolLdevId: null }),
    invoke: assignVolume,
  });
  routes.action(`${base}/unassign-volume`, {
    template: guarded("unassign-volume", {}),
    invoke: unassignVolume,
  });
  routes.remove("/snapshots/:snapshotId", (ctx) => {
    const pair = requirePair(ctx);
    return deletePairs(ctx.sim, [pair], ctx.link("snapshots", snapshotId(pair)));
  });
}
