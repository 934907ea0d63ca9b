/**
 * CreateVolume with a content source: a restore from a VolumeSnapshot, or a clone of a PVC
 * (ARCHITECTURE §4; vsp-rest-api.md §5, §6, §9 "Clone / volume-from-snapshot").
 *
 * Both are one Thin Image clone pair into a new DP volume, as Cinder copies volumes (§9):
 *   - the new volume is an LDEV placed by its own name label (`cv-…`, like any volume) in the
 *     source's pool unless the StorageClass names one, with the SOURCE's size (a pair needs
 *     equal sizes);
 *   - the pair: `POST snapshots {snapshotGroupName: <a shared copy group>, pvolLdevId: <source>,
 *     svolLdevId: <new>, isClone, canCascade, clonesAutomation, copySpeed}`. The source is the
 *     snapshot's S-VOL for a restore (a cascade from the split snapshot pair) and the volume
 *     itself for a clone. The copy groups `vsp-csi-copy-NNN` (names.ts SHARED_GROUPS) are shared
 *     by every running copy, so the array's 2,048 groups do not cap them; a copy is found by its
 *     S-VOL. Copies made before groups were shared ran in a group named by the volume's label.
 *
 * The pair create returns once the copy runs (PSUP: the new volume is read/write while the array
 * copies in the background, §6) — the volume is handed out then. The pair disappears when the copy
 * ends, leaving an independent volume; the snapshot or source volume can then be deleted without
 * harm to it. Until then the array refuses to delete the source (snapshot.ts, volumes.ts).
 *
 * Retries and crashes converge from the array alone: the new volume is found by its label; its
 * clone pair by `GET snapshots?svolLdevId=`; a labelled volume with neither a pair nor data never
 * got its pair (it gets it now), one with data and no pair has finished copying.
 *
 * A larger size than the source: a clone needs equal sizes, so the volume is grown when the copy
 * has ended. If it has not ended within the call, the answer is ABORTED ("will be grown when the
 * copy ends"); the CO retries, and a retry after the copy grows the volume and returns it.
 *
 * StorageClass `copyMethod: shadowImage`: a PVC clone, or a restore from a ShadowImage snapshot
 * whose source was deleted (its S-VOL stands alone), is a ShadowImage copy instead
 * (shadow-image-copies.ts). A ShadowImage snapshot still paired with its source is restored with
 * the Thin Image clone whatever the class says: sim: cascaded ShadowImage (the snapshot's S-VOL as
 * the P-VOL of a second pair) is not simulated (create.ts refuses it), and a Thin Image clone of a
 * split ShadowImage S-VOL is. Restores from Thin Image snapshots always use the Thin Image clone.
 */
import { VspNotFoundError } from "../array/errors.js";
import type { Ldev, Snapshot as ArrayPair } from "../array/types.js";
import { onArray, toDriverError } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import type { CapacityRange } from "./capacity.js";
import { sizeForRange } from "./capacity.js";
import {
  AlreadyExistsError,
  ArrayUnavailableError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OperationInProgressError,
  OutOfRangeError,
} from "./errors.js";
import type { ShadowImageSnapshotId } from "./ids.js";
import { InvalidIdError, parseSnapshotId, parseVolumeId } from "./ids.js";
import { bytesOf, inPair } from "./ldev-placement.js";
import { volumeLabel } from "./names.js";
import { pollFor } from "./poll.js";
import type { CopySpeed } from "./parameters.js";
import { ShadowImageCopies } from "./shadow-image-copies.js";
import { SI_SPLIT, statusOf } from "./shadow-image-pairs.js";
import type { SnapshotService } from "./snapshots.js";
import { inSharedGroup } from "./shared-groups.js";
import { dataReductionOf, READY_STATUSES } from "./snapshots.js";
import type { CreateVolumeInput, Volume, VolumeService } from "./volumes.js";

export type ContentSource = { kind: "snapshot"; snapshotId: string } | { kind: "volume"; volumeId: string };

export interface CloneInput extends CreateVolumeInput {
  source: ContentSource;
}

export interface CloneOptions {
  /** How long a call waits for a copy to start (COPY → PSUP) or, to grow the volume, to end. */
  waitMs?: number;
  pollMs?: number;
}

type CopyMethod = "thinImage" | "shadowImage";

/** What the copy reads from: the clone pair's P-VOL. */
interface Source {
  array: ManagedArray;
  pvol: Ldev;
  bytes: bigint;
  what: "snapshot" | "volume";
  /** Whether a ShadowImage pair may copy from it (not a ShadowImage snapshot still paired). */
  shadowImageCopyable: boolean;
}

