/**
 * Thin Image (vsp-rest-api.md §5, §6): pairs (`snapshots/{pvol},{mu}`), snapshot groups, and the
 * snapshot-tree service. Every change accepts `noWait` (Job-Mode-Wait-Configuration-Change).
 */
import type { ChangeOptions } from "../api.js";
import type { Api } from "../api.js";
import { affectedId } from "../jobs.js";
import type { Snapshot, SnapshotGroup, SnapshotGroupSummary } from "../types.js";
import type { SnapshotRef } from "./ids.js";
import { parseSnapshotId, snapshotId } from "./ids.js";

export type CopySpeed = "slower" | "medium" | "faster";

export interface CreateSnapshotParams {
  /** 1–32 characters; a new name creates the group. */
  snapshotGroupName: string;
  /** A Thin Image pool or an HDP pool. */
  snapshotPoolId: number;
  pvolLdevId: number;
  /** Omitted ⇒ a pair without S-VOL. Must be a DP-VOL for isClone / canCascade. */
  svolLdevId?: number;
  isConsistencyGroup?: boolean;
  /** Split right after creation (⇒ PSUS); not with isClone. */
  autoSplit?: boolean;
  canCascade?: boolean;
  isClone?: boolean;
  /** With isClone: start the clone copy right after creation. */
  clonesAutomation?: boolean;
  copySpeed?: CopySpeed;
  /** Required true when the P-VOL has capacity saving. */
  isDataReductionForceCopy?: boolean;
  /** 0–1023; the array assigns one when omitted. */
  muNumber?: number;
}

/** At least one filter is required; the documented combinations (§5). */
export type SnapshotQuery = (
  { pvolLdevId: number; muNumber?: number; snapshotGroupName?: string } | { svolLdevId: number }
) & { detailInfoType?: string };

export class Snapshots {
  constructor(private readonly api: Api) {}

  private path(ref?: SnapshotRef, ...rest: string[]): string {
    return ref === undefined
      ? this.api.paths.objects("snapshots")
      : this.api.paths.objects("snapshots", snapshotId(ref), ...rest);
  }

  private action(ref: SnapshotRef, name: string): string {
    return this.path(ref, "actions", name);
  }

  /** 1 POST; the pair id `pvol,mu` from affectedResources[0]. */
  async create(params: CreateSnapshotParams, options: ChangeOptions = {}): Promise<SnapshotRef> {
    const job = await this.api.change("POST", this.path(), params, options);
    return parseSnapshotId(affectedId(job), job);
  }

  get(ref: SnapshotRef): Promise<Snapshot> {
    return this.api.get<Snapshot>(this.path(ref));
  }

  /** The pair, or undefined when the array has none at (pvol, mu). */
  find(ref: SnapshotRef): Promise<Snapshot | undefined> {
    return this.api.find<Snapshot>(this.path(ref));
  }

  list(query: SnapshotQuery): Promise<Snapshot[]> {
    return this.api.list<Snapshot>(this.path(), { ...query });
  }

  async split(ref: SnapshotRef, options: ChangeOptions = {}): Promise<void> {
    await this.api.invoke(this.action(ref, "split"), undefined, options);
  }

  async resync(
    ref: SnapshotRef,
    params: { autoSplit?: boolean } = {},
    options: ChangeOptions = {},
  ): Promise<void> {
    await this.api.invoke(this.action(ref, "resync"), { ...params }, options);
  }

  /** Copies the snapshot data back onto the P-VOL (RCPY); autoSplit re-splits afterwards. */
  async restore(
    ref: SnapshotRef,
    params: { autoSplit?: boolean } = {},
    options: ChangeOptions = {},
  ): Promise<void> {
    await this.api.invoke(this.action(ref, "restore"), { ...params }, options);
  }

  /** Starts the full copy of a clone-attribute pair; the pair disappears when it ends. */
  async clone(
    ref: SnapshotRef,
    params: { copySpeed?: CopySpeed } = {},
    options: ChangeOptions = {},
  ): Promise<void> {
    await this.api.invoke(this.action(ref, "clone"), { ...params }, options);
  }

  async assignVolume(ref: SnapshotRef, svolLdevId: number, options: ChangeOptions = {}): Promise<void> {
    await this.api.invoke(this.action(ref, "assign-volume"), { svolLdevId }, options);
  }

  async unassignVolume(ref: SnapshotRef, options: ChangeOptions = {}): Promise<void> {
    await this.api.invoke(this.action(ref, "unassign-volume"), undefined, options);
  }

  /** Deletes the pair and its snapshot data. */
  async delete(ref: SnapshotRef, options: ChangeOptions = {}): Promise<void> {
    await this.api.change("DELETE", this.path(ref), undefined, options);
  }
}

export class SnapshotGroups {
  constructor(private readonly api: Api) {}

  private path(name?: string, ...rest: string[]): string {
    return name === undefined
      ? this.api.paths.objects("snapshot-groups")
      : this.api.paths.objects("snapshot-groups", name, ...rest);
  }

  list(): Promise<SnapshotGroupSummary[]> {
    return this.api.list<SnapshotGroupSummary>(this.path());
  }

  /** The group with its pairs (`detailInfoType=pair` asks for them explicitly). */
  get(name: string, query: { detailInfoType?: "pair" | "retention" } = {}): Promise<SnapshotGroup> {
    return this.api.get<SnapshotGroup>(this.path(name), { ...query });
  }

  /** The group with its pairs, or undefined when the array has no group by that name. */
  find(
    name: string,
    query: { detailInfoType?: "pair" | "retention" } = {},
  ): Promise<SnapshotGroup | undefined> {
    return this.api.find<SnapshotGroup>(this.path(name), { ...query });
  }

  /** Splitting a consistency-group-mode group gives one crash-consistent point in time. */
  async split(name: string, options: ChangeOptions = {}): Promise<void> {
    await this.api.invoke(this.path(name, "actions", "split"), undefined, options);
  }

  async resync(
    name: string,
    params: { autoSplit?: boolean } = {},
    options: ChangeOptions = {},
  ): Promise<void> {
    await this.api.invoke(this.path(name, "actions", "resync"), { ...params }, options);
  }

  async restore(
    name: string,
    params: { autoSplit?: boolean } = {},
    options: ChangeOptions = {},
  ): Promise<void> {
    await this.api.invoke(this.path(name, "actions", "restore"), { ...params }, options);
  }

  /** Deletes every pair of the group. */
  async delete(name: string, options: ChangeOptions = {}): Promise<void> {
    await this.api.change("DELETE", this.path(name), undefined, options);
  }
}

export class SnapshotTree {
  constructor(private readonly api: Api) {}

  /** Force-deletes every TI pair of the cascade tree rooted at `rootLdevId` (D-TI-TREE). */
  async delete(rootLdevId: number, options: ChangeOptions = {}): Promise<void> {
    await this.api.invoke(
      this.api.paths.services("snapshot-tree", "actions", "delete"),
      { ldevId: rootLdevId },
      options,
    );
  }
}
