/**
 * LDEV actions (§4), each `GET .../actions/<x>` (template) and `POST|PUT .../actions/<x>/invoke`
 * (job): expand, set-qos, format, discard-zero-page, change-status.
 */
import { z } from "zod";

import { BLOCK_SIZE } from "../../config.js";
import type { SimCore } from "../../core.js";
import { invalidParameter, ssbError } from "../../errors.js";
import { findPool, ldevBytes, siPairsOf, tiPairsOf } from "../../model.js";
import type { RequestContext, RouteTable } from "../../routing.js";
import { actionParameters } from "../../routing.js";
import type { LdevState, QosKey } from "../../state.js";
import { pagesFor } from "../pool-usage.js";
import {
  checkCapacity,
  checkPoolRoom,
  dropNulls,
  parseByteFormat,
  refuseIfPaired,
  requireLdev,
  sizingFile,
} from "./common.js";

const expandParameters = z.preprocess(
  dropNulls,
  z
    .object({
      additionalByteFormatCapacity: z.string().optional(),
      additionalBlockCapacity: z.number().int().min(1).optional(),
      enhancedExpansion: z.boolean().optional(),
    })
    .strict(),
);

function additionalBlocks(p: z.infer<typeof expandParameters>): number {
  if (p.additionalByteFormatCapacity !== undefined && p.additionalBlockCapacity !== undefined) {
    throw invalidParameter("parameters.additionalBlockCapacity", "give one of the two capacities, not both");
  }
  if (p.additionalByteFormatCapacity !== undefined) {
    return parseByteFormat(p.additionalByteFormatCapacity, "parameters.additionalByteFormatCapacity");
  }
  if (p.additionalBlockCapacity !== undefined) return p.additionalBlockCapacity;
  throw invalidParameter("parameters", "give additionalByteFormatCapacity or additionalBlockCapacity");
}

/**
 * A volume in copy pairs grows only with `enhancedExpansion: true`, and then only when every pair
 * it is in is split (§4, NOTES pp.229–231). sim: "split" = Thin Image PSUS/PFUS, ShadowImage PSUS;
 * anything else fails LDEV_IN_PAIR. (All LDEVs here are DP-VOLs, so the documented 412 for
 * non-DP volumes cannot arise.)
 */
function checkExpandPairs(sim: SimCore, ldev: LdevState, enhanced: boolean): void {
  const ti = tiPairsOf(sim.state, ldev.ldevId);
  const si = siPairsOf(sim.state, ldev.ldevId);
  if (ti.length + si.length === 0) return;
  const allSplit =
    ti.every((p) => p.status === "PSUS" || p.status === "PFUS") && si.every((p) => p.status === "PSUS");
  if (enhanced && allSplit) return;
  throw ssbError(
    "LDEV_IN_PAIR",
    enhanced
      ? `LDEV ${ldev.ldevId} is in a copy pair that is not split.`
      : `LDEV ${ldev.ldevId} is in a copy pair; expanding it needs enhancedExpansion and split pairs.`,
  );
}

async function expand(ctx: RequestContext): Promise<string[]> {
  const { sim } = ctx;
  const ldev = requireLdev(ctx);
  const params = actionParameters(expandParameters, ctx.body);
  const added = additionalBlocks(params);
  checkExpandPairs(sim, ldev, params.enhancedExpansion === true);
  const blocks = ldev.blockCapacity + added;
  const bytes = blocks * BLOCK_SIZE;
  checkCapacity(bytes);
  const pool = findPool(sim.state, ldev.poolId);
  if (pool) {
    const page = sim.config.pageSizeBytes;
    const needed = ldev.isFullAllocationEnabled ? pagesFor(bytes, page) - pagesFor(ldevBytes(ldev), page) : 0;
    await checkPoolRoom(sim, pool, needed);
  }
  await sizingFile(bytes, () => sim.blocks.resize(ldev.ldevId, bytes));
  ldev.blockCapacity = blocks;
  return [ctx.link("ldevs", ldev.ldevId)];
}

/**
 * set-qos ranges. sim: taken from the Hitachi QoS limits (IOPS ≥ 100 upper / ≥ 10 lower,
 * MB/s 1–2,097,151, priority 1–3, alert time 1–600 s); 0 removes the setting, which is how
 * Cinder clears a key (CIN-REST `change_qos_specs`).
 */