/** Clone pair statuses in which the new volume cannot be used yet (§6: COPY, PAIR). */
const STARTING = new Set(["COPY", "PAIR"]);
const BLOCK = 512n;

export class CloneService {
  private readonly waitMs: number;
  private readonly pollMs: number;
  private readonly shadowImage: ShadowImageCopies;

  constructor(
    private readonly volumes: VolumeService,
    private readonly snapshots: SnapshotService,
    options: CloneOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 3_000;
    this.pollMs = options.pollMs ?? 250;
    this.shadowImage = new ShadowImageCopies(volumes, {
      waitMs: this.waitMs,
      pollMs: Math.min(this.pollMs, 100),
    });
  }

  async create(input: CloneInput): Promise<Volume> {
    const label = volumeLabel(this.volumes.driverName, input.name);
    let source: Source;
    try {
      source = await this.resolve(input.source);
    } catch (err) {
      if (err instanceof NotFoundError) return this.sourceGone(input.source, label, err);
      throw err;
    }
    const { array } = source;
    const wantedArray = input.parameters.array;
    if (wantedArray !== undefined && wantedArray !== array.config.name) {
      throw new InvalidArgumentError(
        `parameter array: the source ${source.what} is on array "${array.config.name}", and a copy stays on its array`,
      );
    }
    const target = targetSize(input.range, source);
    const poolId = input.parameters.pool ?? source.pvol.poolId ?? array.config.defaultPoolId;
    const { dataReductionMode } = input.parameters;
    const placed = await this.volumes.ldevs.place(array, {
      label,
      poolId,
      bytes: source.bytes,
      dataReductionMode,
    });
    let ldev = placed.ldev;
    if (placed.existed) checkReuse(input, ldev, poolId, source.bytes, target);
    if (methodFor(input, source) === "shadowImage") {
      return this.copyWithShadowImage(input, source, ldev, label, target);
    }
    let pair = placed.existed ? await this.clonePairOf(array, ldev.ldevId) : undefined;
    if (pair && pair.pvolLdevId !== source.pvol.ldevId) {
      throw new AlreadyExistsError(
        `a volume named "${input.name}" already exists, copied from another source`,
      );
    }
    if (!pair && needsCopy(ldev, source.bytes)) {
      // The pair create's job ends once the copy runs (PSUP) or is done: no read-back needed.
      await this.startCopy(array, source, ldev, label, input.parameters.copySpeed ?? "medium");
      if (target > bytesOf(ldev)) ldev = await this.grow(array, ldev, target, true, source.what);
      return this.volumes.toVolume(array, ldev, label);
    }
    if (pair && STARTING.has(pair.status)) pair = await this.waitWhile(array, ldev.ldevId, STARTING);
    if (pair && STARTING.has(pair.status)) {
      throw new OperationInProgressError(`the copy into the new volume is starting (${pair.status}); retry`);
    }
    if (target > bytesOf(ldev)) ldev = await this.grow(array, ldev, target, pair !== undefined, source.what);
    return this.volumes.toVolume(array, ldev, label);
  }

  /** The ShadowImage path (shadow-image-copies.ts): copy, then grow once the copy stands alone. */
  private async copyWithShadowImage(
    input: CloneInput,
    source: Source,
    placed: Ldev,
    label: string,
    target: bigint,
  ): Promise<Volume> {
    const { array, pvol, what } = source;
    const running = await this.shadowImage.copy({ array, pvol, what, ldev: placed, label, name: input.name });
    let ldev = placed;
    if (target > bytesOf(ldev)) {
      if (running) throw growLater(running.copyProgressRate ?? 0, what, target);
      ldev = await this.expandTo(array, ldev, target);
    }
    return this.volumes.toVolume(array, ldev, label);
  }

  /** The clone pair's P-VOL, or NOT_FOUND; a snapshot must be split (ready) to be copied. */
  private async resolve(source: ContentSource): Promise<Source> {
    if (source.kind === "volume") {
      const volume = await this.volumes.get(source.volumeId);
      return {
        array: volume.array,
        pvol: volume.ldev,
        bytes: volume.bytes,
        what: "volume",
        shadowImageCopyable: true,
      };
    }
    const id = shadowImageIdOf(source.snapshotId);
    if (id) return this.resolveShadowImage(id, source.snapshotId);
    const snap = await this.snapshots.resolve(source.snapshotId);
    if (!snap) throw new NotFoundError(`snapshot ${source.snapshotId} does not exist`);
    const status = snap.pair.status;
    if (status === "PSUE") {
      throw new FailedPreconditionError(
        "the snapshot is suspended (PSUE): its data is lost, typically because its snapshot pool filled up",
      );
    }
    if (!READY_STATUSES.has(status)) {
      throw new ArrayUnavailableError(`the snapshot is not ready yet (pair status ${status}); retry`);
    }
    if (!snap.svol) throw new FailedPreconditionError("the snapshot has no S-VOL to restore from");
    return {
      array: snap.array,
      pvol: snap.svol,
      bytes: bytesOf(snap.svol),
      what: "snapshot",
      shadowImageCopyable: false,
    };
  }

