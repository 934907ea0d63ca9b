/**
 * PATCH (legacy PUT, which Cinder sends) /ldevs/{id} (§4): label and the volume's settings.
 * Bad values are refused by the REST server (400, no job); what the storage refuses (no pages for
 * full allocation) ends as a Failed job.
 */
import { z } from "zod";

import { invalidParameter, preconditionFailed } from "../../errors.js";
import { findPool, ldevBytes } from "../../model.js";
import type { RequestContext } from "../../routing.js";
import { parseWith } from "../../routing.js";
import { ldevUsedPages, pagesFor } from "../pool-usage.js";
import { checkPoolRoom, dataReductionModeSchema, dropNulls, labelSchema, requireLdev } from "./common.js";

const patchBody = z.preprocess(
  dropNulls,
  z
    .object({
      label: labelSchema.optional(),
      dataReductionMode: dataReductionModeSchema.optional(),
      dataReductionProcessMode: z.enum(["inline", "post_process"]).optional(),
      isAluaEnabled: z.boolean().optional(),
      isFullAllocationEnabled: z.boolean().optional(),
      // Accepted and without effect: the simulator does no compression.
      isCompressionAccelerationEnabled: z.boolean().optional(),
    })
    .strict(),
);

export async function modifyLdev(ctx: RequestContext): Promise<string[]> {
  const ldev = requireLdev(ctx);
  const body = parseWith(patchBody, ctx.body);
  const keys = Object.keys(body);
  if (keys.length === 0) throw invalidParameter("body", "specify at least one attribute to change");
  if (body.dataReductionProcessMode !== undefined) {
    // §4: dataReductionProcessMode is changed on its own.
    if (keys.length > 1) {
      throw invalidParameter("dataReductionProcessMode", "must be the only attribute of the request");
    }
    if (ldev.dataReductionMode === "disabled") {
      throw preconditionFailed(`Capacity saving is disabled on LDEV ${ldev.ldevId}.`);
    }
    ldev.dataReductionProcessMode = body.dataReductionProcessMode;
  }
  if (body.isFullAllocationEnabled === true && !ldev.isFullAllocationEnabled) {
    const pool = findPool(ctx.sim.state, ldev.poolId);
    if (pool) {
      const page = ctx.sim.config.pageSizeBytes;
      const needed = pagesFor(ldevBytes(ldev), page) - (await ldevUsedPages(ctx.sim, ldev));
      await checkPoolRoom(ctx.sim, pool, Math.max(0, needed));
    }
  }
  if (body.label !== undefined) ldev.label = body.label;
  if (body.dataReductionMode !== undefined) {
    // sim: the change is immediate (a real array passes through ENABLING / REHYDRATING).
    ldev.dataReductionMode = body.dataReductionMode;
    if (body.dataReductionMode === "disabled") delete ldev.dataReductionProcessMode;
  }
  if (body.isAluaEnabled !== undefined) ldev.isAluaEnabled = body.isAluaEnabled;
  if (body.isFullAllocationEnabled !== undefined) ldev.isFullAllocationEnabled = body.isFullAllocationEnabled;
  return [ctx.link("ldevs", ldev.ldevId)];
}
