/**
 * Snapshots: VolumeSnapshots ↔ Thin Image pairs (ARCHITECTURE §4; vsp-rest-api.md §5, §6, §9).
 *
 * A snapshot is a Thin Image pair on the source volume, split by the array at the end of its COPY
 * (`autoSplit`), with a DP volume of the source's size in the source's pool as S-VOL — Cinder's
 * way (§9 "Snapshot"). The DP-VOL S-VOL is what lets a restore cascade a clone pair from it (§5: a
 * V-VOL S-VOL can neither cascade nor clone). On the array, everything is found again from the CO
 * name alone, at a cost that does not grow with the array or with the volume's snapshots:
 *   - the S-VOL carries `snapshotLabel(driver, name)` = `cs-…` and is placed like a volume
 *     (ldev-placement.ts): one read of its window answers "does it exist?", and the S-VOL of a
 *     crashed attempt is found again, or adopted while unlabelled;
 *   - its pair is `GET snapshots?svolLdevId=`; pairs live in shared snapshot groups (names.ts
 *     SHARED_GROUPS), so only the array's own limits apply: 1,024 snapshots per volume, 8,192
 *     pairs per group, 2,048 groups. Pairs made before groups were shared have a group `cs-…` of
 *     their own, and are found the same way;
 *   - the snapshot ID is `1.<sid>.ti.<pvol>.<mu>.cs-…` (ids.ts): a pair at (pvol, mu) is this
 *     snapshot when its S-VOL carries that label (or its group that name), not one that reused
 *     the MU since.
 *
 * Order of calls, each step found again by a retry: S-VOL (create, label) → pair (POST snapshots,
 * autoSplit, NoWait); a failed pair create removes the S-VOL again. Deletion: pair → S-VOL.
 *
 * CreateSnapshot answers only once the image is cut (`untilCut`): the CO unfreezes the application
 * at the answer. `ready_to_use` follows the pair status (PSUS/PFUS); creation_time is the split.
 *
 * VolumeSnapshotClass `copyMethod: shadowImage` takes a full copy instead
 * (shadow-image-snapshots.ts); its IDs (`…si…`) are dispatched there by kind.
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
import type { SnapshotId, ThinImageSnapshotId } from "./ids.js";
import {
  formatGroupSnapshotId,
  formatSnapshotId,
  formatVolumeId,
  parsedOrUndefined,
  parseSnapshotId,
} from "./ids.js";
import { bytesOf, inPair } from "./ldev-placement.js";
import { classifyLabel, sharedGroupKind, snapshotLabel } from "./names.js";
import { inSharedGroup } from "./shared-groups.js";
import type { SnapshotParameters } from "./parameters.js";
import type { PollOptions } from "./poll.js";
import { pollFor, pollUntil } from "./poll.js";
import type { SiWaitOptions } from "./shadow-image-pairs.js";
import { ShadowImageSnapshots } from "./shadow-image-snapshots.js";
import { listSnapshots } from "./snapshot-list.js";
import type { ListSnapshotsQuery, SnapshotPage } from "./snapshot-list.js";
import type { Volume, VolumeService } from "./volumes.js";

export interface Snapshot {
  snapshotId: string;
  id: SnapshotId;
  array: ManagedArray;
  sourceVolumeId: string;
  /** The S-VOL's capacity: the source's size when the snapshot was taken. */
  bytes: bigint;
  /**
   * The pair's splitTime (when the image was taken); the time of asking before the split.
   * ShadowImage: the time in the pair's name (shadow-image-snapshots.ts).
   */
  creationTime: Date;
  readyToUse: boolean;
  /** The pair status on the array (PSUS, COPY, PSUE…; SMPL for a ShadowImage S-VOL alone). */
  status: string;
  svolLdevId: number | undefined;
  /** Set for members of a group snapshot (`cg-…` groups). */
  groupSnapshotId?: string;
}

/** A snapshot as the array holds it: what restores read. */
export interface ResolvedSnapshot {
  id: ThinImageSnapshotId;
  array: ManagedArray;
  pair: ArrayPair;
  svol: Ldev | undefined;
}

export interface CreateSnapshotInput {
  name: string;
  sourceVolumeId: string;
  parameters: SnapshotParameters;
}

/** Split pairs: the image is fixed and readable through the S-VOL (§6). */
export const READY_STATUSES: ReadonlySet<string> = new Set(["PSUS", "PFUS"]);
/** Statuses of a pair whose image is not taken yet: the array splits it at the end of COPY. */
const BEFORE_CUT: ReadonlySet<string> = new Set(["COPY", "PAIR", "PFUL"]);
/** Statuses of a pair whose image is still being taken (delete refused, N in D-HTI-MATRIX). */
const TAKING = new Set(["COPY", "PAIR", "PFUL", "PSUP", "RCPY"]);

