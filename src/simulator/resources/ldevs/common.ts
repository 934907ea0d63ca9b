/**
 * What the LDEV handlers share: the id in the URL, the "undefined LDEV" rule, capacity units and
 * limits, label rules, and the checks that a volume is free of paths and pairs.
 */
import { z } from "zod";

import { BLOCK_SIZE, GIB, MIB } from "../../config.js";
import type { SimCore } from "../../core.js";
import { invalidParameter, objectNotFound, ssbError } from "../../errors.js";
import { findLdev, siPairsOf, tiPairsOf } from "../../model.js";
import type { RequestContext } from "../../routing.js";
import { intParam } from "../../routing.js";
import type { LdevState, PoolState } from "../../state.js";
import { freePages, poolUsage } from "../pool-usage.js";

const TIB = 1024 * GIB;

/** sim: the largest DP-VOL of VSP G/F and E series (256 TiB); bigger requests fail CAPACITY_INVALID. */
export const MAX_DP_VOL_BYTES = 256 * TIB;

export function ldevIdParam(ctx: RequestContext): number {
  return intParam(ctx.params.ldevId, "ldevId", 0, ctx.sim.config.maxLdevId);
}

/**
 * The LDEV a change names. sim: a change aimed at an undefined id is refused by the REST server
 * with 404 KART30013-E, no job (GET alone answers "NOT DEFINED", §4); KART30013-E is the code
 * clients already treat as "does not exist, do not retry" (CIN-API).
 */
export function requireLdev(ctx: RequestContext): LdevState {
  const ldevId = ldevIdParam(ctx);
  const ldev = findLdev(ctx.sim.state, ldevId);
  if (!ldev) throw objectNotFound(`ldev ${ldevId}`);
  return ldev;
}

const UNITS = { K: 1024, M: MIB, G: GIB, T: TIB } as const;

/**
 * "10G", "512M", "1.5T" (base 1024, §0) → 512-byte blocks, rounded up to a whole block. A DP-VOL
 * keeps exactly this capacity: pages are a pool's allocation unit, not the volume's size unit.
 */
export function parseByteFormat(value: string, name: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT])$/.exec(value);
  const unit = match?.[2] as keyof typeof UNITS | undefined;
  if (!match?.[1] || !unit) {
    throw invalidParameter(name, "a number followed by K, M, G or T, e.g. 10G");
  }
  const blocks = Math.ceil((Number(match[1]) * UNITS[unit]) / BLOCK_SIZE);
  if (blocks < 1) throw invalidParameter(name, "the capacity must be greater than 0");
  return blocks;
}

/**
 * "1.00 G" (GET `byteFormatCapacity`): the largest unit the capacity reaches, two decimals.
 * sim: truncated rather than rounded, so the figure never exceeds the real capacity.
 */
export function formatByteCapacity(bytes: number): string {
  for (const unit of ["T", "G", "M", "K"] as const) {
    if (bytes >= UNITS[unit] || unit === "K") {
      const value = Math.floor((bytes / UNITS[unit]) * 100) / 100;
      return `${value.toFixed(2)} ${unit}`;
    }
  }
  return `${bytes} B`; // unreachable: K is the floor
}

/** A capacity the array cannot create, or the data directory cannot hold as a sparse file. */
export function capacityError(bytes: number, detail: string): Error {
  return ssbError("CAPACITY_INVALID", `The capacity ${bytes} bytes cannot be used: ${detail}.`);
}

export function checkCapacity(bytes: number): void {
  if (bytes > MAX_DP_VOL_BYTES) throw capacityError(bytes, "a DP-VOL holds at most 256 TiB");
}

/** Runs a sparse-file size change, turning "file too large" into the array's capacity error. */
export async function sizingFile(bytes: number, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EFBIG") {
      throw capacityError(bytes, "the simulator's data directory cannot hold a file this large");
    }
    throw err;
  }
}

/**
 * LDEV labels (0–32 chars, §4). sim: the general attribute rule of D-FMT — alphanumerics and
 * `, - . : @ _`, not starting with "-" — since the reference names no label-specific override;
 * spaces are therefore refused. Cinder's labels (32 hex digits) pass.
 */
export const labelSchema = z
  .string()
  .max(32)
  .regex(/^(?!-)[A-Za-z0-9,\-.:@_]*$/, "only A-Z a-z 0-9 , - . : @ _, not starting with -");

export const dataReductionModeSchema = z.enum(["disabled", "compression", "compression_deduplication"]);

/** Clients send `null` for options they leave unset (ANS-VOL): treat it as absent. */
export function dropNulls(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

/** Refuses (Failed job, LDEV_IN_PAIR) when the LDEV is in any Thin Image or ShadowImage pair. */
export function refuseIfPaired(sim: SimCore, ldev: LdevState, operation: string): void {
  const ti = tiPairsOf(sim.state, ldev.ldevId).length;
  const si = siPairsOf(sim.state, ldev.ldevId).length;
  if (ti + si > 0) {
    throw ssbError(
      "LDEV_IN_PAIR",
      `LDEV ${ldev.ldevId} cannot be ${operation}: it is in ${ti} Thin Image and ${si} ShadowImage pair(s).`,
    );
  }
}

function poolFullError(pool: PoolState, detail: string): Error {
  return ssbError("POOL_FULL", `Pool ${pool.poolId} has no free capacity: ${detail}.`);
}

/** Pool full (fault), or fewer free pages than a full-allocation volume needs: POOL_FULL. */
export async function checkPoolRoom(sim: SimCore, pool: PoolState, neededPages: number): Promise<void> {
  if (sim.faults.isPoolFull(pool.poolId)) throw poolFullError(pool, "the pool is full");
  if (neededPages === 0) return;
  const free = freePages(await poolUsage(sim, pool));
  if (free < neededPages) throw poolFullError(pool, `${neededPages} pages needed, ${free} free`);
}
