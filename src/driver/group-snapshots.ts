/**
 * Group snapshots: VolumeGroupSnapshots ↔ Thin Image snapshot groups in consistency-group mode
 * (ARCHITECTURE §4; vsp-rest-api.md §5 "snapshot groups", D-TI-GROUPS).
 *
 * A group snapshot is one snapshot group `cg-…` (names.ts, from the CO name) in CTG mode with one
 * pair per source volume (group-members.ts), split with ONE group call: the array takes the
 * snapshot data of every P-VOL at the moment it receives the split, which is the write-order
 * consistency CSI asks of CreateVolumeGroupSnapshot. Members are ordinary Thin Image snapshots
 * (`1.<sid>.ti.<pvol>.<mu>.cg-…`): restore, list and get work on them as on any snapshot; they are
 * deleted only with their group (DeleteSnapshot answers INVALID_ARGUMENT, as CSI says).
 *
 * Found again from the array alone: `GET snapshot-groups/cg-…?detailInfoType=pair`. A group whose
 * pairs are not split yet is a create in progress or interrupted — never answered as a group
 * snapshot; a retry with the same volumes completes it, one with other volumes replaces it. The
 * group ID is `1.<sid>.grp.cg-…` (ids.ts).
 *
 * Failure: anything that goes wrong before the split removes the group and the S-VOLs made for it,
 * so nothing is left (CSI: "SP SHOULD also do clean up and make sure no snapshots are leaked").
 * Deletion: the S-VOLs are labelled (group-members.ts header), the group is deleted with one call
 * (its pairs go with it), then the S-VOLs.
 */
import { VspError, VspNotFoundError, VspPreconditionError } from "../array/errors.js";
import type { Ldev, Snapshot as ArrayPair } from "../array/types.js";
import { onArray, toDriverError } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OperationInProgressError,
  ResourceExhaustedError,
} from "./errors.js";
import { addMembers, snapshotPoolOf } from "./group-members.js";
import { pollUntil } from "./poll.js";
import type { GroupSnapshotId } from "./ids.js";
import { formatGroupSnapshotId, InvalidIdError, parseGroupSnapshotId, parseVolumeId } from "./ids.js";
import { inPair } from "./ldev-placement.js";
import {
  classifyLabel,
  groupMemberLabelPrefix,
  groupMemberSvolLabel,
  groupSnapshotGroupName,
} from "./names.js";
import type { SnapshotParameters } from "./parameters.js";
import type { Snapshot, SnapshotService } from "./snapshots.js";
import type { VolumeService } from "./volumes.js";

export interface GroupSnapshot {
  groupSnapshotId: string;
  snapshots: Snapshot[];
  /** The split: one point in time for every member. */
  creationTime: Date;
  readyToUse: boolean;
}

export interface CreateGroupSnapshotInput {
  name: string;
  sourceVolumeIds: readonly string[];
  parameters: SnapshotParameters;
}

export interface GroupSnapshotOptions {
  /** How long a call waits for the members' pairs to reach PAIR before answering ABORTED. */
  waitMs?: number;
  /** First poll interval (doubling up to 250 ms). */
  pollMs?: number;
}

/** Member statuses before the split: the group snapshot is not cut yet. */
const UNSPLIT: ReadonlySet<string> = new Set(["COPY", "PAIR"]);

interface Sources {
  array: ManagedArray;
  pvols: Ldev[];
  /** One listing of the driver's range: the sources, and where the S-VOLs can go. */
  listed: Ldev[];
}

