/**
 * ShadowImage copies into new volumes (StorageClass `copyMethod: shadowImage`: a PVC clone, or a
 * restore from a ShadowImage snapshot standing alone), and what deleting a volume does to its
 * ShadowImage pairs (vsp-rest-api.md §6 "ShadowImage"; pairs and names: shadow-image-pairs.ts).
 *
 * A copy: the new volume (its `cv-` label, placed as any volume by clones.ts) becomes the S-VOL of
 * a pair from the source in the copy group derived from that label; the pair is created (NoWait)
 * and quick-split at once (NoWait), so the volume is usable now and holds the source as it was at
 * the split (D-SI-STATUS). The pair is deleted once PSUS, leaving an independent volume; a real
 * array refuses that during the background copy of a quick split (PSUS(SP), §6) — the pair then
 * stays, and whoever finds it finished later deletes it (shadow-image-pairs.ts
 * `dissolveFinishedCopies`): a DeleteVolume of either volume, a DeleteSnapshot of the snapshot it
 * copies from, a new ShadowImage pair of its source that needs the MU slot it holds.
 *
 * Retries and crashes converge from the array alone: the pair by its copy group, the volume by its
 * label; a labelled volume with neither a pair nor data never got its pair (it gets it now), one
 * with data and no pair is finished (as clones.ts judges Thin Image copies).
 */
import type { Ldev, LocalCloneCopyPair } from "../array/types.js";
import { onArray, toDriverError } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  OperationInProgressError,
  ResourceExhaustedError,
} from "./errors.js";
import { bytesOf, inPair } from "./ldev-placement.js";
import type { SiNames, SiWaitOptions } from "./shadow-image-pairs.js";
import {
  cloneNames,
  createPairMakingRoom,
  deletePair,
  getPair,
  groupPair,
  isRefusal,
  ourPairs,
  SI_COPYING,
  SI_SPLIT,
  splitPair,
  statusOf,
} from "./shadow-image-pairs.js";
import { pairCreateError } from "./shadow-image-snapshots.js";
import type { VolumeService } from "./volumes.js";

export interface ShadowImageCopyInput {
  array: ManagedArray;
  /** What is copied: a volume, or a snapshot's S-VOL. */
  pvol: Ldev;
  what: "snapshot" | "volume";
  /** The new volume, placed and labelled. */
  ldev: Ldev;
  label: string;
  /** The CO name of the new volume, for messages. */
  name: string;
}

export class ShadowImageCopies {
  constructor(
    private readonly volumes: VolumeService,
    private readonly wait: SiWaitOptions = {},
  ) {}

  /**
   * Copies the source into the new volume; answers the pair while the array still copies in the
   * background after the split (the volume is usable), undefined once it stands alone.
   */
  async copy(input: ShadowImageCopyInput): Promise<LocalCloneCopyPair | undefined> {
    const { array, pvol, ldev } = input;
    const names = cloneNames(this.volumes.driverName, input.label);
    let pair = await groupPair(array, names);
    if (pair && (pair.pvolLdevId !== pvol.ldevId || pair.svolLdevId !== ldev.ldevId)) {
      throw new AlreadyExistsError(
        `a volume named "${input.name}" already exists, copied from another source`,
      );
    }
    if (!pair) {
      if (!needsCopy(ldev, bytesOf(pvol))) return undefined;
      pair = await this.start(input, names);
    }
    return this.finish(input, pair);
  }

  private async start(input: ShadowImageCopyInput, names: SiNames): Promise<LocalCloneCopyPair> {
    const { array, pvol, ldev } = input;
    const reduced = [pvol, ldev].some((l) => (l.dataReductionMode ?? "disabled") !== "disabled");
    let pairId: string;
    try {
      pairId = await createPairMakingRoom(
        array,
        this.volumes.driverName,
        { names, pvolLdevId: pvol.ldevId, svolLdevId: ldev.ldevId, isDataReductionForceCopy: reduced },
        this.wait,
      );
    } catch (err) {
      // The new volume is empty and unpaired: remove it, so a failure leaves nothing behind.
      await this.volumes.ldevs.deleteLdev(array, ldev, "removing the new volume").catch(() => undefined);
      throw copyError(err, ldev, input.what);
    }
    const pair = await getPair(array, pairId);
    if (!pair) throw new OperationInProgressError("the new ShadowImage pair is not visible yet; retry");
    return pair;
  }

  /** Quick split when not split yet; the pair deleted once split (PSUS). */
  private async finish(
    input: ShadowImageCopyInput,
    found: LocalCloneCopyPair,
  ): Promise<LocalCloneCopyPair | undefined> {
    const { array } = input;
    let pair: LocalCloneCopyPair | undefined = found;
    const before = statusOf(pair);
    if (before === "COPY" || before === "PAIR") {
      await splitPair(array, pair.localCloneCopypairId, true);
      pair = await getPair(array, pair.localCloneCopypairId);
      if (!pair) return undefined;
    }
    const status = statusOf(pair);
    if (status === "PSUE") return this.failed(input, pair);
    if (status !== SI_SPLIT) return pair;
    try {
      await deletePair(array, pair, this.wait);
      return undefined;
    } catch (err) {
      // PSUS(SP) on a real array: the background copy of the quick split must end first.
      if (isRefusal(err)) return pair;
      throw toDriverError(err, "deleting the ShadowImage pair of the finished copy");
    }
  }