export class SnapshotService {
  /** Full-copy snapshots (VolumeSnapshotClass copyMethod shadowImage). */
  readonly shadowImage: ShadowImageSnapshots;

  constructor(
    private readonly volumes: VolumeService,
    shadowImageWait: SiWaitOptions = {},
    /** How long CreateSnapshot waits for the cut of a pair it finds still being taken. */
    private readonly cutWait: PollOptions = {},
  ) {
    this.shadowImage = new ShadowImageSnapshots(volumes, shadowImageWait);
  }

  /**
   * A repeated call reads the S-VOL's window and its pair (2 requests); a new snapshot adds the
   * source, the S-VOL (create, label) and the pair (create, read).
   */
  async create(input: CreateSnapshotInput): Promise<Snapshot> {
    if (input.parameters.copyMethod === "shadowImage") {
      return this.shadowImage.create(input, await this.volumes.get(input.sourceVolumeId));
    }
    const { id: sourceId, array } = this.volumes.locate(input.sourceVolumeId);
    const label = snapshotLabel(this.volumes.driverName, input.name);
    const window = await this.volumes.ldevs.windowOf(array, label, "looking up the snapshot");
    const taken = window.find((l) => l.label === label);
    const existing = taken && inPair(taken) ? await this.pairOfSvol(array, taken.ldevId) : undefined;
    if (taken && existing) {
      if (existing.pvolLdevId !== sourceId.ldevId) {
        throw new AlreadyExistsError(
          `a snapshot named "${input.name}" already exists, of another volume (LDEV ${existing.pvolLdevId})`,
        );
      }
      const cut = await this.untilCut(array, existing);
      return this.describe(array, cut, sourceId, taken);
    }
    const source = await this.volumes.get(input.sourceVolumeId);
    const svol = await this.svolFor(array, source, label, window);
    const pair = await this.createPair(array, source, svol, input.parameters);
    return this.describe(array, await this.untilCut(array, pair), source.ldev, svol);
  }

  /**
   * Idempotent. Garbage IDs, unknown arrays and pairs gone (or whose MU another snapshot reuses)
   * are success; the S-VOL of an interrupted delete is removed on the retry. A snapshot a restore
   * or clone still copies from is refused (FAILED_PRECONDITION) — nothing is deleted then, and the
   * copy completes (D-HTI-MATRIX p.94: the array itself refuses to delete it meanwhile).
   */
  async delete(snapshotId: string): Promise<void> {
    const any = ourSnapshotId(snapshotId);
    if (any?.kind === "si-snapshot") return this.shadowImage.delete(any);
    const id = any;
    const array = id && this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    if (!id || !array) return;
    const found = await this.ourPair(array, id);
    // Members of a group snapshot (`cg-`) live and die with their group: CSI DeleteSnapshot names
    // INVALID_ARGUMENT for "part of a group" (the CO must call DeleteVolumeGroupSnapshot instead).
    if (classifyLabel(id.snapshotGroupName) === "group-snapshot") {
      if (!found) return;
      throw new InvalidArgumentError(
        "this snapshot is part of a group snapshot and cannot be deleted alone; delete its VolumeGroupSnapshot",
      );
    }
    if (found) {
      // A snapshot deleted right after CreateSnapshot answered may still be settling its split
      // (PSUP), which the array will not delete: wait for it within the call, then delete.
      const settled = TAKING.has(found.pair.status)
        ? await pollUntil(
            () => this.reread(array, found.pair),
            (p) => !TAKING.has(p.status),
            `the snapshot is still being taken (pair status ${found.pair.status}); retry`,
            this.cutWait,
          )
        : found.pair;
      await this.deletePair(array, settled);
    }
    // The pair gone (a retry of an interrupted delete): its S-VOL is found by label in its window.
    const label = id.snapshotGroupName;
    const svol =
      found?.svol ?? (await this.volumes.ldevs.findLabelled(array, label, "looking up the snapshot's S-VOL"));
    if (!svol) return;
    const stillPaired = new FailedPreconditionError(
      `the snapshot's S-VOL (LDEV ${svol.ldevId}) is still in a copy pair; retry when it completes`,
    );
    if (!found && inPair(svol)) throw stillPaired;
    try {
      await this.volumes.ldevs.deleteLdev(array, svol, "deleting the snapshot's S-VOL");
    } catch (err) {
      // Read before its pair was deleted: a cascade pair leaves through SMPP, a while.
      if (err instanceof FailedPreconditionError) throw stillPaired;
      throw err;
    }
  }

