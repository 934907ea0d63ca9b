/**
 * Volumes: CO names and sizes ↔ DP volumes (LDEVs) in HDP pools, labelled with the name's digest.
 * The array is the source of truth: every answer is read back from it, nothing is cached that a
 * second controller or a restart would need.
 */
import type { Ldev, Snapshot as ArrayPair } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { ArrayRegistry, ManagedArray } from "./arrays.js";
import type { CapacityRange } from "./capacity.js";
import { satisfiesRange, sizeForRange } from "./capacity.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  StaleTokenError,
} from "./errors.js";
import type { VolumeId } from "./ids.js";
import { formatVolumeId, InvalidIdError, parseVolumeId } from "./ids.js";
import { LdevAllocator } from "./ldev-allocator.js";
import { bytesOf, inPair } from "./ldev-placement.js";
import { classifyLabel, sharedGroupKind, volumeLabel } from "./names.js";
import { releaseShadowImagePairs, shadowImagePairsToRelease } from "./shadow-image-copies.js";
import type { MutableParameters, VolumeParameters } from "./parameters.js";

export interface Volume {
  volumeId: string;
  id: VolumeId;
  array: ManagedArray;
  ldev: Ldev;
  bytes: bigint;
}

const BLOCK = 512n;

export interface CreateVolumeInput {
  name: string;
  range: CapacityRange | null | undefined;
  parameters: VolumeParameters;
}

export class VolumeService {
  constructor(
    readonly arrays: ArrayRegistry,
    readonly driverName: string,
    /** Where volumes' and S-VOLs' LDEVs go and how they are found again (ldev-allocator.ts). */
    readonly ldevs: LdevAllocator = new LdevAllocator(),
  ) {}

  async create(input: CreateVolumeInput): Promise<Volume> {
    const array = this.arrays.forParameters(input.parameters.array);
    const poolId = input.parameters.pool ?? array.config.defaultPoolId;
    const bytes = sizeForRange(input.range);
    const label = volumeLabel(this.driverName, input.name);
    const { dataReductionMode } = input.parameters;
    const placed = await this.ldevs.place(array, { label, poolId, bytes, dataReductionMode });
    if (placed.existed) return this.reuse(array, placed.ldev, input, poolId);
    return this.toVolume(array, placed.ldev, label);
  }

  /** Idempotent: a volume that is gone, or whose LDEV now belongs to another volume, is deleted. */
  async delete(volumeId: string): Promise<void> {
    const found = await this.find(volumeId);
    if (!found) return;
    const { array, ldev } = found;
    if ((ldev.ports?.length ?? 0) > 0) {
      const where = (ldev.ports ?? [])
        .map((p) => `${p.portId}/${p.hostGroupName ?? p.hostGroupNumber}`)
        .join(", ");
      throw new FailedPreconditionError(`volume is still mapped to hosts (${where}); unpublish it first`);
    }
    if (inPair(ldev)) await this.releasePairs(array, ldev);
    await this.ldevs.deleteLdev(array, ldev, "deleting the volume");
  }

  /**
   * A volume in copy pairs: every refusal is checked (Thin Image, then ShadowImage) before any pair
   * is deleted, so a refused delete changes nothing. ShadowImage pairs (MRCF):
   * shadow-image-copies.ts `shadowImagePairsToRelease` — split pairs of the volume's ShadowImage
   * snapshots go (the snapshots keep their full copies), running copies refuse.
   */
  private async releasePairs(array: ManagedArray, ldev: Ldev): Promise<void> {
    const attributes = ldev.attributes ?? [];
    const shadowImage = attributes.includes("MRCF");
    const thinImage =
      shadowImage && !attributes.includes("HTI") ? [] : await this.thinImagePairsToRelease(array, ldev);
    const siPairs = shadowImage ? await shadowImagePairsToRelease(this, array, ldev) : [];
    for (const pair of thinImage) {
      await onArray("stopping the copy into the volume", () =>
        array.client.snapshots.delete({ pvolLdevId: pair.pvolLdevId, muNumber: pair.muNumber }),
      );
    }
    await releaseShadowImagePairs(array, siPairs);
  }

