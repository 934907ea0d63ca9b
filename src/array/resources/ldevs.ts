/** LDEVs (vsp-rest-api.md §4): DP volumes in HDP pools. */
import type { Api } from "../api.js";
import { VspError } from "../errors.js";
import { affectedId } from "../jobs.js";
import type { DataReductionMode, Ldev } from "../types.js";
import { parseInteger } from "./ids.js";

export interface CreateLdevParams {
  /** DP pool; -1 = Thin Image virtual volume (V-VOL). */
  poolId: number;
  /** Capacity in 512-byte blocks; or `byteFormatCapacity` ("10G", base 1024). Exactly one. */
  blockCapacity?: number;
  byteFormatCapacity?: string;
  /** Explicit id; cannot be combined with isParallelExecutionEnabled. */
  ldevId?: number;
  /** Auto-assign the id, allowing parallel creation jobs (Cinder always sends true). */
  isParallelExecutionEnabled?: boolean;
  /** Auto-assign range. */
  startLdevId?: number;
  endLdevId?: number;
  dataReductionMode?: DataReductionMode;
  isDataReductionSharedVolumeEnabled?: boolean;
  isCompressionAccelerationEnabled?: boolean;
}

export type LdevOption = "defined" | "undefined" | "dpVolume" | "luMapped" | "luUnmapped" | "externalVolume";

export interface LdevListQuery {
  headLdevId?: number;
  /** 1–16384; the array's default is 100. */
  count?: number;
  ldevOption?: LdevOption;
  poolId?: number;
  resourceGroupId?: number;
  detailInfoType?: string;
}

export interface LdevChanges {
  /** 0–32 characters. */
  label?: string;
  dataReductionMode?: DataReductionMode;
  dataReductionProcessMode?: "inline" | "post_process";
  isCompressionAccelerationEnabled?: boolean;
  isAluaEnabled?: boolean;
  isFullAllocationEnabled?: boolean;
  isRelocationEnabled?: boolean;
}

export interface ExpandParams {
  additionalBlockCapacity?: number;
  additionalByteFormatCapacity?: string;
  /** Needed for volumes in (split) copy pairs and for DRS volumes. */
  enhancedExpansion?: boolean;
}

export interface DeleteLdevOptions {
  /** Needed for capacity-saving volumes (dataReductionStatus ENABLED/REHYDRATING/DELETING, §4). */
  isDataReductionDeleteForceExecute?: boolean;
}

export const QOS_KEYS = [
  "upperIops",
  "upperTransferRate",
  "lowerIops",
  "lowerTransferRate",
  "responsePriority",
  "upperAlertAllowableTime",
  "lowerAlertAllowableTime",
  "responseAlertAllowableTime",
] as const;
export type QosSettings = Partial<Record<(typeof QOS_KEYS)[number], number>>;

/** Paging stops here: Cinder ignores KART40044-E when headLdevId runs past the valid range. */
const PAST_LAST_LDEV = "KART40044-E";
const MAX_PAGE = 16_384;

export class Ldevs {
  constructor(private readonly api: Api) {}

  private path(ldevId?: number): string {
    return ldevId === undefined ? this.api.paths.objects("ldevs") : this.api.paths.objects("ldevs", ldevId);
  }

  /** Creates an LDEV; resolves with its id (from affectedResources[0]). 1 POST. */
  async create(params: CreateLdevParams): Promise<number> {
    const job = await this.api.change("POST", this.path(), params);
    return parseInteger(affectedId(job), "LDEV", job);
  }

  /** The LDEV, or undefined when the id is free (`emulationType: "NOT DEFINED"`, answered 200). */
  async get(ldevId: number): Promise<Ldev | undefined> {
    const ldev = await this.api.get<Ldev>(this.path(ldevId));
    return ldev.emulationType === "NOT DEFINED" ? undefined : ldev;
  }

  /** One page of LDEVs. */
  list(query: LdevListQuery = {}): Promise<Ldev[]> {
    return this.api.list<Ldev>(this.path(), { ...query });
  }

  /** Every LDEV matching the query, page by page (headLdevId = last id + 1), as Cinder searches labels. */
  async *iterate(query: Omit<LdevListQuery, "headLdevId"> = {}, pageSize = MAX_PAGE): AsyncGenerator<Ldev> {
    let head = 0;
    for (;;) {
      let page: Ldev[];
      try {
        page = await this.list({ ...query, headLdevId: head, count: pageSize });
      } catch (err) {
        if (err instanceof VspError && err.messageId === PAST_LAST_LDEV) return;
        throw err;
      }
      yield* page;
      const last = page.at(-1);
      if (page.length < pageSize || last === undefined) return;
      head = last.ldevId + 1;
    }
  }

  /** 1 PATCH. */
  setLabel(ldevId: number, label: string): Promise<void> {
    return this.modify(ldevId, { label });
  }

  /** 1 PATCH. */
  async modify(ldevId: number, changes: LdevChanges): Promise<void> {
    await this.api.change("PATCH", this.path(ldevId), changes);
  }

  /** 1 POST actions/expand/invoke. DP volumes only (412 otherwise). */
  async expand(ldevId: number, params: ExpandParams): Promise<void> {
    await this.api.invoke(this.api.paths.objects("ldevs", ldevId, "actions", "expand"), { ...params });
  }

  /** 1 DELETE. */
  async delete(ldevId: number, options: DeleteLdevOptions = {}): Promise<void> {
    const body =
      options.isDataReductionDeleteForceExecute === true
        ? { isDataReductionDeleteForceExecute: true }
        : undefined;
    await this.api.change("DELETE", this.path(ldevId), body);
  }

  /** set-qos takes exactly one key per call (§4): one POST per given key, in QOS_KEYS order. */
  async setQos(ldevId: number, settings: QosSettings): Promise<void> {
    const action = this.api.paths.objects("ldevs", ldevId, "actions", "set-qos");
    for (const key of QOS_KEYS) {
      const value = settings[key];
      if (value !== undefined) await this.api.invoke(action, { [key]: value });
    }
  }
}
