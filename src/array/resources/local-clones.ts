/**
 * ShadowImage local clones (vsp-rest-api.md §6): `local-clone-copypairs` with id
 * `copyGroupName,pvolDeviceGroupName,svolDeviceGroupName,copyPairName` and `local-clone-copygroups`
 * with the first three. Hitachi recommends NoWait for restore (D-SI-RESTORE); every change here
 * accepts it.
 */
import type { Api, ChangeOptions } from "../api.js";
import { affectedId } from "../jobs.js";
import type { LocalCloneCopyGroup, LocalCloneCopyPair } from "../types.js";

export interface CreateCopyPairParams {
  copyGroupName: string;
  copyPairName: string;
  pvolLdevId: number;
  svolLdevId: number;
  pvolDeviceGroupName: string;
  svolDeviceGroupName: string;
  isNewGroupCreation?: boolean;
  /** 1–15. */
  copyPace?: number;
  autoSplit?: boolean;
  /** 0–2. */
  pvolMuNumber?: number;
  isConsistencyGroup?: boolean;
  consistencyGroupId?: number;
  quickMode?: boolean;
  isDataReductionForceCopy?: boolean;
  copyMode?: "NotSynchronized";
}

export interface CopyActionParams {
  copyPace?: number;
  quickMode?: boolean;
}

export interface CopyPairQuery {
  localCloneCopyGroupId?: string;
  /** Needed to see pairs made outside this REST server. */
  refresh?: boolean;
}

type CopyAction = "split" | "resync" | "restore";

export class LocalCloneCopyPairs {
  constructor(private readonly api: Api) {}

  private path(id?: string, ...rest: string[]): string {
    return id === undefined
      ? this.api.paths.objects("local-clone-copypairs")
      : this.api.paths.objects("local-clone-copypairs", id, ...rest);
  }

  /** 1 POST; the pair id from affectedResources[0]. */
  async create(params: CreateCopyPairParams, options: ChangeOptions = {}): Promise<string> {
    const job = await this.api.change("POST", this.path(), { replicationType: "SI", ...params }, options);
    return affectedId(job);
  }

  list(query: CopyPairQuery = {}): Promise<LocalCloneCopyPair[]> {
    return this.api.list<LocalCloneCopyPair>(this.path(), { ...query });
  }

  get(pairId: string): Promise<LocalCloneCopyPair> {
    return this.api.get<LocalCloneCopyPair>(this.path(pairId));
  }

  /** The pair, or undefined when the array has none by that id. */
  find(pairId: string): Promise<LocalCloneCopyPair | undefined> {
    return this.api.find<LocalCloneCopyPair>(this.path(pairId));
  }

  split(pairId: string, params: CopyActionParams = {}, options: ChangeOptions = {}): Promise<void> {
    return this.act(pairId, "split", params, options);
  }

  resync(pairId: string, params: CopyActionParams = {}, options: ChangeOptions = {}): Promise<void> {
    return this.act(pairId, "resync", params, options);
  }

  restore(pairId: string, params: CopyActionParams = {}, options: ChangeOptions = {}): Promise<void> {
    return this.act(pairId, "restore", params, options);
  }

  async delete(pairId: string, options: ChangeOptions = {}): Promise<void> {
    await this.api.change("DELETE", this.path(pairId), undefined, options);
  }

  private async act(
    pairId: string,
    action: CopyAction,
    params: CopyActionParams,
    options: ChangeOptions,
  ): Promise<void> {
    await this.api.invoke(this.path(pairId, "actions", action), { ...params }, options);
  }
}

export class LocalCloneCopyGroups {
  constructor(private readonly api: Api) {}

  private path(id?: string, ...rest: string[]): string {
    return id === undefined
      ? this.api.paths.objects("local-clone-copygroups")
      : this.api.paths.objects("local-clone-copygroups", id, ...rest);
  }

  list(): Promise<LocalCloneCopyGroup[]> {
    return this.api.list<LocalCloneCopyGroup>(this.path());
  }

  get(groupId: string): Promise<LocalCloneCopyGroup> {
    return this.api.get<LocalCloneCopyGroup>(this.path(groupId));
  }

  /** The copy group, or undefined when the array has none by that id. */
  find(groupId: string): Promise<LocalCloneCopyGroup | undefined> {
    return this.api.find<LocalCloneCopyGroup>(this.path(groupId));
  }

  split(groupId: string, params: CopyActionParams = {}, options: ChangeOptions = {}): Promise<void> {
    return this.act(groupId, "split", params, options);
  }

  resync(groupId: string, params: CopyActionParams = {}, options: ChangeOptions = {}): Promise<void> {
    return this.act(groupId, "resync", params, options);
  }

  restore(groupId: string, params: CopyActionParams = {}, options: ChangeOptions = {}): Promise<void> {
    return this.act(groupId, "restore", params, options);
  }

  async delete(groupId: string, options: ChangeOptions = {}): Promise<void> {
    await this.api.change("DELETE", this.path(groupId), undefined, options);
  }

  private async act(
    groupId: string,
    action: CopyAction,
    params: CopyActionParams,
    options: ChangeOptions,
  ): Promise<void> {
    await this.api.invoke(this.path(groupId, "actions", action), { ...params }, options);
  }
}