  /**
   * A volume in Thin Image pairs. As a P-VOL it keeps them: its snapshots' data, or a copy other
   * volumes are being filled from, would be lost, so the delete is refused (ARCHITECTURE §4) with
   * what is in the way. As the S-VOL of its own clone pair (a restore or clone still copying into
   * it) the copy is stopped — the volume is going anyway (D-TI-DELETE: a clone pair can be deleted
   * in PSUP; the S-VOL content is then not guaranteed). Answers the pairs to delete.
   */
  private async thinImagePairsToRelease(array: ManagedArray, ldev: Ldev): Promise<ArrayPair[]> {
    const { client } = array;
    const ldevId = ldev.ldevId;
    const below = await onArray("reading the volume's pairs", () =>
      client.snapshots.list({ pvolLdevId: ldevId }),
    );
    if (below.length > 0) throw new FailedPreconditionError(dependentsMessage(below));
    const above = await onArray("reading the volume's pairs", () =>
      client.snapshots.list({ svolLdevId: ldevId }),
    );
    // Our copies: in a shared copy group, or (made before groups were shared) in one named by us.
    const ours = (p: ArrayPair) =>
      p.isClone === true &&
      (sharedGroupKind(p.snapshotGroupName) === "copies" || p.snapshotGroupName === ldev.label);
    const foreign = above.filter((p) => !ours(p));
    if (foreign.length > 0 || above.length === 0) {
      throw new FailedPreconditionError(
        "volume still has snapshots or copy pairs on the array that vsp-csi did not make; delete them first",
      );
    }
    return above;
  }

  /** The volume, or NOT_FOUND for an ID that is not ours, on no configured array, or gone. */
  async get(volumeId: string): Promise<Volume> {
    const found = await this.find(volumeId);
    if (!found) throw new NotFoundError(`volume ${volumeId} does not exist`);
    return found;
  }

  /** Grows the LDEV to the requested range; never shrinks. Returns the size now. */
  async expand(volumeId: string, range: CapacityRange | null | undefined): Promise<bigint> {
    const volume = await this.get(volumeId);
    const wanted = sizeForRange(range);
    if (wanted <= volume.bytes) return volume.bytes;
    const additionalBlockCapacity = Number((wanted - volume.bytes) / BLOCK);
    await onArray("expanding the volume", () =>
      volume.array.client.ldevs.expand(volume.ldev.ldevId, {
        additionalBlockCapacity,
        // Volumes in (split) Thin Image pairs can grow only with enhanced expansion (§4).
        ...(inPair(volume.ldev) ? { enhancedExpansion: true } : {}),
      }),
    );
    return wanted;
  }

  async modify(volumeId: string, changes: MutableParameters): Promise<void> {
    const volume = await this.get(volumeId);
    const { client } = volume.array;
    const ldevId = volume.ldev.ldevId;
    if (
      changes.dataReductionMode !== undefined &&
      changes.dataReductionMode !== volume.ldev.dataReductionMode
    ) {
      const mode = changes.dataReductionMode;
      await onArray("changing data reduction", () =>
        client.ldevs.modify(ldevId, { dataReductionMode: mode }),
      );
    }
    const qos = { upperIops: changes.upperIops, upperTransferRate: changes.upperTransferRate };
    for (const [setting, value] of Object.entries(qos)) {
      if (value === undefined) continue;
      await onArray(`setting ${setting}`, () => client.ldevs.setQos(ldevId, { [setting]: value }));
    }
  }

  /** Our volumes on all arrays in (array, LDEV id) order: one page and the token of the next. */
  async list(maxEntries: number, startingToken: string): Promise<{ volumes: Volume[]; nextToken: string }> {
    const arrays = this.arrays.all();
    const start = parseToken(startingToken, arrays);
    const volumes: Volume[] = [];
    const limit = maxEntries > 0 ? maxEntries : Number.MAX_SAFE_INTEGER;
    for (let i = start.arrayIndex; i < arrays.length; i++) {
      const array = arrays[i];
      if (!array) continue;
      const from = i === start.arrayIndex ? start.ldevId : array.config.ldevRange.start;
      for (const ldev of await this.ldevs.listRange(array, "listing volumes", from)) {
        if (classifyLabel(ldev.label ?? "") !== "volume") continue;
        if (volumes.length === limit) return { volumes, nextToken: `${i}.${ldev.ldevId}` };
        volumes.push(this.toVolume(array, ldev, ldev.label ?? ""));
      }
    }
    return { volumes, nextToken: "" };
  }

