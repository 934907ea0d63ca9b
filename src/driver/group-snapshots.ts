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
 *
 * Cost (issue 11): no call lists the driver's ldevRange, so the REST calls and bytes of every call
 * stay the same however many LDEVs the array holds — with one documented exception below. For N
 * source volumes:
 *   - create: one GET per source (its label checked), the group, one 64-id window per member S-VOL
 *     (orphans of an interrupted attempt, free ids), then the changes (2 per member, the split);
 *   - get: the group with its pairs, one GET per P-VOL and per S-VOL the pairs name;
 *   - delete: the group with its pairs, one GET per S-VOL they name, the labels, the group delete,
 *     the S-VOL deletes. A retry once the group is gone (a delete interrupted between the group and
 *     its S-VOLs, or simply repeated) finds the S-VOLs by their labels: each member's label is
 *     derived from the group name and its P-VOL, which the member snapshot IDs carry, so with
 *     snapshot_ids (the external-snapshotter always sends them) that is one window per member.
 *     Without snapshot_ids the P-VOLs are known nowhere any more, and only then — the group gone,
 *     no snapshot_ids — the range is listed for the group's label prefix: the last resort;
 *   - the janitor's removal of an uncut group: the group, one GET per S-VOL its pairs name.
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
import {
  formatGroupSnapshotId,
  formatSnapshotId,
  InvalidIdError,
  parsedOrUndefined,
  parseGroupSnapshotId,
  parseSnapshotId,
  parseVolumeId,
} from "./ids.js";
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
    const { array, pvols } = await this.sources(input.sourceVolumeIds);
    const group = groupSnapshotGroupName(this.volumes.driverName, input.name);
    let pairs = await this.pairsOf(array, group);
    if (pairs && isCut(pairs)) return this.existing(array, group, pairs, input, pvols);
    const wanted = new Set(pvols.map((l) => l.ldevId));
    if (pairs?.some((p) => !wanted.has(p.pvolLdevId))) {
      // Left by an interrupted attempt with other volumes; never answered, so nobody uses it.
      await this.removeUncut(array, group, []);
      pairs = undefined;
    }
    const have = new Set(pairs?.map((p) => p.pvolLdevId));
    const missing = pvols.filter((l) => !have.has(l.ldevId)).map((pvol) => ({ pvol }));
    const created: number[] = [];
    let svols: Ldev[] = [];
    try {
      const newGroup = pairs === undefined;
      svols = await addMembers(this.volumes, array, group, missing, input.parameters, created, newGroup);
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
    return this.describe(array, group, cut, await this.memberLdevs(array, cut, [...pvols, ...svols]));
  }

  /** The group snapshot; NOT_FOUND when gone or not ours; INVALID_ARGUMENT for other members. */
  async get(groupSnapshotId: string, snapshotIds: readonly string[]): Promise<GroupSnapshot> {
    const found = await this.find(groupSnapshotId);
    if (!found) throw new NotFoundError(`group snapshot ${groupSnapshotId} does not exist`);
    const members = found.snapshots.map((s) => s.snapshotId);
    checkMembers(members, snapshotIds);
    return found;
  }

  /**
   * Idempotent: garbage IDs and groups gone are success; S-VOLs of an interrupted delete are
   * removed on the retry (found as the module header says). A group a restore still copies from
   * is refused (FAILED_PRECONDITION).
   */
  async delete(groupSnapshotId: string, snapshotIds: readonly string[]): Promise<void> {
    const id = ourId(groupSnapshotId);
    const array = id && this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    if (!id || !array) return;
    const group = id.snapshotGroupName;
    const pairs = await this.pairsOf(array, group);
    if (!pairs) {
      for (const svol of await this.leftoverSvols(array, group, snapshotIds)) {
        if (inPair(svol)) throw svolInPair(svol.ldevId);
        await this.volumes.ldevs.deleteLdev(array, svol, "deleting an S-VOL of the group snapshot");
      }
      return;
    }
    if (isCut(pairs)) checkMembers(memberIds(array, pairs), snapshotIds);
    const svols = await this.readLdevs(array, svolIds(pairs));
    await this.labelSvols(array, group, pairs, svols);
    await this.deleteGroup(array, group);
    // Read before the group delete, so still shown in their pairs: the array says if one still is.
    for (const svol of svols) {
      try {
        await this.volumes.ldevs.deleteLdev(array, svol, "deleting an S-VOL of the group snapshot");
      } catch (err) {
        if (err instanceof FailedPreconditionError) throw svolInPair(svol.ldevId, err);
        throw err;
      }
    }
  }

  /** The group snapshot as the array holds it now; undefined when gone, not cut, or not ours. */
  async find(groupSnapshotId: string): Promise<GroupSnapshot | undefined> {
    const id = ourId(groupSnapshotId);
    const array = id && this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    if (!id || !array) return undefined;
    const pairs = await this.pairsOf(array, id.snapshotGroupName);
    if (!pairs || !isCut(pairs)) return undefined;
    return this.describe(array, id.snapshotGroupName, pairs, await this.memberLdevs(array, pairs, []));
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

  /** The source volumes, all on one array: one GET each (concurrently), the label checked. */
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
    // NOT_FOUND for a volume gone, on no configured array, or whose LDEV number another reuses.
    const volumes = await Promise.all(ids.map((id) => this.volumes.get(id.volumeId)));
    const array = volumes[0]?.array;
    if (!array) throw new NotFoundError(`volume ${ids[0]?.volumeId ?? ""} does not exist`);
    return { array, pvols: volumes.map((v) => v.ldev) };
  }

  /** A cut group of this name: the same volumes and pool (a retry), else ALREADY_EXISTS. */
  private async existing(
    array: ManagedArray,
    group: string,
    pairs: ArrayPair[],
    input: CreateGroupSnapshotInput,
    pvols: Ldev[],
  ): Promise<GroupSnapshot> {
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
    return this.describe(array, group, pairs, await this.memberLdevs(array, pairs, pvols));
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
   * to delete a pair in COPY, D-HTI-MATRIX), then its S-VOLs — those its pairs named and those
   * this call `created`, each read by id once the pairs are gone. Throws when that cannot be done now.
   */
  private async removeUncut(array: ManagedArray, group: string, created: readonly number[]): Promise<void> {
    const pairs = (await this.pairsOutOfCopy(array, group)) ?? [];
    const svols = new Set([...created, ...svolIds(pairs)]);
    if (pairs.length > 0) await this.deleteGroup(array, group);
    const prefix = groupMemberLabelPrefix(group);
    for (const ldev of await this.readLdevs(array, [...svols])) {
      // Only an S-VOL unlabelled or labelled as this group's (an interrupted delete), never a
      // volume someone labelled since, and none that went into another pair meanwhile.
      const label = ldev.label ?? "";
      if ((label !== "" && !label.startsWith(prefix)) || inPair(ldev)) continue;
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

  /**
   * Names each member's S-VOL (`svols`: as read), so an interrupted delete finds them in their
   * windows once the pairs are gone.
   */
  private async labelSvols(array: ManagedArray, group: string, pairs: ArrayPair[], svols: Ldev[]) {
    const byId = new Map(svols.map((l) => [l.ldevId, l]));
    for (const pair of pairs) {
      const svol = pair.svolLdevId === undefined ? undefined : byId.get(pair.svolLdevId);
      const label = groupMemberSvolLabel(group, pair.pvolLdevId);
      if (!svol || svol.label === label) continue;
      const svolLdevId = svol.ldevId;
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

  /**
   * The S-VOLs a delete left once the group is gone, by their labels (names.ts): one window per
   * member when the member snapshot IDs name the P-VOLs, else the last resort — the driver's range
   * listed for the group's label prefix (module header).
   */
  private async leftoverSvols(
    array: ManagedArray,
    group: string,
    snapshotIds: readonly string[],
  ): Promise<Ldev[]> {
    const pvols = memberPvols(array, group, snapshotIds);
    if (pvols.length > 0) {
      const found = await Promise.all(
        pvols.map((pvol) =>
          this.volumes.ldevs.findLabelled(
            array,
            groupMemberSvolLabel(group, pvol),
            "looking up an S-VOL of the group snapshot",
          ),
        ),
      );
      return found.flatMap((l) => l ?? []);
    }
    const prefix = groupMemberLabelPrefix(group);
    const listed = await this.volumes.ldevs.listRange(
      array,
      "looking for the S-VOLs of a deleted group snapshot",
    );
    return listed.filter((l) => (l.label ?? "").startsWith(prefix));
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

  /** The LDEVs, read by id (one GET each, concurrently); ids no LDEV holds are left out. */
  private async readLdevs(array: ManagedArray, ldevIds: readonly number[]): Promise<Ldev[]> {
    const read = await Promise.all(
      [...new Set(ldevIds)].map((id) =>
        onArray("reading an LDEV of the group snapshot", () => array.client.ldevs.get(id)),
      ),
    );
    return read.flatMap((l) => l ?? []);
  }

  /** The P-VOLs and S-VOLs the pairs name, by id: those in `known`, the others read. */
  private async memberLdevs(
    array: ManagedArray,
    pairs: readonly ArrayPair[],
    known: readonly Ldev[],
  ): Promise<Map<number, Ldev>> {
    const byId = new Map(known.map((l) => [l.ldevId, l]));
    const unknown = [...pairs.map((p) => p.pvolLdevId), ...svolIds(pairs)].filter((id) => !byId.has(id));
    for (const ldev of await this.readLdevs(array, unknown)) byId.set(ldev.ldevId, ldev);
    return byId;
  }

  private describe(
    array: ManagedArray,
    group: string,
    pairs: ArrayPair[],
    byId: ReadonlyMap<number, Ldev>,
  ): GroupSnapshot {
    const snapshots = [...pairs]
      .sort((a, b) => a.pvolLdevId - b.pvolLdevId)
      .map((pair) => {
        const pvol = byId.get(pair.pvolLdevId);
        // A P-VOL in a pair is defined; only a change under our feet between two reads hides one.
        if (!pvol) {
          throw new FailedPreconditionError(
            `LDEV ${pair.pvolLdevId}, a source of the group snapshot, could not be read; retry`,
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
function checkMembers(memberSnapshotIds: readonly string[], snapshotIds: readonly string[]): void {
  if (snapshotIds.length === 0) return;
  const members = new Set(memberSnapshotIds);
  const given = new Set(snapshotIds);
  if (given.size !== members.size || [...given].some((id) => !members.has(id))) {
    throw new InvalidArgumentError(
      `snapshot_ids do not match the group snapshot, which has ${members.size} snapshot(s): ${[...members].join(", ")}`,
    );
  }
}

function svolIds(pairs: readonly ArrayPair[]): number[] {
  return pairs.flatMap((p) => p.svolLdevId ?? []);
}

/** The members' snapshot IDs, from the pairs alone (what `describe` answers for them). */
function memberIds(array: ManagedArray, pairs: readonly ArrayPair[]): string[] {
  return pairs.map((pair) =>
    formatSnapshotId({
      kind: "ti-snapshot",
      storageDeviceId: array.config.storageDeviceId,
      pvolLdevId: pair.pvolLdevId,
      muNumber: pair.muNumber,
      snapshotGroupName: pair.snapshotGroupName,
    }),
  );
}

/** The P-VOLs that snapshot IDs of members of `group` (on this array) name; others are ignored. */
function memberPvols(array: ManagedArray, group: string, snapshotIds: readonly string[]): number[] {
  const pvols = new Set<number>();
  for (const snapshotId of snapshotIds) {
    const id = parsedOrUndefined(parseSnapshotId, snapshotId);
    if (id?.kind !== "ti-snapshot" || id.storageDeviceId !== array.config.storageDeviceId) continue;
    if (id.snapshotGroupName === group) pvols.add(id.pvolLdevId);
  }
  return [...pvols];
}

function svolInPair(ldevId: number, cause?: unknown): FailedPreconditionError {
  return new FailedPreconditionError(
    `LDEV ${ldevId}, an S-VOL of this group snapshot, is still in a pair; retry when its copy completes`,
    cause === undefined ? undefined : { cause },
  );
}

function ourId(groupSnapshotId: string): GroupSnapshotId | undefined {
  if (groupSnapshotId === "") throw new InvalidArgumentError("group_snapshot_id is required");
  return parsedOrUndefined(parseGroupSnapshotId, groupSnapshotId);
}