  /** A ShadowImage snapshot's S-VOL: ready once split (PSUS), or alone (its source deleted). */
  private async resolveShadowImage(id: ShadowImageSnapshotId, snapshotId: string): Promise<Source> {
    const snap = await this.snapshots.shadowImage.resolve(id);
    if (!snap) throw new NotFoundError(`snapshot ${snapshotId} does not exist`);
    const status = snap.pair ? statusOf(snap.pair) : SI_SPLIT;
    if (status === "PSUE") {
      throw new FailedPreconditionError(
        "the snapshot is suspended (PSUE): its full copy did not complete, typically because its pool filled up",
      );
    }
    if (status !== SI_SPLIT) {
      throw new ArrayUnavailableError(
        `the snapshot is not ready yet (ShadowImage copy ${status}, ${snap.pair?.copyProgressRate ?? 0}% done); retry`,
      );
    }
    const { array, svol } = snap;
    return { array, pvol: svol, bytes: bytesOf(svol), what: "snapshot", shadowImageCopyable: !snap.pair };
  }

  /**
   * The source is gone. A retry after the copy ended (and the source was deleted since) returns
   * the finished volume; a volume that never received data is removed, so nothing leaks.
   */
  private async sourceGone(source: ContentSource, label: string, err: NotFoundError): Promise<Volume> {
    const array = this.arrayOf(source);
    const ldev = array && (await this.volumes.ldevs.findLabelled(array, label));
    if (!array || !ldev) throw err;
    if ((ldev.numOfUsedBlock ?? 0) > 0 || inPair(ldev)) return this.volumes.toVolume(array, ldev, label);
    await this.volumes.ldevs.deleteLdev(array, ldev, "removing a volume whose source is gone");
    throw err;
  }

  private arrayOf(source: ContentSource): ManagedArray | undefined {
    try {
      const id =
        source.kind === "volume" ? parseVolumeId(source.volumeId) : parseSnapshotId(source.snapshotId);
      return this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    } catch (err) {
      if (err instanceof InvalidIdError) return undefined;
      throw err;
    }
  }

  /** The clone pair copying into the volume, if any. */
  private async clonePairOf(array: ManagedArray, ldevId: number): Promise<ArrayPair | undefined> {
    const pairs = await onArray("reading the volume's copy", () =>
      array.client.snapshots.list({ svolLdevId: ldevId }),
    );
    return pairs.find((p) => p.svolLdevId === ldevId && p.isClone === true);
  }

  /** Creates the clone pair; its job ends once the copy runs (PSUP), or when the copy is done. */
  private async startCopy(
    array: ManagedArray,
    source: Source,
    ldev: Ldev,
    label: string,
    copySpeed: CopySpeed,
  ): Promise<void> {
    const snapshotPoolId = array.config.snapshotPoolId ?? source.pvol.poolId ?? array.config.defaultPoolId;
    try {
      await inSharedGroup(array, "copies", ldev.ldevId, (snapshotGroupName) =>
        array.client.snapshots.create({
          snapshotGroupName,
          snapshotPoolId,
          pvolLdevId: source.pvol.ldevId,
          svolLdevId: ldev.ldevId,
          isClone: true,
          canCascade: true,
          clonesAutomation: true,
          copySpeed,
          ...(dataReductionOf(source.pvol) ? { isDataReductionForceCopy: true } : {}),
        }),
      );
    } catch (err) {
      // The new volume is empty and unpaired: remove it, so a failure leaves nothing behind.
      await this.volumes.ldevs.deleteLdev(array, ldev, "removing the new volume").catch(() => undefined);
      throw copyError(err, source.what);
    }
  }

  /** Polls the clone pair while its status is in `statuses`, for at most waitMs (poll.ts). */
  private async waitWhile(
    array: ManagedArray,
    ldevId: number,
    statuses: ReadonlySet<string> | "any",
  ): Promise<ArrayPair | undefined> {
    const polled = await pollFor(
      () => this.clonePairOf(array, ldevId),
      (pair) => pair === undefined || (statuses !== "any" && !statuses.has(pair.status)),
      { waitMs: this.waitMs, pollMs: this.pollMs },
    );
    return polled.value;
  }

