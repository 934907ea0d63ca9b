/**
 * ShadowImage snapshots (VolumeSnapshotClass `copyMethod: shadowImage`): a full copy of the source
 * into a DP volume of its size, independent of the source once split (ARCHITECTURE §4;
 * vsp-rest-api.md §6 "ShadowImage"). Pairs, names and NoWait: shadow-image-pairs.ts.
 *
 * On the array, everything is found again from the CO name alone:
 *   - the copy group `ci-…` = shadowImageCopyGroupName(driver, name), one pair per group, so
 *     `GET local-clone-copygroups/<ci-…,pi-…,si-…>` answers "does it exist, and of which volume?";
 *   - the S-VOL carries the same `ci-…` as its label and is placed like a volume
 *     (ldev-placement.ts): the S-VOL of a crashed attempt is found again, or adopted unlabelled;
 *   - the snapshot ID is `1.<sid>.si.<svol>.ci-…` (ids.ts).
 *
 * CreateSnapshot: S-VOL (place, label) → pair (NoWait) → steady split (NoWait). The image is the
 * P-VOL at the split (D-SI-STATUS; sim: engine.ts "a split during COPY"), so the snapshot is cut
 * when CreateSnapshot returns (CSI). The copy then runs in the background: the pair shows COPY
 * (GUI COPY(SP)) and the snapshot is not ready; PSUS = ready. A quick split would end in PSUS at
 * once (sim: with no copy left to follow) and a real array cannot delete a pair in its PSUS(SP)
 * (§6), so the steady split is the one whose status tells when the S-VOL stands on its own.
 * Every retry of CreateSnapshot while the pair shows COPY splits again, which does nothing when the
 * pair is split already (the COPY view does not tell COPY(SP) from COPY(PD)).
 *
 * creation_time is the time in the pair's name, `t<unix seconds>` of the call that made the pair
 * and split it right after: the image is cut in that same call, so the name is never earlier than
 * the cut by more than that call's own duration. A pair never goes on unsplit under an old name:
 *   - a split that fails removes the pair and the S-VOL (as a failed pair create does), so the
 *     retry makes a new pair, named then;
 *   - a retry finding the pair in PAIR (split never reached, e.g. the controller died between the
 *     two calls) deletes it and makes it again, named then, before splitting: the image is cut now.
 * Residual (documented, not closed): a controller death between the pair create and the split
 * while the initial copy still runs leaves COPY, which the array shows alike split or not; the
 * retry splits (a no-op if split) and keeps the name, up to the death-to-retry delay early. And a
 * second failure inside either clean-up, after the pair delete and before the S-VOL delete, leaves
 * a labelled S-VOL with data and no pair, which a retry cannot tell from a finished snapshot of a
 * deleted source: ALREADY_EXISTS until that VolumeSnapshot is deleted.
 *
 * A pair the array suspended (PSUE: the copy failed, typically its pool filled up) never becomes a
 * usable snapshot: CreateSnapshot finding it removes the pair and the S-VOL and answers
 * RESOURCE_EXHAUSTED, so that the CO's retry takes the snapshot anew once capacity is freed.
 *
 * The pair stays split while the source lives (it names the source and the cut time). Deleting the
 * source deletes the split pairs of its ShadowImage snapshots first (volumes.ts): the snapshot is
 * then its labelled S-VOL alone — still ready, sized by the S-VOL, but the array no longer records
 * its source or cut time: source_volume_id is answered empty and creation_time as the Unix epoch
 * ("unknown"; it is stable, unlike "now").
 */
import { VspError } from "../array/errors.js";
import type { Ldev, LocalCloneCopyPair } from "../array/types.js";
import { onArray, toDriverError } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  OperationInProgressError,
  ResourceExhaustedError,
} from "./errors.js";
import type { ShadowImageSnapshotId } from "./ids.js";
import { formatSnapshotId, formatVolumeId } from "./ids.js";
import { bytesOf, inPair } from "./ldev-placement.js";
import { classifyLabel, shadowImageCopyGroupName } from "./names.js";
import type { SiNames, SiWaitOptions } from "./shadow-image-pairs.js";
import {
  createPairMakingRoom,
  deletePair,
  dissolveFinishedCopies,
  getPair,
  groupPair,
  isRefusal,
  SI_SPLIT,
  siNames,
  splitPair,
  statusOf,
  timeOfPairName,
} from "./shadow-image-pairs.js";
import type { CreateSnapshotInput, Snapshot } from "./snapshots.js";
import type { Volume, VolumeService } from "./volumes.js";
import type { PlaceLdevInput } from "./ldev-allocator.js";