export class GroupSnapshotService {
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly volumes: VolumeService,
    private readonly snapshots: SnapshotService,
    options: GroupSnapshotOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 60_000;
    this.pollMs = options.pollMs ?? 50;
  }

  async create(input: CreateGroupSnapshotInput): Promise<GroupSnapshot> {
    const { array, pvols, listed } = await this.sources(input.sourceVolumeIds);
    const group = groupSnapshotGroupName(this.volumes.driverName, input.name);
    let pairs = await this.pairsOf(array, group);
    if (pairs && isCut(pairs)) return this.existing(array, group, pairs, listed, input, pvols);
    const wanted = new Set(pvols.map((l) => l.ldevId));
    if (pairs?.some((p) => !wanted.has(p.pvolLdevId))) {
      // Left by an interrupted attempt with other volumes; never answered, so nobody uses it.
      await this.removeUncut(array, group, []);
      pairs = undefined;
    }
    const have = new Set(pairs?.map((p) => p.pvolLdevId));
    const missing = pvols.filter((l) => !have.has(l.ldevId)).map((pvol) => ({ pvol }));
    const created: number[] = [];
    try {
      const newGroup = pairs === undefined;
      await addMembers(this.volumes, array, group, missing, listed, input.parameters, created, newGroup);
      await this.waitUntilPaired(array, group, pvols.length);
      await onArray("splitting the group snapshot", () => array.client.snapshotGroups.split(group));
    } catch (err) {
      // Still coming up: the retry continues from here. Anything else: undo, leave nothing — and
      // report the error that made us undo; if the undo fails too, a retry finds what is left.
      if (!(err instanceof OperationInProgressError)) {
        await this.removeUncut(array, group, created).catch(() => undefined);
      }
      throw err;
    }
    const cut = await this.pairsOf(array, group);
    if (!cut) throw new NotFoundError("the group snapshot was deleted while it was being created");
    return this.describe(array, group, cut, listed);
  }

  /** The group snapshot; NOT_FOUND when gone or not ours; INVALID_ARGUMENT for other members. */
  async get(groupSnapshotId: string, snapshotIds: readonly string[]): Promise<GroupSnapshot> {
    const found = await this.find(groupSnapshotId);
    if (!found) throw new NotFoundError(`group snapshot ${groupSnapshotId} does not exist`);
    checkMembers(found, snapshotIds);
    return found;
  }

  /**
   * Idempotent: garbage IDs and groups gone are success; S-VOLs of an interrupted delete are
   * removed on the retry. A group a restore still copies from is refused (FAILED_PRECONDITION).
   */
  async delete(groupSnapshotId: string, snapshotIds: readonly string[]): Promise<void> {
    const id = ourId(groupSnapshotId);
    const array = id && this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    if (!id || !array) return;
    const group = id.snapshotGroupName;
    const pairs = await this.pairsOf(array, group);
    let listed = await this.volumes.ldevs.listRange(array, "reading the group snapshot's volumes");
    if (pairs) {
      if (isCut(pairs)) checkMembers(this.describe(array, group, pairs, listed), snapshotIds);
      await this.labelSvols(array, group, pairs, listed);
      await this.deleteGroup(array, group);
      listed = await this.volumes.ldevs.listRange(array, "reading the group snapshot's volumes");
    }
    const prefix = groupMemberLabelPrefix(group);
    for (const svol of listed.filter((l) => (l.label ?? "").startsWith(prefix))) {
      if (inPair(svol)) {
        throw new FailedPreconditionError(
          `LDEV ${svol.ldevId}, an S-VOL of this group snapshot, is still in a pair; retry when its copy completes`,
        );
      }
      await this.volumes.ldevs.deleteLdev(array, svol, "deleting an S-VOL of the group snapshot");
    }
  }

  /** The group snapshot as the array holds it now; undefined when gone, not cut, or not ours. */
  async find(groupSnapshotId: string): Promise<GroupSnapshot | undefined> {
    const id = ourId(groupSnapshotId);
    const array = id && this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    if (!id || !array) return undefined;
    const pairs = await this.pairsOf(array, id.snapshotGroupName);
    if (!pairs || !isCut(pairs)) return undefined;
    const listed = await this.volumes.ldevs.listRange(array, "reading the group snapshot's volumes");
    return this.describe(array, id.snapshotGroupName, pairs, listed);
  }

  /**
   * Removes the group `group` (a `cg-` name) when it was never cut — what an abandoned create
   * leaves (group-janitor.ts). Answers whether it did; a cut group is never touched.
   */
  async removeIfUncut(array: ManagedArray, group: string): Promise<boolean> {
    if (classifyLabel(group) !== "group-snapshot") return false;
    const pairs = await this.pairsOf(array, group);
    if (!pairs || isCut(pairs)) return false;
    await this.removeUncut(array, group, []);
    return true;
  }

  /** Names of the driver's group snapshot groups on an array (cut or not). */
  async groupNames(array: ManagedArray): Promise<string[]> {
    const groups = await onArray("listing snapshot groups", () => array.client.snapshotGroups.list());
    return groups.map((g) => g.snapshotGroupName).filter((n) => classifyLabel(n) === "group-snapshot");
  }

  // ---- creation ----------------------------------------------------------------------------

  /** The source volumes, all on one array, read with one listing of the range. */
  private async sources(volumeIds: readonly string[]): Promise<Sources> {
    if (volumeIds.length === 0) throw new InvalidArgumentError("source_volume_ids are required");
    if (new Set(volumeIds).size !== volumeIds.length) {
      throw new InvalidArgumentError("source_volume_ids names a volume more than once");
    }
    const ids = volumeIds.map((volumeId) => {
      if (volumeId === "") throw new InvalidArgumentError("source_volume_ids contains an empty volume ID");
      try {
        return { volumeId, ...parseVolumeId(volumeId) };
      } catch (err) {
        if (err instanceof InvalidIdError) throw new NotFoundError(`volume ${volumeId} does not exist`);
        throw err;
      }
    });
    if (new Set(ids.map((id) => id.storageDeviceId)).size > 1) {
      throw new FailedPreconditionError(
        "the volumes are on different arrays: a group snapshot is one consistency group on one array",
      );
    }
    const first = ids[0];
    const array = first && this.volumes.arrays.byStorageDeviceId(first.storageDeviceId);
    if (!first || !array) throw new NotFoundError(`volume ${first?.volumeId ?? ""} does not exist`);
    const listed = await this.volumes.ldevs.listRange(array, "reading the source volumes");
    const byId = new Map(listed.map((l) => [l.ldevId, l]));
    const pvols = ids.map((id) => {
      const ldev = byId.get(id.ldevId);
      // The label tells a volume from a later one that reused its LDEV number.
      if (ldev?.label !== id.label) throw new NotFoundError(`volume ${id.volumeId} does not exist`);
      return ldev;
    });
    return { array, pvols, listed };
  }

  /** A cut group of this name: the same volumes and pool (a retry), else ALREADY_EXISTS. */
  private existing(
    array: ManagedArray,
    group: string,
    pairs: ArrayPair[],
    listed: Ldev[],
    input: CreateGroupSnapshotInput,
    pvols: Ldev[],
  ): GroupSnapshot {
    const wanted = new Map(pvols.map((l) => [l.ldevId, l]));
    const same =
      pairs.length === wanted.size &&
      pairs.every((p) => {
        const pvol = wanted.get(p.pvolLdevId);
        return (
          pvol !== undefined &&
          (p.snapshotPoolId === undefined ||
            p.snapshotPoolId === snapshotPoolOf(array, pvol, input.parameters))
        );
      });
    if (!same) {
      throw new AlreadyExistsError(
        `a group snapshot named "${input.name}" already exists, of other volumes or in another snapshot pool`,
      );
    }
    return this.describe(array, group, pairs, listed);
  }

  /** Polls the group until `count` members are in PAIR (ready for the split). */
  private async waitUntilPaired(array: ManagedArray, group: string, count: number): Promise<void> {
    await this.pollPairs(
      array,
      group,
      "the group snapshot's pairs are still being created; retry",
      (found) => {
        const pairs = found ?? [];
        const failed = pairs.find((p) => !UNSPLIT.has(p.status));
        if (failed?.status === "PSUE") {
          // A pair suspends before its split when its snapshot data cannot be stored: a full pool.
          throw new ResourceExhaustedError(
            `the pair of LDEV ${failed.pvolLdevId} was suspended (PSUE) before the group was split; snapshot pool ${failed.snapshotPoolId ?? "?"} is probably full: free capacity in it, or use another pool (snapshotPool)`,
          );
        }
        if (failed) {
          throw new FailedPreconditionError(
            `the pair of LDEV ${failed.pvolLdevId} went to ${failed.status} before the group was split`,
          );
        }
        return pairs.length >= count && pairs.every((p) => p.status === "PAIR");
      },
    );
  }

  /**
   * Undoes an uncut group: its pairs (one group delete, once none is in COPY: the array refuses
   * to delete a pair in COPY, D-HTI-MATRIX), then its S-VOLs. Throws when that cannot be done now.
   */
  private async removeUncut(array: ManagedArray, group: string, created: readonly number[]): Promise<void> {
    const pairs = (await this.pairsOutOfCopy(array, group)) ?? [];
    const svols = new Set([...created, ...pairs.flatMap((p) => p.svolLdevId ?? [])]);
    if (pairs.length > 0) await this.deleteGroup(array, group);
    const listed = await this.volumes.ldevs.listRange(array, "removing an unfinished group snapshot");
    for (const ldev of listed) {
      // Only what this group used, and never a labelled (user) volume.
      if (!svols.has(ldev.ldevId) || (ldev.label ?? "") !== "" || inPair(ldev)) continue;
      await this.volumes.ldevs.deleteLdev(array, ldev, "removing an S-VOL of an unfinished group snapshot");
    }
  }

  /** The group's pairs once none is in COPY any more (bounded by waitMs, then ABORTED). */
  private pairsOutOfCopy(array: ManagedArray, group: string): Promise<ArrayPair[] | undefined> {
    return this.pollPairs(
      array,
      group,
      "the pairs of an unfinished group snapshot are still being created; retry",
      (pairs) => !pairs?.some((p) => p.status === "COPY"),
    );
  }

  /** Reads the group's pairs until `done` says so (poll.ts); ABORTED with `stillBusy` after waitMs. */
  private pollPairs(
    array: ManagedArray,
    group: string,
    stillBusy: string,
    done: (pairs: ArrayPair[] | undefined) => boolean,
  ): Promise<ArrayPair[] | undefined> {
    return pollUntil(() => this.pairsOf(array, group), done, stillBusy, {
      waitMs: this.waitMs,
      pollMs: this.pollMs,
    });
  }

  // ---- deletion ----------------------------------------------------------------------------

  /** Names each member's S-VOL, so an interrupted delete finds them once the pairs are gone. */
  private async labelSvols(array: ManagedArray, group: string, pairs: ArrayPair[], listed: Ldev[]) {
    const byId = new Map(listed.map((l) => [l.ldevId, l]));
    for (const pair of pairs) {
      if (pair.svolLdevId === undefined) continue;
      const label = groupMemberSvolLabel(group, pair.pvolLdevId);
      if (byId.get(pair.svolLdevId)?.label === label) continue;
      const svolLdevId = pair.svolLdevId;
      await onArray("naming an S-VOL of the group snapshot", () =>
        array.client.ldevs.modify(svolLdevId, { label }),
      );
    }
  }

  /** One call for every pair of the group (the array's group delete). */
  private async deleteGroup(array: ManagedArray, group: string): Promise<void> {
    try {
      await array.client.snapshotGroups.delete(group);
    } catch (err) {
      if (err instanceof VspNotFoundError) return;
      const refused =
        err instanceof VspPreconditionError ||
        (err instanceof VspError && (err.is("PAIR_STATUS_FORBIDS") || err.is("LDEV_IN_PAIR")));
      if (refused) {
        throw new FailedPreconditionError(
          "a volume is still being restored from this group snapshot; retry when its copy completes",
          { cause: err },
        );
      }
      throw toDriverError(err, "deleting the group snapshot");
    }
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** The pairs of a snapshot group, or undefined when there is no such group (or no pair). */
  private async pairsOf(array: ManagedArray, group: string): Promise<ArrayPair[] | undefined> {
    const found = await onArray("reading the group snapshot", () =>
      array.client.snapshotGroups.find(group, { detailInfoType: "pair" }),
    );
    const pairs = found?.snapshots ?? [];
    return pairs.length > 0 ? pairs : undefined;
  }

  private describe(array: ManagedArray, group: string, pairs: ArrayPair[], listed: Ldev[]): GroupSnapshot {
    const byId = new Map(listed.map((l) => [l.ldevId, l]));
    const snapshots = [...pairs]
      .sort((a, b) => a.pvolLdevId - b.pvolLdevId)
      .map((pair) => {
        const pvol = byId.get(pair.pvolLdevId);
        // Sources are our volumes, inside the range; only a shrunk ldevRange can hide one.
        if (!pvol) {
          throw new FailedPreconditionError(
            `LDEV ${pair.pvolLdevId}, a source of the group snapshot, is outside the configured ldevRange`,
          );
        }
        const svol = pair.svolLdevId === undefined ? undefined : byId.get(pair.svolLdevId);
        return this.snapshots.describe(array, pair, pvol, svol);
      });
    const times = snapshots.map((s) => s.creationTime.getTime());
    return {
      groupSnapshotId: formatGroupSnapshotId({
        storageDeviceId: array.config.storageDeviceId,
        snapshotGroupName: group,
      }),
      snapshots,
      creationTime: new Date(Math.min(...times)),
      readyToUse: snapshots.every((s) => s.readyToUse),
    };
  }
}

