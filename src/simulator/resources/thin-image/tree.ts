/**
 * Snapshot-tree services (§5):
 * - `POST .../services/snapshot-tree/actions/delete/invoke {parameters:{ldevId}}` force-deletes
 *   every Thin Image pair of the cascade tree rooted at the LDEV, whatever their status; pairs
 *   below the S-VOL of a clone-attribute pair are not deleted but go PSUE (D-TI-TREE).
 * - `POST .../services/snapshot-tree/actions/delete-garbage-data/invoke {parameters:{ldevId,
 *   operationType: start|stop}}` (TF; ANS-SNAP): sim: snapshot data is never left behind here,
 *   so the job succeeds and changes nothing.
 */
import { z } from "zod";

import type { SimCore } from "../../core.js";
import { invalidParameter } from "../../errors.js";
import type { RequestContext, RouteTable } from "../../routing.js";
import { actionParameters } from "../../routing.js";
import type { TiPairState } from "../../state.js";
import { pairsBelow, requireLdevById } from "./common.js";
import { beginDelete, removePair } from "./transitions.js";

const treeParams = z.object({ ldevId: z.number().int().min(0) }).loose();
// operationType is checked after parsing, so that a missing one is reported as missing (KART20008-E).
const garbageParams = z.object({ ldevId: z.number().int().min(0), operationType: z.string() }).loose();

interface Tree {
  /** Parents before children. */
  remove: TiPairState[];
  suspend: TiPairState[];
}

/** Walks the cascade down from `ldevId`; everything below a clone's S-VOL is only suspended. */
function collect(sim: SimCore, ldevId: number, belowClone: boolean, tree: Tree, seen: Set<number>): void {
  if (seen.has(ldevId)) return; // sim: cascades cannot loop, but a damaged state file must not hang us
  seen.add(ldevId);
  for (const pair of pairsBelow(sim.state, ldevId)) {
    (belowClone ? tree.suspend : tree.remove).push(pair);
    if (pair.svolLdevId !== undefined) collect(sim, pair.svolLdevId, belowClone || pair.isClone, tree, seen);
  }
}

async function deleteTree(ctx: RequestContext): Promise<string[]> {
  const { sim } = ctx;
  const { ldevId } = actionParameters(treeParams, ctx.body);
  requireLdevById(sim, ldevId, "root");
  const tree: Tree = { remove: [], suspend: [] };
  collect(sim, ldevId, false, tree, new Set());
  for (const pair of tree.suspend) {
    pair.status = "PSUE";
    delete pair.pending;
  }
  // Deepest first, so no S-VOL is emptied while a pair below it still reads it.
  for (const pair of [...tree.remove].reverse()) {
    // Forced: no matrix, no SMPP phase; the data goes as in a normal delete.
    await beginDelete(sim, pair);
    removePair(sim, pair);
  }
  return [ctx.link("ldevs", ldevId)];
}

function deleteGarbageData(ctx: RequestContext): string[] {
  const { ldevId, operationType } = actionParameters(garbageParams, ctx.body);
  if (operationType !== "start" && operationType !== "stop") {
    throw invalidParameter("parameters.operationType", "must be start or stop");
  }
  requireLdevById(ctx.sim, ldevId, "root");
  return [ctx.link("ldevs", ldevId)];
}

export function registerTreeServices(routes: RouteTable): void {
  routes.serviceAction("/snapshot-tree/actions/delete", {
    template: () => ({ parameters: { ldevId: null } }),
    invoke: deleteTree,
  });
  routes.serviceAction("/snapshot-tree/actions/delete-garbage-data", {
    template: () => ({ parameters: { ldevId: null, operationType: "start" } }),
    invoke: deleteGarbageData,
  });
}