  /** The snapshot, or NOT_FOUND (for IDs that are not ours, on no configured array, or gone). */
  async get(snapshotId: string): Promise<Snapshot> {
    const found = await this.find(snapshotId);
    if (!found) throw new NotFoundError(`snapshot ${snapshotId} does not exist`);
    return found;
  }

  async find(snapshotId: string): Promise<Snapshot | undefined> {
    const any = ourSnapshotId(snapshotId);
    if (any?.kind === "si-snapshot") return this.shadowImage.find(any);
    const resolved = await this.resolve(snapshotId);
    if (!resolved) return undefined;
    const pvol = await this.ldev(resolved.array, resolved.pair.pvolLdevId);
    // The source volume ID carries the P-VOL's label: a P-VOL that is not our volume is not ours.
    if (!pvol || classifyLabel(pvol.label ?? "") !== "volume") return undefined;
    return this.describe(resolved.array, resolved.pair, pvol, resolved.svol);
  }

  /** A Thin Image pair and its S-VOL as the array holds them now; undefined when gone or not ours. */
  async resolve(snapshotId: string): Promise<ResolvedSnapshot | undefined> {
    const any = ourSnapshotId(snapshotId);
    const id = any?.kind === "ti-snapshot" ? any : undefined;
    const array = id && this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    if (!id || !array) return undefined;
    const found = await this.ourPair(array, id);
    return found && { id, array, ...found };
  }

  /** One page of snapshots (snapshot-list.ts). */
  list(q: ListSnapshotsQuery): Promise<SnapshotPage> {
    return listSnapshots(this, this.volumes, q);
  }

  // ---- creation ----------------------------------------------------------------------------

  /** The S-VOL, placed by the snapshot's label; a leftover that no longer fits is replaced. */
  private async svolFor(array: ManagedArray, source: Volume, label: string, window: Ldev[]): Promise<Ldev> {
    const wanted = {
      label,
      poolId: source.ldev.poolId ?? array.config.defaultPoolId,
      bytes: source.bytes,
      dataReductionMode: dataReductionOf(source.ldev),
    };
    return this.volumes.ldevs.placeSvol(array, wanted, undefined, window);
  }

  /**
   * The pair, in the P-VOL's shared snapshot group (names.ts SHARED_GROUPS) or, when that group
   * holds its 8,192 pairs (or cannot be made: 2,048 groups on the array), the next one.
   */
  private async createPair(
    array: ManagedArray,
    source: Volume,
    svol: Ldev,
    parameters: SnapshotParameters,
  ): Promise<ArrayPair> {
    const snapshotPoolId =
      parameters.snapshotPool ??
      array.config.snapshotPoolId ??
      source.ldev.poolId ??
      array.config.defaultPoolId;
    try {
      const ref = await inSharedGroup(array, "snapshots", source.ldev.ldevId, (snapshotGroupName) =>
        array.client.snapshots.create(
          {
            snapshotGroupName,
            snapshotPoolId,
            pvolLdevId: source.ldev.ldevId,
            svolLdevId: svol.ldevId,
            autoSplit: true,
            // A restore cascades a clone pair from the S-VOL (§9).
            canCascade: true,
            ...(dataReductionOf(source.ldev) ? { isDataReductionForceCopy: true } : {}),
          },
          // NoWait: the job ends once the pair is accepted, so no connection to the array is held
          // while it copies; untilCut then follows the pair to its split with short GETs.
          { noWait: true },
        ),
      );
      return await onArray("reading the new snapshot", () => array.client.snapshots.get(ref));
    } catch (err) {
      // Nothing may be left behind: the S-VOL goes with the failed pair (it holds no data yet).
      await this.volumes.ldevs
        .deleteLdev(array, svol, "removing the S-VOL of a failed snapshot")
        .catch(() => undefined);
      throw pairCreateError(err, snapshotPoolId);
    }
  }

