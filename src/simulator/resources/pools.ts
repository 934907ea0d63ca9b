/**
 * Pools (§8): the HDP and Thin Image pools the array was configured with. Read-only apart from
 * their thresholds and name; capacity figures come from pool-usage.ts, in MB = MiB (ANS-POOL,
 * CIN-REST `get_pool_info`).
 */
import { z } from "zod";

import { MIB } from "../config.js";
import type { SimCore } from "../core.js";
import { invalidParameter, objectNotFound } from "../errors.js";
import { findPool } from "../model.js";
import type { RequestContext, RouteTable } from "../routing.js";
import { intParam, parseWith } from "../routing.js";
import type { PoolState } from "../state.js";
import { freePages, pagesToMiB, poolUsage, usedRate } from "./pool-usage.js";

/** Max 128 pools per array (D-HDP). */
const MAX_POOL_ID = 127;

/** The `poolType` filter names HDP pools "DP" (CIN-API, ANS-CONST), the objects say "HDP". */
const POOL_TYPE_FILTER = { DP: "HDP", HTI: "HTI" } as const;

export type PoolStatus = "POLN" | "POLF";

/**
 * POLF once usage reaches the depletion threshold, or while the poolFull fault is set (§8).
 * sim: POLS (suspended) and POLE (failure) are not modeled.
 */
export function poolStatus(sim: SimCore, pool: PoolState, rate: number): PoolStatus {
  return sim.faults.isPoolFull(pool.poolId) || rate >= pool.depletionThreshold ? "POLF" : "POLN";
}

export async function poolView(sim: SimCore, pool: PoolState): Promise<Record<string, unknown>> {
  const page = sim.config.pageSizeBytes;
  const usage = await poolUsage(sim, pool);
  const rate = usedRate(usage);
  const totalMiB = pagesToMiB(usage.totalPages, page);
  const availableMiB = pagesToMiB(freePages(usage), page);
  return {
    poolId: pool.poolId,
    poolStatus: poolStatus(sim, pool, rate),
    usedCapacityRate: rate,
    // sim: no compression, so the physical figures equal the logical ones.
    usedPhysicalCapacityRate: rate,
    poolName: pool.poolName,
    availableVolumeCapacity: availableMiB,
    availablePhysicalVolumeCapacity: availableMiB,
    totalPoolCapacity: totalMiB,
    totalPhysicalCapacity: totalMiB,
    // sim: pool-VOLs are not modeled; one notional pool-VOL outside the LDEV id space, hence no firstLdevId.
    numOfLdevs: 1,
    warningThreshold: pool.warningThreshold,
    depletionThreshold: pool.depletionThreshold,
    virtualVolumeCapacityRate: -1,
    isMainframe: false,
    isShrinking: false,
    locatedVolumeCount: usage.locatedVolumeCount,
    totalLocatedCapacity: Math.floor(usage.locatedBytes / MIB),
    snapshotCount: usage.snapshotCount,
    snapshotUsedCapacity: Math.floor(usage.snapshotBytes / MIB),
    suspendSnapshot: true,
    poolType: pool.poolType,
    blockingMode: "NB",
    totalReservedCapacity: pagesToMiB(usage.reservedPages, page),
    reservedVolumeCount: usage.reservedVolumeCount,
  };
}

function poolIdParam(ctx: RequestContext): number {
  return intParam(ctx.params.poolId, "poolId", 0, MAX_POOL_ID);
}

/** Unknown pool: 404 KART30013-E, which Cinder's `get_pool_info` expects (§8). */
export function requirePool(ctx: RequestContext): PoolState {
  const poolId = poolIdParam(ctx);
  const pool = findPool(ctx.sim.state, poolId);
  if (!pool) throw objectNotFound(`pool ${poolId}`);
  return pool;
}

const listQuery = z
  .object({
    poolType: z.enum(["DP", "HTI"]).optional(),
    // Accepted for compatibility; the figures it would add (tiers, FMC) are not modeled.
    detailInfoType: z.string().optional(),
  })
  .loose();

/** Names follow the general character rule of D-FMT and may not start with "-". */
const POOL_NAME = /^(?!-)[A-Za-z0-9,\-.:@_]{1,32}$/;

const patchBody = z
  .object({
    poolName: z.string().regex(POOL_NAME, "1-32 of A-Z a-z 0-9 , - . : @ _, not starting with -").optional(),
    warningThreshold: z.number().int().min(1).max(100).optional(),
    depletionThreshold: z.number().int().min(1).max(100).optional(),
  })
  .strict();

function patchPool(ctx: RequestContext): string[] {
  const pool = requirePool(ctx);
  const body = parseWith(patchBody, ctx.body);
  if (Object.keys(body).length === 0) {
    throw invalidParameter("body", "specify poolName, warningThreshold or depletionThreshold");
  }
  const warning = body.warningThreshold ?? pool.warningThreshold;
  const depletion = body.depletionThreshold ?? pool.depletionThreshold;
  if (warning > depletion) {
    throw invalidParameter(
      "warningThreshold",
      `the warning threshold (${warning}) must not exceed the depletion threshold (${depletion})`,
    );
  }
  if (body.poolName !== undefined) {
    const clash = ctx.sim.state.pools.find((p) => p.poolName === body.poolName && p !== pool);
    if (clash) throw invalidParameter("poolName", `pool ${clash.poolId} already has this name`);
    pool.poolName = body.poolName;
  }
  pool.warningThreshold = warning;
  pool.depletionThreshold = depletion;
  return [ctx.link("pools", pool.poolId)];
}

export function registerPoolRoutes(routes: RouteTable): void {
  routes.get("/pools", async (ctx) => {
    const query = parseWith(listQuery, Object.fromEntries(ctx.query));
    const type = query.poolType === undefined ? undefined : POOL_TYPE_FILTER[query.poolType];
    const pools = ctx.sim.state.pools
      .filter((p) => type === undefined || p.poolType === type)
      .sort((a, b) => a.poolId - b.poolId);
    const data: Record<string, unknown>[] = [];
    for (const pool of pools) data.push(await poolView(ctx.sim, pool));
    return { data };
  });

  routes.get("/pools/:poolId", (ctx) => poolView(ctx.sim, requirePool(ctx)));

  routes.modify("/pools/:poolId", patchPool);
}