  /**
   * The parsed ID and the array of a volume ID, without reading the array (a caller that reads the
   * LDEV anyway, or learns enough from other objects, saves the GET); NOT_FOUND when not ours.
   */
  locate(volumeId: string): { id: VolumeId; array: ManagedArray } {
    const located = this.ours(volumeId);
    if (!located) throw new NotFoundError(`volume ${volumeId} does not exist`);
    return located;
  }

  /** Reads the LDEV an ID names; undefined when the ID is not ours or the volume is gone. */
  async find(volumeId: string): Promise<Volume | undefined> {
    const located = this.ours(volumeId);
    if (!located) return undefined;
    const { id, array } = located;
    const ldev = await onArray("reading the volume", () => array.client.ldevs.get(id.ldevId));
    // The LDEV number may have been reused by another volume since: the label tells.
    if (ldev?.label !== id.label) return undefined;
    return { volumeId, id, array, ldev, bytes: bytesOf(ldev) };
  }

  /** The parsed ID and its array; undefined for an ID that is not ours or names no configured array. */
  private ours(volumeId: string): { id: VolumeId; array: ManagedArray } | undefined {
    if (volumeId === "") throw new InvalidArgumentError("volume_id is required");
    let id: VolumeId;
    try {
      id = parseVolumeId(volumeId);
    } catch (err) {
      if (err instanceof InvalidIdError) return undefined;
      throw err;
    }
    const array = this.arrays.byStorageDeviceId(id.storageDeviceId);
    return array && { id, array };
  }

  toVolume(array: ManagedArray, ldev: Ldev, label: string): Volume {
    const id: VolumeId = {
      kind: "volume",
      storageDeviceId: array.config.storageDeviceId,
      ldevId: ldev.ldevId,
      label,
    };
    return { volumeId: formatVolumeId(id), id, array, ldev, bytes: bytesOf(ldev) };
  }

  private reuse(array: ManagedArray, ldev: Ldev, input: CreateVolumeInput, poolId: number): Volume {
    const bytes = bytesOf(ldev);
    const mode = input.parameters.dataReductionMode;
    const problems = [
      satisfiesRange(bytes, input.range) ? "" : `its size is ${bytes} bytes`,
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
    return this.toVolume(array, ldev, ldev.label ?? "");
  }
}

/** Why a P-VOL cannot go: its snapshots, or copies still running out of it into other volumes. */
function dependentsMessage(pairs: ArrayPair[]): string {
  const inGroup = (p: ArrayPair) => classifyLabel(p.snapshotGroupName) === "group-snapshot";
  const snapshots = pairs.filter((p) => !p.isClone && !inGroup(p)).length;
  const groups = new Set(pairs.filter(inGroup).map((p) => p.snapshotGroupName)).size;
  const copies = pairs.filter((p) => p.isClone === true);
  const parts = [];
  if (snapshots > 0) parts.push(`${snapshots} snapshot(s) (delete the VolumeSnapshots first)`);
  if (groups > 0) parts.push(`${groups} group snapshot(s) (delete the VolumeGroupSnapshots first)`);
  if (copies.length > 0) {
    const targets = copies.map((p) => `LDEV ${p.svolLdevId ?? "?"} at ${p.progressRate ?? 0}%`).join(", ");
    parts.push(`a copy in progress to ${copies.length} volume(s) (${targets}; retry when it completes)`);
  }
  return `volume still has snapshots or clones in progress: ${parts.join(" and ")}`;
}

/** ListVolumes tokens: "<array index>.<next LDEV id>"; anything else is ABORTED per the spec. */
function parseToken(token: string, arrays: ManagedArray[]): { arrayIndex: number; ldevId: number } {
  if (token === "") return { arrayIndex: 0, ldevId: arrays[0]?.config.ldevRange.start ?? 0 };
  const match = /^(\d+)\.(\d+)$/.exec(token);
  const arrayIndex = Number(match?.[1]);
  const ldevId = Number(match?.[2]);
  if (!match || arrayIndex >= arrays.length || ldevId > 65279)
    throw new StaleTokenError(`starting_token "${token}" is not valid`);
  return { arrayIndex, ldevId };
}