  /**
   * The pair once its image is cut: CreateSnapshot never answers before the point-in-time image
   * exists, whatever ready_to_use says (the CO unfreezes the application at the answer). A pair an
   * interrupted call made is split by the array at the end of its COPY (autoSplit): a retry waits
   * for that split (ABORTED past the wait budget; the next retry waits on). A pair in PAIR (its
   * split never came) is split now. A suspended pair (PSUE: its snapshot data could not be stored)
   * never becomes a snapshot: it and its S-VOL go, RESOURCE_EXHAUSTED, and a later retry starts over.
   */
  private async untilCut(array: ManagedArray, found: ArrayPair): Promise<ArrayPair> {
    const read = () => this.reread(array, found);
    const stillTaking = "the snapshot is still being taken (its pair is being created); retry";
    let pair = found;
    if (pair.status === "COPY")
      pair = await pollUntil(read, (p) => p.status !== "COPY", stillTaking, this.cutWait);
    if (pair.status === "PAIR" || pair.status === "PFUL") {
      await onArray("splitting the snapshot", () => array.client.snapshots.split(found));
      pair = await read();
    }
    if (pair.status === "PSUE") {
      await this.deletePair(array, pair);
      const svol = await this.ldev(array, pair.svolLdevId);
      if (svol && !inPair(svol))
        await this.volumes.ldevs.deleteLdev(array, svol, "removing the S-VOL of a failed snapshot");
      throw new ResourceExhaustedError(
        `the snapshot's pair was suspended (PSUE) before its image was stored; snapshot pool ${pair.snapshotPoolId ?? "?"} is probably full: free capacity in it, or use another pool (VolumeSnapshotClass parameter snapshotPool)`,
      );
    }
    if (BEFORE_CUT.has(pair.status)) throw new OperationInProgressError(stillTaking);
    return pair.status === "PSUP" ? this.settled(array, pair) : pair;
  }

  /**
   * A cut pair whose split still settles (PSUP) once it has settled (PSUS), so that the answer is
   * a snapshot ready to restore from, as the sidecars and csi-sanity expect of a quick split. The
   * image is already fixed: when the call's time runs out first, the answer says not ready yet.
   */
  private async settled(array: ManagedArray, cut: ArrayPair): Promise<ArrayPair> {
    const polled = await pollFor(
      () => this.reread(array, cut),
      (p) => p.status !== "PSUP",
      this.cutWait,
    );
    return polled.value;
  }

  // ---- deletion ----------------------------------------------------------------------------