/** A ShadowImage snapshot as the array holds it now: what restores read. */
export interface ResolvedShadowImageSnapshot {
  id: ShadowImageSnapshotId;
  array: ManagedArray;
  svol: Ldev;
  /** The snapshot's own pair with its source; undefined once the source was deleted. */
  pair: LocalCloneCopyPair | undefined;
}

/** What creation_time says once the array no longer records it (see the module comment). */
export const UNKNOWN_TIME = new Date(0);

export class ShadowImageSnapshots {
  constructor(
    private readonly volumes: VolumeService,
    private readonly wait: SiWaitOptions = {},
  ) {}

  async create(input: CreateSnapshotInput, source: Volume): Promise<Snapshot> {
    const { array } = source;
    const names = siNames(shadowImageCopyGroupName(this.volumes.driverName, input.name));
    const existing = await groupPair(array, names);
    if (existing) {
      if (existing.pvolLdevId !== source.ldev.ldevId) {
        throw new AlreadyExistsError(
          `a snapshot named "${input.name}" already exists, of another volume (LDEV ${existing.pvolLdevId})`,
        );
      }
      const svol = await this.svolOf(array, existing);
      const pair = await this.resume(array, source, svol, existing, names, input.name);
      return this.describe(array, names.copyGroupName, svol, pair, source.ldev);
    }
    const svol = await this.svolFor(array, source, names.copyGroupName, input.name);
    const pair = await this.start(array, source, svol, names);
    return this.describe(array, names.copyGroupName, svol, pair, source.ldev);
  }

  /**
   * Idempotent: no array, no S-VOL of ours, or nothing left is success. Refused (FAILED_PRECONDITION,
   * nothing deleted) while a restore or clone copies from the S-VOL; a finished ShadowImage copy of
   * ours still paired with it is dissolved first (`dissolveFinishedCopies`). The pair goes first,
   * then the S-VOL (the array refuses to delete an LDEV in a pair).
   */
  async delete(id: ShadowImageSnapshotId): Promise<void> {
    const array = this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    if (!array) return;
    const svol = await this.ownSvol(array, id);
    if (!svol) return;
    const pair = inPair(svol) ? await this.ownPair(array, id) : undefined;
    await this.checkNoCopyFrom(array, svol, pair);
    if (pair) await this.deleteOwnPair(array, pair);
    try {
      await this.volumes.ldevs.deleteLdev(array, svol, "deleting the snapshot's S-VOL");
    } catch (err) {
      if (err instanceof FailedPreconditionError) throw restoreRunning(err);
      throw err;
    }
  }

  /** The snapshot, or undefined for an unknown array or a snapshot gone. */
  async find(id: ShadowImageSnapshotId): Promise<Snapshot | undefined> {
    const array = this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    const svol = array && (await this.ownSvol(array, id));
    return array && svol && this.describeSvol(array, svol);
  }

  /**
   * The snapshot an S-VOL labelled `ci-…` is: with its pair and source while they exist. `known`
   * are LDEVs already read (a range listing), to spare reading the source again.
   */
  async describeSvol(array: ManagedArray, svol: Ldev, known?: ReadonlyMap<number, Ldev>): Promise<Snapshot> {
    const copyGroupName = svol.label ?? "";
    const id = {
      kind: "si-snapshot",
      storageDeviceId: array.config.storageDeviceId,
      svolLdevId: svol.ldevId,
      copyGroupName,
    } as const;
    const pair = inPair(svol) ? await this.ownPair(array, id) : undefined;
    const pvol = pair && (known?.get(pair.pvolLdevId) ?? (await this.ldev(array, pair.pvolLdevId)));
    return this.describe(array, copyGroupName, svol, pair, pvol);
  }

  /** The S-VOL and the snapshot's pair (if the source still lives), or undefined when gone. */
  async resolve(id: ShadowImageSnapshotId): Promise<ResolvedShadowImageSnapshot | undefined> {
    const array = this.volumes.arrays.byStorageDeviceId(id.storageDeviceId);
    if (!array) return undefined;
    const svol = await this.ownSvol(array, id);
    if (!svol) return undefined;
    const pair = inPair(svol) ? await this.ownPair(array, id) : undefined;
    return { id, array, svol, pair };
  }