  /** Grows the volume to `target` once its copy has ended (ABORTED while it still runs). */
  private async grow(
    array: ManagedArray,
    ldev: Ldev,
    target: bigint,
    copying: boolean,
    what: Source["what"],
  ): Promise<Ldev> {
    const running = copying ? await this.waitWhile(array, ldev.ldevId, "any") : undefined;
    if (running) throw growLater(running.progressRate ?? 0, what, target);
    return this.expandTo(array, ldev, target);
  }

  /** Grows an independent volume (no copy into it any more) to `target` bytes. */
  private async expandTo(array: ManagedArray, ldev: Ldev, target: bigint): Promise<Ldev> {
    const additionalBlockCapacity = Number((target - bytesOf(ldev)) / BLOCK);
    await onArray("growing the new volume", () =>
      array.client.ldevs.expand(ldev.ldevId, { additionalBlockCapacity }),
    );
    const grown = await onArray("reading the new volume", () => array.client.ldevs.get(ldev.ldevId));
    if (!grown) throw new NotFoundError(`the new LDEV ${ldev.ldevId} disappeared`);
    return grown;
  }
}

/** The StorageClass's copy method, where the source allows it (see the module comment). */
function methodFor(input: CloneInput, source: Source): CopyMethod {
  return input.parameters.copyMethod === "shadowImage" && source.shadowImageCopyable
    ? "shadowImage"
    : "thinImage";
}

function shadowImageIdOf(snapshotId: string): ShadowImageSnapshotId | undefined {
  try {
    const id = parseSnapshotId(snapshotId);
    return id.kind === "si-snapshot" ? id : undefined;
  } catch (err) {
    if (err instanceof InvalidIdError) return undefined;
    throw err;
  }
}

function growLater(progress: number, what: Source["what"], target: bigint): OperationInProgressError {
  return new OperationInProgressError(
    `copying from the ${what} (${progress}% done); the volume will be grown to ${target} bytes when the copy ends; retry`,
  );
}

/** An LDEV that still has to receive the source's data: source-sized, empty, in no pair. */
function needsCopy(ldev: Ldev, sourceBytes: bigint): boolean {
  return bytesOf(ldev) === sourceBytes && (ldev.numOfUsedBlock ?? 0) === 0 && !inPair(ldev);
}

function asBytes(value: string | number | null | undefined, field: string): bigint {
  if (value === null || value === undefined || value === "") return 0n;
  if (!/^\d+$/.test(String(value)))
    throw new InvalidArgumentError(`capacity_range.${field} must be a non-negative integer`);
  return BigInt(value);
}

/** The size asked for: the source's size, or more (grown after the copy); never less. */
function targetSize(range: CapacityRange | null | undefined, source: Source): bigint {
  const required = asBytes(range?.required_bytes, "required_bytes");
  const limit = asBytes(range?.limit_bytes, "limit_bytes");
  if (limit > 0n && limit < source.bytes) {
    throw new OutOfRangeError(
      `the source ${source.what} is ${source.bytes} bytes; capacity_range.limit_bytes ${limit} is smaller, and a copy cannot shrink`,
    );
  }
  return required <= source.bytes ? source.bytes : sizeForRange(range);
}

/** A volume of this name exists: it must be this copy (maybe not grown yet), or ALREADY_EXISTS. */
function checkReuse(
  input: CloneInput,
  ldev: Ldev,
  poolId: number,
  sourceBytes: bigint,
  target: bigint,
): void {
  const bytes = bytesOf(ldev);
  const mode = input.parameters.dataReductionMode;
  const problems = [
    bytes === target || bytes === sourceBytes ? "" : `its size is ${bytes} bytes`,
    ldev.poolId === poolId ? "" : `it is in pool ${ldev.poolId ?? "?"}`,
    mode === undefined || mode === (ldev.dataReductionMode ?? "disabled")
      ? ""
      : `its data reduction is ${ldev.dataReductionMode ?? "?"}`,
  ].filter(Boolean);
  if (problems.length > 0) {
    throw new AlreadyExistsError(
      `a volume named "${input.name}" already exists but ${problems.join(" and ")}`,
    );
  }
}

function copyError(err: unknown, what: Source["what"]): unknown {
  if (err instanceof VspNotFoundError) {
    return new NotFoundError(`the source ${what} disappeared while the copy was starting`, { cause: err });
  }
  return toDriverError(err, `starting the copy from the ${what}`);
}
