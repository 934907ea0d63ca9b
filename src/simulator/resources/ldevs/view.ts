/**
 * What GET answers for an LDEV (§4): the documented field set of a DP-VOL, or
 * `emulationType: "NOT DEFINED"` for a free id, and the paged list.
 */
import { z } from "zod";

import { BLOCK_SIZE } from "../../config.js";
import type { SimCore } from "../../core.js";
import { ldevBytes, lunsOf, siPairsOf, tiPairsOf } from "../../model.js";
import type { RequestContext } from "../../routing.js";
import { intParam, parseWith } from "../../routing.js";
import type { LdevState } from "../../state.js";
import { ldevUsedPages } from "../pool-usage.js";
import { formatByteCapacity } from "./common.js";

export interface ViewOptions {
  /** `detailInfoType=qos`: add the `qos` object (CIN-REST `get_qos_specs_from_ldev`). */
  qos: boolean;
}

/** sim: SSID per 256-LDEV control unit, starting at 0004 as in Hitachi's examples. */
function ssidOf(ldevId: number): string {
  return (4 + (ldevId >> 8)).toString(16).toUpperCase().padStart(4, "0");
}

export function notDefinedView(ldevId: number): Record<string, unknown> {
  // Undefined ids answer 200 with NOT DEFINED (§4); no poolId, which OSVC reads as "deleted".
  return { ldevId, emulationType: "NOT DEFINED", ssid: ssidOf(ldevId), resourceGroupId: 0 };
}

function attributesOf(sim: SimCore, ldev: LdevState): string[] {
  const attributes = ["CVS", "HDP"];
  if (ldev.isDataReductionSharedVolumeEnabled === true) attributes.push("DRS");
  // HTI while in any Thin Image pair, as P-VOL or S-VOL (§4; Cinder waits for it to go away).
  if (tiPairsOf(sim.state, ldev.ldevId).length > 0) attributes.push("HTI");
  // sim: ShadowImage members carry "MRCF", the CCI name of ShadowImage.
  if (siPairsOf(sim.state, ldev.ldevId).length > 0) attributes.push("MRCF");
  return attributes;
}

function portsOf(sim: SimCore, ldevId: number): Record<string, unknown>[] {
  return lunsOf(sim.state, ldevId)
    .map((lun) => ({
      portId: lun.portId,
      hostGroupNumber: lun.hostGroupNumber,
      hostGroupName:
        sim.state.hostGroups.find((g) => g.portId === lun.portId && g.hostGroupNumber === lun.hostGroupNumber)
          ?.hostGroupName ?? "",
      lun: lun.lun,
    }))
    .sort((a, b) => a.portId.localeCompare(b.portId) || a.hostGroupNumber - b.hostGroupNumber);
}

/**
 * The DP-VOL as GET shows it. Fields a real array leaves out when they do not apply are left out
 * here too, so clients learn to cope: `label` when empty (Cinder checks `'label' in ldev`),
 * `numOfPorts`/`ports` and `naaId` when there is no LU path (§4: naaId "present when LU-mapped"),
 * `snapshotPoolId` except on Thin Image S-VOLs, the process mode unless capacity saving is on.
 * `numOfUsedBlock` counts whole pool pages, as §4 defines it (× 512 B = pages allocated).
 */
export async function ldevView(
  sim: SimCore,
  ldev: LdevState,
  options: ViewOptions = { qos: false },
): Promise<Record<string, unknown>> {
  const ports = portsOf(sim, ldev.ldevId);
  const usedPages = await ldevUsedPages(sim, ldev);
  const reducing = ldev.dataReductionMode !== "disabled";
  return {
    ldevId: ldev.ldevId,
    clprId: ldev.clprId ?? 0,
    emulationType: "OPEN-V-CVS",
    byteFormatCapacity: formatByteCapacity(ldevBytes(ldev)),
    blockCapacity: ldev.blockCapacity,
    ...(ports.length > 0 ? { numOfPorts: ports.length, ports } : {}),
    attributes: attributesOf(sim, ldev),
    ...(ldev.label === "" ? {} : { label: ldev.label }),
    status: ldev.status,
    mpBladeId: ldev.mpBladeId ?? ldev.ldevId % 4,
    ssid: ssidOf(ldev.ldevId),
    poolId: ldev.poolId,
    numOfUsedBlock: Math.floor((usedPages * sim.config.pageSizeBytes) / BLOCK_SIZE),
    isFullAllocationEnabled: ldev.isFullAllocationEnabled,
    resourceGroupId: 0,
    dataReductionStatus: reducing ? "ENABLED" : "DISABLED",
    dataReductionMode: ldev.dataReductionMode,
    ...(reducing ? { dataReductionProcessMode: ldev.dataReductionProcessMode ?? "inline" } : {}),
    isAluaEnabled: ldev.isAluaEnabled,
    ...(ports.length > 0 ? { naaId: ldev.naaId } : {}),
    ...(ldev.snapshotPoolId === undefined ? {} : { snapshotPoolId: ldev.snapshotPoolId }),
    ...(options.qos ? { qos: { ...ldev.qos } } : {}),
  };
}