  /** The snapshot an S-VOL of ours (label `ci-…`) is, as CSI describes it. */
  describe(
    array: ManagedArray,
    copyGroupName: string,
    svol: Ldev,
    pair: LocalCloneCopyPair | undefined,
    pvol: Ldev | undefined,
  ): Snapshot {
    const storageDeviceId = array.config.storageDeviceId;
    const id: ShadowImageSnapshotId = {
      kind: "si-snapshot",
      storageDeviceId,
      svolLdevId: svol.ldevId,
      copyGroupName,
    };
    const source =
      pvol && classifyLabel(pvol.label ?? "") === "volume"
        ? formatVolumeId({ storageDeviceId, ldevId: pvol.ldevId, label: pvol.label ?? "" })
        : "";
    const status = pair ? statusOf(pair) : "SMPL";
    return {
      snapshotId: formatSnapshotId(id),
      id,
      array,
      sourceVolumeId: source,
      bytes: bytesOf(svol),
      creationTime: pair ? (timeOfPairName(pair.copyPairName) ?? UNKNOWN_TIME) : UNKNOWN_TIME,
      // Alone (its source deleted), the S-VOL holds the complete image: it was split and copied.
      readyToUse: pair ? status === SI_SPLIT : true,
      status,
      svolLdevId: svol.ldevId,
    };
  }

  /** An LDEV, or undefined for a free id. */
  ldev(array: ManagedArray, ldevId: number): Promise<Ldev | undefined> {
    return onArray("reading an LDEV of the snapshot", () => array.client.ldevs.get(ldevId));
  }

  // ---- creation ----------------------------------------------------------------------------

  /** The S-VOL, placed by the copy group's name; a leftover that no longer fits is replaced. */
  private async svolFor(array: ManagedArray, source: Volume, label: string, name: string): Promise<Ldev> {
    const mode = source.ldev.dataReductionMode;
    const wanted: PlaceLdevInput = {
      label,
      poolId: source.ldev.poolId ?? array.config.defaultPoolId,
      bytes: source.bytes,
      // The S-VOL saves capacity as its source does (as Thin Image S-VOLs do, snapshots.ts).
      ...(mode === "compression" || mode === "compression_deduplication" ? { dataReductionMode: mode } : {}),
    };
    return this.volumes.ldevs.placeSvol(array, wanted, (svol) => {
      // Data and no pair: a finished snapshot whose source was deleted, not a crashed attempt.
      if ((svol.numOfUsedBlock ?? 0) > 0) {
        throw new AlreadyExistsError(`a snapshot named "${name}" already exists, of a volume since deleted`);
      }
    });
  }

  /** Pair (NoWait) and split; a failure removes what this call made, so nothing is left. */
  private async start(
    array: ManagedArray,
    source: Volume,
    svol: Ldev,
    names: SiNames,
  ): Promise<LocalCloneCopyPair> {
    const reduced = [source.ldev, svol].some((l) => (l.dataReductionMode ?? "disabled") !== "disabled");
    let pairId: string;
    try {
      pairId = await createPairMakingRoom(
        array,
        this.volumes.driverName,
        { names, pvolLdevId: source.ldev.ldevId, svolLdevId: svol.ldevId, isDataReductionForceCopy: reduced },
        this.wait,
      );
    } catch (err) {
      // The S-VOL holds no data yet: it goes with the failed pair.
      await this.volumes.ldevs
        .deleteLdev(array, svol, "removing the S-VOL of a failed snapshot")
        .catch(() => undefined);
      throw pairCreateError(err, svol);
    }
    const pair = await getPair(array, pairId);
    if (!pair) throw new OperationInProgressError("the new ShadowImage pair is not visible yet; retry");
    try {
      return await this.cut(array, pair);
    } catch (err) {
      // Not split: the pair must not live on under the name of a cut that did not happen.
      await this.removeAttempt(array, pairId, svol);
      throw err;
    }
  }

  /**
   * A retry that finds the snapshot's pair (see the module comment): split if not known split;
   * made anew when it never was (PAIR); removed with an error when the array suspended it (PSUE).
   */
  private async resume(
    array: ManagedArray,
    source: Volume,
    svol: Ldev,
    pair: LocalCloneCopyPair,
    names: SiNames,
    name: string,
  ): Promise<LocalCloneCopyPair> {
    const status = statusOf(pair);
    if (status === "PSUE") return this.discardSuspended(array, svol, pair, name);
    if (status !== "PAIR") return this.cut(array, pair);
    await this.deleteOwnPair(array, pair);
    return this.start(array, source, svol, names);
  }

  /** Best effort: the pair, then the S-VOL of an attempt that failed; what stays, a retry finds. */
  private async removeAttempt(array: ManagedArray, pairId: string, svol: Ldev): Promise<void> {
    try {
      const pair = await getPair(array, pairId);
      if (pair) await deletePair(array, pair, this.wait);
      await this.volumes.ldevs.deleteLdev(array, svol, "removing the S-VOL of a failed snapshot");
    } catch {
      // The error that made this attempt fail is the one to answer.
    }
  }