  /** A copy the array suspended (PSUE): its data is incomplete; both pair and volume go. */
  private async failed(input: ShadowImageCopyInput, pair: LocalCloneCopyPair): Promise<never> {
    await deletePair(input.array, pair, this.wait);
    await this.volumes.ldevs.deleteLdev(input.array, input.ldev, "removing a volume whose copy failed");
    throw new ResourceExhaustedError(
      `the copy into the new volume was suspended by the array (PSUE), typically because pool ${input.ldev.poolId ?? "?"} filled up; free capacity and retry`,
    );
  }
}

/** An LDEV that still has to receive the source's data: source-sized, empty, in no pair. */
function needsCopy(ldev: Ldev, sourceBytes: bigint): boolean {
  return bytesOf(ldev) === sourceBytes && (ldev.numOfUsedBlock ?? 0) === 0 && !inPair(ldev);
}

function copyError(err: unknown, ldev: Ldev, what: ShadowImageCopyInput["what"]): unknown {
  if (isRefusal(err)) {
    return new FailedPreconditionError(
      `the source ${what} cannot be copied with ShadowImage now (it is itself the S-VOL of a ShadowImage copy still running, or in pairs that forbid it); retry when that completes, or use copyMethod thinImage`,
      { cause: err },
    );
  }
  return pairCreateError(err, ldev);
}

// ---- deleting a volume ------------------------------------------------------------------------

/**
 * The ShadowImage pairs to delete before `ldev`'s volume can go, or FAILED_PRECONDITION with what
 * is in the way (nothing deleted yet):
 *   - as P-VOL: split pairs of its ShadowImage snapshots (their S-VOLs keep the full image and
 *     stand alone) and of copies into new volumes (finished); a copy still running is refused;
 *   - as S-VOL: the copy into this volume itself, stopped — the volume is going anyway;
 *   - pairs of other copy groups: refused, they are not the driver's.
 */
export async function shadowImagePairsToRelease(
  volumes: VolumeService,
  array: ManagedArray,
  ldev: Ldev,
): Promise<LocalCloneCopyPair[]> {
  const pairs = (await ourPairs(array)).filter(
    (p) => p.pvolLdevId === ldev.ldevId || p.svolLdevId === ldev.ldevId,
  );
  if (pairs.length === 0) {
    throw new FailedPreconditionError(
      "volume is in ShadowImage pairs that vsp-csi did not make; delete them first",
    );
  }
  const labels = await labelsOf(
    array,
    pairs.filter((p) => p.svolLdevId !== ldev.ldevId).map((p) => p.svolLdevId),
  );
  const own = cloneNames(volumes.driverName, ldev.label ?? "").copyGroupName;
  for (const p of pairs) {
    if (p.svolLdevId === ldev.ldevId) {
      if (p.copyGroupName !== own) throw foreign();
      continue;
    }
    const svolLabel = labels.get(p.svolLdevId) ?? "";
    const isSnapshot = svolLabel === p.copyGroupName;
    const isCopy = cloneNames(volumes.driverName, svolLabel).copyGroupName === p.copyGroupName;
    if (!isSnapshot && !isCopy) throw foreign();
    checkReleasable(p, isSnapshot);
  }
  return pairs;
}

/**
 * The labels of the LDEVs (S-VOLs of the volume's pairs): one GET each, concurrently — never a
 * listing of the range, so a DeleteVolume costs the same however many LDEVs the array holds.
 */
async function labelsOf(array: ManagedArray, ldevIds: readonly number[]): Promise<Map<number, string>> {
  const read = await Promise.all(
    [...new Set(ldevIds)].map((id) =>
      onArray("reading the volume's ShadowImage pairs", () => array.client.ldevs.get(id)),
    ),
  );
  return new Map(read.flatMap((l) => (l ? [[l.ldevId, l.label ?? ""] as const] : [])));
}

function checkReleasable(p: LocalCloneCopyPair, isSnapshot: boolean): void {
  const status = statusOf(p);
  if (status === SI_SPLIT || (!isSnapshot && status === "PSUE")) return;
  if (isSnapshot && status === "PSUE") {
    throw new FailedPreconditionError(
      `a ShadowImage snapshot of this volume (S-VOL LDEV ${p.svolLdevId}) is suspended (PSUE) and holds no usable image; delete that VolumeSnapshot first`,
    );
  }
  if (isSnapshot && (SI_COPYING.has(status) || status === "PAIR")) {
    throw new FailedPreconditionError(
      `a ShadowImage snapshot is still copying from this volume (S-VOL LDEV ${p.svolLdevId}, ${p.copyProgressRate ?? 0}% done); retry when it completes`,
    );
  }
  throw new FailedPreconditionError(
    `volume still has a ShadowImage copy in progress to LDEV ${p.svolLdevId} (${status}, ${p.copyProgressRate ?? 0}% done); retry when it completes`,
  );
}

/** Deletes the pairs `shadowImagePairsToRelease` chose; a refusal is FAILED_PRECONDITION. */
export async function releaseShadowImagePairs(
  array: ManagedArray,
  pairs: LocalCloneCopyPair[],
): Promise<void> {
  for (const pair of pairs) {
    try {
      await deletePair(array, pair);
    } catch (err) {
      if (!isRefusal(err)) throw toDriverError(err, "deleting the volume's ShadowImage pair");
      throw new FailedPreconditionError(
        `the array refuses to delete ShadowImage pair ${pair.localCloneCopypairId} now (its copy still runs); retry when it completes`,
        { cause: err },
      );
    }
  }
}

function foreign(): FailedPreconditionError {
  return new FailedPreconditionError(
    "volume still has ShadowImage pairs on the array that vsp-csi did not make; delete them first",
  );
}