const QOS_RANGES: Record<QosKey, readonly [number, number]> = {
  upperIops: [100, 2_147_483_647],
  upperTransferRate: [1, 2_097_151],
  lowerIops: [10, 2_147_483_647],
  lowerTransferRate: [1, 2_097_151],
  responsePriority: [1, 3],
  upperAlertAllowableTime: [1, 600],
  lowerAlertAllowableTime: [1, 600],
  responseAlertAllowableTime: [1, 600],
};

const QOS_KEYS = Object.keys(QOS_RANGES) as QosKey[];

const qosParameters = z
  .object(
    Object.fromEntries(
      QOS_KEYS.map((key) => {
        const [min, max] = QOS_RANGES[key];
        const value = z
          .number()
          .int()
          .refine((v) => v === 0 || (v >= min && v <= max), `0 (remove) or ${min}-${max}`);
        return [key, value.optional()];
      }),
    ) as Record<QosKey, z.ZodOptional<z.ZodNumber>>,
  )
  .strict();

function checkQosOrder(qos: Partial<Record<QosKey, number>>): void {
  for (const [lower, upper] of [
    ["lowerIops", "upperIops"],
    ["lowerTransferRate", "upperTransferRate"],
  ] as const) {
    const low = qos[lower];
    const high = qos[upper];
    if (low !== undefined && high !== undefined && low > high) {
      throw invalidParameter(`parameters.${lower}`, `must not exceed ${upper} (${high})`);
    }
  }
}

function setQos(ctx: RequestContext): string[] {
  const ldev = requireLdev(ctx);
  const params = actionParameters(qosParameters, ctx.body);
  const given = QOS_KEYS.filter((key) => params[key] !== undefined);
  const key = given[0];
  // §4: exactly one key per call.
  if (given.length !== 1 || key === undefined) {
    throw invalidParameter("parameters", `give exactly one of ${QOS_KEYS.join(", ")}`);
  }
  const value = params[key] ?? 0;
  const others = Object.entries(ldev.qos ?? {}).filter(([k]) => k !== key);
  const qos: Partial<Record<QosKey, number>> = Object.fromEntries(
    value === 0 ? others : [...others, [key, value]],
  );
  checkQosOrder(qos);
  ldev.qos = qos;
  return [ctx.link("ldevs", ldev.ldevId)];
}

const formatParameters = z
  .object({
    operationType: z.enum(["FMT", "QFMT"]),
    isDataReductionForceFormat: z.boolean().optional(),
  })
  .strict();

/** FMT and QFMT both leave the volume reading zeros and holding no pages: a new sparse file (same inode). */
async function format(ctx: RequestContext): Promise<string[]> {
  const ldev = requireLdev(ctx);
  actionParameters(formatParameters, ctx.body);
  refuseIfPaired(ctx.sim, ldev, "formatted");
  await ctx.sim.blocks.create(ldev.ldevId, ldevBytes(ldev));
  return [ctx.link("ldevs", ldev.ldevId)];
}

const statusParameters = z.object({ status: z.enum(["blk", "nml"]) }).strict();

function changeStatus(ctx: RequestContext): string[] {
  const ldev = requireLdev(ctx);
  const { status } = actionParameters(statusParameters, ctx.body);
  ldev.status = status === "blk" ? "BLK" : "NML";
  return [ctx.link("ldevs", ldev.ldevId)];
}

/** A template answers only for a defined LDEV (404 otherwise), like the action itself. */
function template(parameters: Record<string, unknown>) {
  return (ctx: RequestContext) => {
    requireLdev(ctx);
    return { parameters };
  };
}

export function registerLdevActions(routes: RouteTable): void {
  const base = "/ldevs/:ldevId/actions";
  routes.action(`${base}/expand`, {
    template: template({
      additionalByteFormatCapacity: null,
      additionalBlockCapacity: null,
      enhancedExpansion: false,
    }),
    invoke: expand,
  });
  routes.action(`${base}/set-qos`, {
    template: template(Object.fromEntries(QOS_KEYS.map((key) => [key, null]))),
    invoke: setQos,
  });
  routes.action(`${base}/format`, {
    template: template({ operationType: "FMT", isDataReductionForceFormat: false }),
    invoke: format,
  });
  routes.action(`${base}/discard-zero-page`, {
    template: template({}),
    // sim: pages are already released where nothing was written (the file is sparse), so there is
    // nothing to reclaim; the job succeeds, as it does on an array with no zero pages.
    invoke: (ctx) => [ctx.link("ldevs", requireLdev(ctx).ldevId)],
  });
  routes.action(`${base}/change-status`, { template: template({ status: null }), invoke: changeStatus });
}