  private async discardSuspended(
    array: ManagedArray,
    svol: Ldev,
    pair: LocalCloneCopyPair,
    name: string,
  ): Promise<never> {
    await this.deleteOwnPair(array, pair);
    await this.volumes.ldevs.deleteLdev(array, svol, "removing the S-VOL of a failed snapshot");
    throw new ResourceExhaustedError(
      `the full copy of snapshot "${name}" was suspended by the array (PSUE), typically because pool ${svol.poolId ?? "?"} filled up; it was removed: free capacity in the pool, and a retry takes the snapshot anew`,
    );
  }

  /** Splits a pair not known to be split (COPY, PAIR); answers the pair as it is then. */
  private async cut(array: ManagedArray, pair: LocalCloneCopyPair): Promise<LocalCloneCopyPair> {
    const status = statusOf(pair);
    if (status !== "COPY" && status !== "PAIR") return pair;
    await splitPair(array, pair.localCloneCopypairId, false);
    const now = await getPair(array, pair.localCloneCopypairId);
    if (!now) throw new OperationInProgressError("the ShadowImage pair disappeared while being split; retry");
    return now;
  }

  // ---- deletion and lookups -------------------------------------------------------------------

  /**
   * Refused while another copy reads the S-VOL: a Thin Image clone (HTI: restores, D-HTI-MATRIX) or
   * a ShadowImage copy still running (MRCF without the snapshot's own pair). Finished ShadowImage
   * copies of ours that still hang on it are dissolved.
   */
  private async checkNoCopyFrom(
    array: ManagedArray,
    svol: Ldev,
    own: LocalCloneCopyPair | undefined,
  ): Promise<void> {
    const attributes = svol.attributes ?? [];
    if (attributes.includes("HTI")) throw restoreRunning();
    if (!attributes.includes("MRCF") || own) return;
    const { blocking } = await dissolveFinishedCopies(array, this.volumes.driverName, svol.ldevId, this.wait);
    if (blocking) throw restoreRunning(undefined, blocking);
  }

  private async deleteOwnPair(array: ManagedArray, pair: LocalCloneCopyPair): Promise<void> {
    try {
      await deletePair(array, pair, this.wait);
    } catch (err) {
      if (!isRefusal(err)) throw toDriverError(err, "deleting the snapshot's ShadowImage pair");
      throw new OperationInProgressError(
        `the snapshot's ShadowImage pair cannot be deleted in status ${statusOf(pair)} now; retry`,
        { cause: err },
      );
    }
  }

  /** The S-VOL an ID names, unless gone or its LDEV number now belongs to something else. */
  private async ownSvol(array: ManagedArray, id: ShadowImageSnapshotId): Promise<Ldev | undefined> {
    const svol = await this.ldev(array, id.svolLdevId);
    return svol?.label === id.copyGroupName ? svol : undefined;
  }

  /** The snapshot's own pair (its copy group, onto this S-VOL), or undefined. */
  private async ownPair(
    array: ManagedArray,
    id: ShadowImageSnapshotId,
  ): Promise<LocalCloneCopyPair | undefined> {
    const pair = await groupPair(array, siNames(id.copyGroupName));
    return pair?.svolLdevId === id.svolLdevId ? pair : undefined;
  }

  private async svolOf(array: ManagedArray, pair: LocalCloneCopyPair): Promise<Ldev> {
    const svol = await this.ldev(array, pair.svolLdevId);
    if (!svol)
      throw new OperationInProgressError(
        `the snapshot's S-VOL (LDEV ${pair.svolLdevId}) is not readable; retry`,
      );
    return svol;
  }
}

function restoreRunning(cause?: unknown, why?: string): FailedPreconditionError {
  return new FailedPreconditionError(
    `a restore or clone from this snapshot is still copying${why === undefined ? "" : ` (${why})`}; retry when it completes`,
    cause === undefined ? undefined : { cause },
  );
}

/** Pair-create refusals with what to do about them; the rest as array-errors.ts maps them. */
export function pairCreateError(err: unknown, svol: Ldev): unknown {
  if (err instanceof VspError && err.is("POOL_FULL")) {
    return new ResourceExhaustedError(
      `pool ${svol.poolId ?? "?"} is full: a ShadowImage copy needs the source's full size in it; free capacity in the pool or add pool volumes`,
      { cause: err },
    );
  }
  if (err instanceof VspError && err.is("MU_IN_USE")) {
    return new ResourceExhaustedError(
      "the source volume is already in 3 ShadowImage pairs, the array's limit per volume (MU 0-2): its ShadowImage snapshots and copies still running; delete one of its ShadowImage snapshots or retry when a copy completes, or use copyMethod thinImage",
      { cause: err },
    );
  }
  return toDriverError(err, "creating the ShadowImage pair");
}
