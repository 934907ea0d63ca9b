/**
 * DELETE /ldevs/{id} (§4). Clients remove LU paths and Thin Image pairs first (CIN-COMMON
 * `delete_ldev`); the array refuses otherwise, as a Failed job: LDEV_HAS_PATHS while any LU path
 * exists, LDEV_IN_PAIR while the volume is in any Thin Image or ShadowImage pair.
 */
import { z } from "zod";

import { ssbError } from "../../errors.js";
import { lunsOf } from "../../model.js";
import type { RequestContext } from "../../routing.js";
import { parseWith } from "../../routing.js";
import { dropNulls, refuseIfPaired, requireLdev } from "./common.js";

/**
 * sim: `isDataReductionDeleteForceExecute` is accepted and not required — capacity saving is
 * modeled as a setting only, so there is no reduced data that would need forcing.
 */
const deleteBody = z.preprocess(
  dropNulls,
  z.object({ isDataReductionDeleteForceExecute: z.boolean().optional() }).strict(),
);

export async function deleteLdev(ctx: RequestContext): Promise<string[]> {
  const ldev = requireLdev(ctx);
  parseWith(deleteBody, ctx.body);
  const paths = lunsOf(ctx.sim.state, ldev.ldevId);
  if (paths.length > 0) {
    const where = paths.map((p) => `${p.portId},${p.hostGroupNumber},${p.lun}`).join(" ");
    throw ssbError("LDEV_HAS_PATHS", `LDEV ${ldev.ldevId} still has LU paths: ${where}.`);
  }
  refuseIfPaired(ctx.sim, ldev, "deleted");
  // The URL is built before the LDEV goes; the data file goes last, once nothing can fail.
  const affected = ctx.link("ldevs", ldev.ldevId);
  const { [String(ldev.ldevId)]: _deleted, ...remaining } = ctx.sim.state.ldevs;
  ctx.sim.state.ldevs = remaining;
  await ctx.sim.blocks.remove(ldev.ldevId);
  return [affected];
}