  private async deletePair(array: ManagedArray, pair: ArrayPair): Promise<void> {
    try {
      await array.client.snapshots.delete({ pvolLdevId: pair.pvolLdevId, muNumber: pair.muNumber });
    } catch (err) {
      if (err instanceof VspNotFoundError) return;
      const refused =
        err instanceof VspPreconditionError ||
        (err instanceof VspError && (err.is("PAIR_STATUS_FORBIDS") || err.is("LDEV_IN_PAIR")));
      if (refused && TAKING.has(pair.status)) {
        throw new OperationInProgressError(
          `the snapshot is still being taken (pair status ${pair.status}); retry`,
          { cause: err },
        );
      }
      if (refused) {
        throw new FailedPreconditionError(
          "a restore from this snapshot is still copying; retry when it completes",
          { cause: err },
        );
      }
      throw toDriverError(err, "deleting the snapshot");
    }
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** The same pair (same P-VOL, MU and S-VOL) as the array shows it now; ABORTED when gone. */
  private async reread(array: ManagedArray, found: ArrayPair): Promise<ArrayPair> {
    const pair = await this.pairAt(array, found);
    if (!pair || pair.svolLdevId !== found.svolLdevId) {
      throw new OperationInProgressError("the snapshot's pair went away while it was being taken; retry");
    }
    return pair;
  }

  /** The snapshot pair whose S-VOL is `svolLdevId`, or undefined (one GET). */
  private async pairOfSvol(array: ManagedArray, svolLdevId: number): Promise<ArrayPair | undefined> {
    const pairs = await onArray("looking up the snapshot", () => array.client.snapshots.list({ svolLdevId }));
    return pairs.find((p) => p.svolLdevId === svolLdevId && p.isClone !== true);
  }

  /**
   * The pair an ID names and its S-VOL, unless gone or its MU now belongs to another snapshot: the
   * pair's group is the ID's (a group snapshot's member, or a pair made before groups were
   * shared), or the pair is in a shared snapshot group and its S-VOL carries the ID's label.
   */
  private async ourPair(
    array: ManagedArray,
    id: ThinImageSnapshotId,
  ): Promise<{ pair: ArrayPair; svol: Ldev | undefined } | undefined> {
    const pair = await this.pairAt(array, id);
    if (!pair || pair.isClone === true) return undefined;
    const svol = await this.ldev(array, pair.svolLdevId);
    if (pair.snapshotGroupName === id.snapshotGroupName) return { pair, svol };
    const shared = sharedGroupKind(pair.snapshotGroupName) === "snapshots";
    return shared && svol?.label === id.snapshotGroupName ? { pair, svol } : undefined;
  }

  /** The pair at (P-VOL, MU), whatever it is, or undefined. */
  private async pairAt(
    array: ManagedArray,
    at: Pick<ThinImageSnapshotId, "pvolLdevId" | "muNumber">,
  ): Promise<ArrayPair | undefined> {
    return onArray("reading the snapshot", () =>
      array.client.snapshots.find({ pvolLdevId: at.pvolLdevId, muNumber: at.muNumber }),
    );
  }

  /** An LDEV of a snapshot (P-VOL, S-VOL), or undefined for no id or a free one. */
  async ldev(array: ManagedArray, ldevId: number | undefined): Promise<Ldev | undefined> {
    if (ldevId === undefined) return undefined;
    return onArray("reading an LDEV of the snapshot", () => array.client.ldevs.get(ldevId));
  }

  /**
   * The snapshot a pair of ours is, as CSI describes it. Its ID names the pair's own group (group
   * snapshot members; pairs from before groups were shared) or, in a shared group, the S-VOL's label.
   */
  describe(
    array: ManagedArray,
    pair: ArrayPair,
    pvol: Pick<Ldev, "ldevId" | "label" | "blockCapacity">,
    svol: Ldev | undefined,
  ): Snapshot {
    const storageDeviceId = array.config.storageDeviceId;
    const name = sharedGroupKind(pair.snapshotGroupName) ? svol?.label : pair.snapshotGroupName;
    const id: ThinImageSnapshotId = {
      kind: "ti-snapshot",
      storageDeviceId,
      pvolLdevId: pair.pvolLdevId,
      muNumber: pair.muNumber,
      snapshotGroupName: name ?? "",
    };
    const isGroupMember = classifyLabel(pair.snapshotGroupName) === "group-snapshot";
    return {
      snapshotId: formatSnapshotId(id),
      id,
      array,
      sourceVolumeId: formatVolumeId({ storageDeviceId, ldevId: pvol.ldevId, label: pvol.label ?? "" }),
      bytes: bytesOf(svol ?? pvol),
      creationTime: splitTimeOf(pair.splitTime) ?? new Date(),
      readyToUse: READY_STATUSES.has(pair.status),
      status: pair.status,
      svolLdevId: pair.svolLdevId,
      ...(isGroupMember
        ? {
            groupSnapshotId: formatGroupSnapshotId({
              storageDeviceId,
              snapshotGroupName: pair.snapshotGroupName,
            }),
          }
        : {}),
    };
  }
}

/** A snapshot ID of ours (either kind), or undefined for anything else (never an error here). */
export function ourSnapshotId(snapshotId: string): SnapshotId | undefined {
  if (snapshotId === "") throw new InvalidArgumentError("snapshot_id is required");
  return parsedOrUndefined(parseSnapshotId, snapshotId);
}

/** `splitTime` is `YYYY-MM-DDThh:mm:ss` (§5), taken as UTC. */
function splitTimeOf(text: string | undefined): Date | undefined {
  if (text === undefined || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(text)) return undefined;
  const date = new Date(`${text}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function dataReductionOf(ldev: Ldev): "compression" | "compression_deduplication" | undefined {
  const mode = ldev.dataReductionMode;
  return mode === "compression" || mode === "compression_deduplication" ? mode : undefined;
}

/** Pair-create refusals with what to do about them; the rest as array-errors.ts maps them. */
export function pairCreateError(err: unknown, snapshotPoolId: number): unknown {
  if (!(err instanceof VspError)) return err;
  if (err.is("INVALID_SNAPSHOT_POOL")) {
    return new InvalidArgumentError(
      `pool ${snapshotPoolId} cannot hold snapshot data; set VolumeSnapshotClass parameter snapshotPool to a Thin Image or HDP pool`,
      { cause: err },
    );
  }
  if (err.is("POOL_FULL")) {
    return new ResourceExhaustedError(
      `snapshot pool ${snapshotPoolId} is full; free capacity in it, or use another pool (VolumeSnapshotClass parameter snapshotPool)`,
      { cause: err },
    );
  }
  if (err.is("MAX_SNAPSHOTS_PER_PVOL")) {
    return new ResourceExhaustedError(
      "the volume already has 1,024 snapshots, the array's limit per volume; delete some of its VolumeSnapshots first",
      { cause: err },
    );
  }
  if (err.is("MAX_CTG")) {
    return new ResourceExhaustedError(
      "the array's snapshot groups are full (2,048 groups of 8,192 pairs, shared by every tool on the array); delete snapshots first",
      { cause: err },
    );
  }
  return toDriverError(err, "creating the snapshot");
}