export function viewOptions(ctx: RequestContext): ViewOptions {
  const detail = ctx.query.get("detailInfoType") ?? "";
  return { qos: detail.split(",").includes("qos") };
}

const LDEV_OPTIONS = [
  "defined",
  "undefined",
  "dpVolume",
  "luMapped",
  "luUnmapped",
  "externalVolume",
] as const;
type LdevOption = (typeof LDEV_OPTIONS)[number];

const listQuery = z
  .object({
    ldevOption: z.enum(LDEV_OPTIONS).optional(),
    // Filters on things the simulator has none of (parity groups, journals) match nothing.
    parityGroupId: z.string().optional(),
    journalId: z.string().optional(),
  })
  .loose();

/** Which ids the list considers, in order from headLdevId. */
function matcher(sim: SimCore, option: LdevOption | undefined, poolId: number | undefined) {
  return (id: number): boolean => {
    const ldev = sim.state.ldevs[String(id)];
    if (poolId !== undefined && ldev?.poolId !== poolId) return false;
    switch (option) {
      case undefined:
        return true; // sim: defined and undefined ids alike, the latter as NOT DEFINED
      case "undefined":
        return ldev === undefined;
      case "defined":
      case "dpVolume":
        return ldev !== undefined;
      case "luMapped":
        return ldev !== undefined && lunsOf(sim.state, id).length > 0;
      case "luUnmapped":
        return ldev !== undefined && lunsOf(sim.state, id).length === 0;
      case "externalVolume":
        return false;
    }
  };
}

/**
 * GET /ldevs: up to `count` LDEVs that match, in id order from `headLdevId` (Ansible asks
 * `ldevOption=undefined&count=1&headLdevId=N` for the first free id at or after N).
 * sim: a headLdevId beyond the array's range is 400 KART20003-E (real arrays: KART40044-E,
 * which Cinder ignores while paging).
 */
export async function listLdevs(ctx: RequestContext): Promise<{ data: Record<string, unknown>[] }> {
  const { sim, query } = ctx;
  const max = sim.config.maxLdevId;
  const head = query.has("headLdevId") ? intParam(query.get("headLdevId"), "headLdevId", 0, max) : 0;
  const count = query.has("count") ? intParam(query.get("count"), "count", 1, 16384) : 100;
  const poolId = query.has("poolId") ? intParam(query.get("poolId"), "poolId", 0, 127) : undefined;
  const rg = query.has("resourceGroupId")
    ? intParam(query.get("resourceGroupId"), "resourceGroupId", 0, 1023)
    : 0;
  const parsed = parseWith(listQuery, Object.fromEntries(query));
  if (rg !== 0 || parsed.parityGroupId !== undefined || parsed.journalId !== undefined) return { data: [] };
  const matches = matcher(sim, parsed.ldevOption, poolId);
  const scanAll = parsed.ldevOption === undefined || parsed.ldevOption === "undefined";
  const candidates = scanAll
    ? idRange(head, max)
    : Object.values(sim.state.ldevs)
        .map((l) => l.ldevId)
        .filter((id) => id >= head)
        .sort((a, b) => a - b);
  const options = viewOptions(ctx);
  const data: Record<string, unknown>[] = [];
  for (const id of candidates) {
    if (data.length >= count) break;
    if (!matches(id)) continue;
    const ldev = sim.state.ldevs[String(id)];
    data.push(ldev ? await ldevView(sim, ldev, options) : notDefinedView(id));
  }
  return { data };
}

function* idRange(from: number, to: number): Generator<number> {
  for (let id = from; id <= to; id++) yield id;
}