/** Statuses of a split pair: its image exists (PSUP while the array settles the split). */
const SPLIT: ReadonlySet<string> = new Set(["PSUS", "PSUP", "PFUS"]);

/**
 * The group was split: the point in time exists. A pair suspended (PSUE) before any split is not
 * cut — it failed while being created, and the create is undone rather than answered.
 */
function isCut(pairs: readonly ArrayPair[]): boolean {
  return pairs.some((p) => SPLIT.has(p.status) || (p.splitTime ?? "") !== "");
}

/** CSI: the CO's snapshot_ids, when given, must be exactly the group's members. */
function checkMembers(group: GroupSnapshot, snapshotIds: readonly string[]): void {
  if (snapshotIds.length === 0) return;
  const members = new Set(group.snapshots.map((s) => s.snapshotId));
  const given = new Set(snapshotIds);
  if (given.size !== members.size || [...given].some((id) => !members.has(id))) {
    throw new InvalidArgumentError(
      `snapshot_ids do not match the group snapshot, which has ${members.size} snapshot(s): ${[...members].join(", ")}`,
    );
  }
}

function ourId(groupSnapshotId: string): GroupSnapshotId | undefined {
  if (groupSnapshotId === "") throw new InvalidArgumentError("group_snapshot_id is required");
  try {
    return parseGroupSnapshotId(groupSnapshotId);
  } catch (err) {
    if (err instanceof InvalidIdError) return undefined;
    throw err;
  }
}
