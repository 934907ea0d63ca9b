/**
 * POST /ldevs (§4): a DP-VOL in an HDP pool, its data a new all-holes sparse file. The new id is
 * the last segment of the job's affectedResources[0], as every client reads it.
 */
import { z } from "zod";

import { BLOCK_SIZE } from "../../config.js";
import type { SimCore } from "../../core.js";
import { invalidParameter, missingParameter, ssbError } from "../../errors.js";
import { allocateNaa, findPool } from "../../model.js";
import type { RequestContext } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { LdevState, PoolState } from "../../state.js";
import { pagesFor } from "../pool-usage.js";
import {
  checkCapacity,
  checkPoolRoom,
  dataReductionModeSchema,
  dropNulls,
  parseByteFormat,
  sizingFile,
} from "./common.js";

const id = z.number().int();

const createBody = z.preprocess(
  dropNulls,
  z
    .object({
      poolId: z.number().int(),
      byteFormatCapacity: z.string().optional(),
      blockCapacity: z.number().int().min(1).optional(),
      ldevId: id.optional(),
      isParallelExecutionEnabled: z.boolean().optional(),
      startLdevId: id.optional(),
      endLdevId: id.optional(),
      dataReductionMode: dataReductionModeSchema.optional(),
      isDataReductionSharedVolumeEnabled: z.boolean().optional(),
      isCompressionAccelerationEnabled: z.boolean().optional(),
      isFullAllocationEnabled: z.boolean().optional(),
      emulationType: z.literal("OPEN-V").optional(),
      clprId: z.number().int().min(0).max(31).optional(),
      mpBladeId: z.number().int().min(0).max(15).optional(),
    })
    .strict(),
);

type CreateBody = z.infer<typeof createBody>;

/** Body fields of other kinds of volume, refused with a sentence rather than "unknown key". */
const UNSUPPORTED: Record<string, string> = {
  parityGroupId: "sim: only DP-VOLs are modeled (no parity groups); give poolId",
  externalParityGroupId: "sim: external volumes are not modeled; give poolId",
  // §4: `label` at creation belongs to the mainframe path; Cinder labels open volumes afterwards.
  label: "label can be given at creation only for mainframe volumes; set it with PATCH /ldevs/{id}",
};

function parseBody(ctx: RequestContext): CreateBody {
  if (ctx.body && typeof ctx.body === "object") {
    for (const [key, why] of Object.entries(UNSUPPORTED)) {
      if (key in ctx.body && (ctx.body as Record<string, unknown>)[key] !== null)
        throw invalidParameter(key, why);
    }
  }
  const body = parseWith(createBody, ctx.body);
  if (body.poolId === -1) {
    throw invalidParameter("poolId", "sim: Thin Image V-VOLs (poolId -1) are not modeled; create a DP-VOL");
  }
  return body;
}

function blocksOf(body: CreateBody): number {
  if (body.byteFormatCapacity !== undefined && body.blockCapacity !== undefined) {
    throw invalidParameter("blockCapacity", "give byteFormatCapacity or blockCapacity, not both");
  }
  if (body.byteFormatCapacity !== undefined)
    return parseByteFormat(body.byteFormatCapacity, "byteFormatCapacity");
  if (body.blockCapacity !== undefined) return body.blockCapacity;
  throw missingParameter("byteFormatCapacity");
}

function inRange(value: number, name: string, max: number): number {
  if (value < 0 || value > max) throw invalidParameter(name, `must be an integer from 0 to ${max}`);
  return value;
}

/**
 * The id to use: the explicit `ldevId` (2E22/0001 when defined), else the lowest free id in
 * startLdevId..endLdevId (2E11/2209 when none) — with or without isParallelExecutionEnabled, which
 * on a real array only lets such creations run in parallel and may not be combined with ldevId.
 */
function chooseLdevId(sim: SimCore, body: CreateBody): number {
  const max = sim.config.maxLdevId;
  if (body.ldevId !== undefined) {
    if (body.isParallelExecutionEnabled === true) {
      throw invalidParameter("isParallelExecutionEnabled", "cannot be combined with ldevId");
    }
    if (body.startLdevId !== undefined || body.endLdevId !== undefined) {
      throw invalidParameter("startLdevId", "startLdevId/endLdevId apply only when ldevId is omitted");
    }
    const ldevId = inRange(body.ldevId, "ldevId", max);
    if (sim.state.ldevs[String(ldevId)]) {
      throw ssbError("LDEV_ALREADY_DEFINED", `LDEV ${ldevId} is already defined.`);
    }
    return ldevId;
  }
  const start = inRange(body.startLdevId ?? 0, "startLdevId", max);
  const end = inRange(body.endLdevId ?? max, "endLdevId", max);
  if (start > end) throw invalidParameter("endLdevId", "must not be less than startLdevId");
  for (let candidate = start; candidate <= end; candidate++) {
    if (!sim.state.ldevs[String(candidate)]) return candidate;
  }
  throw ssbError("NO_FREE_LDEV_ID", `No free LDEV ID in ${start}-${end}.`);
}

/** The DP pool to create in: unknown or non-HDP pools fail inside the storage (POOL_NOT_FOUND). */
function dpPool(sim: SimCore, poolId: number): PoolState {
  const pool = findPool(sim.state, poolId);
  if (!pool) throw ssbError("POOL_NOT_FOUND", `Pool ${poolId} does not exist.`);
  if (pool.poolType !== "HDP") {
    throw ssbError(
      "POOL_NOT_FOUND",
      `Pool ${poolId} is a ${pool.poolType} pool, not a Dynamic Provisioning pool.`,
    );
  }
  return pool;
}

export async function createLdev(ctx: RequestContext): Promise<string[]> {
  const { sim } = ctx;
  const body = parseBody(ctx);
  const blocks = blocksOf(body);
  const bytes = blocks * BLOCK_SIZE;
  const pool = dpPool(sim, body.poolId);
  checkCapacity(bytes);
  const ldevId = chooseLdevId(sim, body);
  const fullAllocation = body.isFullAllocationEnabled === true;
  await checkPoolRoom(sim, pool, fullAllocation ? pagesFor(bytes, sim.config.pageSizeBytes) : 0);
  try {
    await sizingFile(bytes, () => sim.blocks.create(ldevId, bytes));
  } catch (err) {
    await sim.blocks.remove(ldevId); // the id is free: nothing else owns this file
    throw err;
  }
  const ldev: LdevState = {
    ldevId,
    poolId: pool.poolId,
    blockCapacity: blocks,
    label: "",
    status: "NML",
    dataReductionMode: body.dataReductionMode ?? "disabled",
    isFullAllocationEnabled: fullAllocation,
    isAluaEnabled: false,
    naaId: allocateNaa(sim.state, sim.config.storageDeviceId, ldevId),
    ...(body.isDataReductionSharedVolumeEnabled === true ? { isDataReductionSharedVolumeEnabled: true } : {}),
    ...(body.clprId === undefined ? {} : { clprId: body.clprId }),
    ...(body.mpBladeId === undefined ? {} : { mpBladeId: body.mpBladeId }),
  };
  sim.state.ldevs[String(ldevId)] = ldev;
  return [ctx.link("ldevs", ldevId)];
}
