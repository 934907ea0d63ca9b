/**
 * Volumes: CO names and sizes ↔ DP volumes (LDEVs) in HDP pools, labelled with the name's digest.
 * The array is the source of truth: every answer is read back from it, nothing is cached that a
 * second controller or a restart would need.
 */
import { VspError, VspNotFoundError } from "../array/errors.js";
import type { Ldev } from "../array/types.js";
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
import { freeSlot, inPair, inWindow, isOrphan, windowFor } from "./ldev-placement.js";
import type { Window } from "./ldev-placement.js";
import { classifyLabel, volumeLabel } from "./names.js";
import type { MutableParameters, VolumeParameters } from "./parameters.js";

export interface Volume {
  volumeId: string;
  id: VolumeId;
  array: ManagedArray;
  ldev: Ldev;
  bytes: bigint;
}

export interface CreateVolumeInput {
  name: string;
  range: CapacityRange | null | undefined;
  parameters: VolumeParameters;
}

const BLOCK = 512n;
/** Attempts to claim a free id when concurrent creators (other tools) race us for it. */
const CLAIM_ATTEMPTS = 3;

function bytesOf(ldev: Ldev): bigint {
  return BigInt(ldev.blockCapacity ?? 0) * BLOCK;
}

export class VolumeService {
  /** LDEVs this process is creating right now: never adopted as orphans by another call. */
  private readonly creating = new Set<string>();

  constructor(
    private readonly arrays: ArrayRegistry,
    private readonly driverName: string,
  ) {}

  async create(input: CreateVolumeInput): Promise<Volume> {
    const array = this.arrays.forParameters(input.parameters.array);
    const poolId = input.parameters.pool ?? array.config.defaultPoolId;
    const bytes = sizeForRange(input.range);
    const label = volumeLabel(this.driverName, input.name);
    const window = windowFor(label, array.config.ldevRange);
    const listed = await this.listWindow(array, window);
    const existing =
      listed.find((l) => l.label === label) ?? (await this.scanIfWindowFull(array, window, listed, label));
    if (existing) return this.reuse(array, existing, input, poolId);

    const orphan = listed.find((l) => isOrphan(l, poolId) && !this.creating.has(key(array, l.ldevId)));
    if (orphan && bytesOf(orphan) === bytes) return this.finish(array, orphan.ldevId, label);
    if (orphan)
      await onArray("removing an LDEV left by an interrupted create", () =>
        array.client.ldevs.delete(orphan.ldevId),
      );

    const defined = new Set(listed.filter((l) => l !== orphan).map((l) => l.ldevId));
    const ldevId = await this.claim(array, window, defined, poolId, bytes, input.parameters);
    return this.finish(array, ldevId, label);
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
    if (inPair(ldev)) {
      throw new FailedPreconditionError(
        "volume still has snapshots or clones in progress; delete those first",
      );
    }
    const force = (ldev.dataReductionMode ?? "disabled") !== "disabled";
    try {
      await onArray("deleting the volume", () =>
        array.client.ldevs.delete(ldev.ldevId, force ? { isDataReductionDeleteForceExecute: true } : {}),
      );
    } catch (err) {
      if (!(err instanceof VspNotFoundError)) throw err;
    }
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
      const { end } = array.config.ldevRange;
      let head = i === start.arrayIndex ? start.ldevId : array.config.ldevRange.start;
      while (head <= end) {
        const count = Math.min(16_384, end - head + 1);
        const page = await onArray("listing volumes", () =>
          array.client.ldevs.list({ headLdevId: head, count, ldevOption: "dpVolume" }),
        );
        for (const ldev of page) {
          if (ldev.ldevId < head || ldev.ldevId > end || classifyLabel(ldev.label ?? "") !== "volume")
            continue;
          if (volumes.length === limit) return { volumes, nextToken: `${i}.${ldev.ldevId}` };
          volumes.push(this.toVolume(array, ldev, ldev.label ?? ""));
        }
        const last = page.at(-1);
        if (!last || page.length < count) break;
        head = last.ldevId + 1;
      }
    }
    return { volumes, nextToken: "" };
  }

  /** Reads the LDEV an ID names; undefined when the ID is not ours or the volume is gone. */
  async find(volumeId: string): Promise<Volume | undefined> {
    if (volumeId === "") throw new InvalidArgumentError("volume_id is required");
    let id: VolumeId;
    try {
      id = parseVolumeId(volumeId);
    } catch (err) {
      if (err instanceof InvalidIdError) return undefined;
      throw err;
    }
    const array = this.arrays.byStorageDeviceId(id.storageDeviceId);
    if (!array) return undefined;
    const ldev = await onArray("reading the volume", () => array.client.ldevs.get(id.ldevId));
    // The LDEV number may have been reused by another volume since: the label tells.
    if (ldev?.label !== id.label) return undefined;
    return { volumeId, id, array, ldev, bytes: bytesOf(ldev) };
  }

  private toVolume(array: ManagedArray, ldev: Ldev, label: string): Volume {
    const id: VolumeId = {
      kind: "volume",
      storageDeviceId: array.config.storageDeviceId,
      ldevId: ldev.ldevId,
      label,
    };
    return { volumeId: formatVolumeId(id), id, array, ldev, bytes: bytesOf(ldev) };
  }

  private listWindow(array: ManagedArray, window: Window): Promise<Ldev[]> {
    return onArray("looking up the volume", async () =>
      (
        await array.client.ldevs.list({
          headLdevId: window.head,
          count: window.count,
          ldevOption: "dpVolume",
        })
      ).filter((l) => inWindow(l, window)),
    );
  }

  /** A volume created by the fallback path lives outside its window: find it by label. */
  private async scanIfWindowFull(
    array: ManagedArray,
    window: Window,
    listed: Ldev[],
    label: string,
  ): Promise<Ldev | undefined> {
    if (listed.length < window.count) return undefined;
    const { start, end } = array.config.ldevRange;
    for await (const ldev of array.client.ldevs.iterate({ ldevOption: "dpVolume" })) {
      if (ldev.ldevId > end) break;
      if (ldev.ldevId >= start && ldev.label === label) return ldev;
    }
    return undefined;
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

  /** Creates the LDEV at the first free id of the window, or anywhere in the range as a fallback. */
  private async claim(
    array: ManagedArray,
    window: Window,
    defined: Set<number>,
    poolId: number,
    bytes: bigint,
    parameters: VolumeParameters,
  ): Promise<number> {
    const base = {
      poolId,
      blockCapacity: Number(bytes / BLOCK),
      ...(parameters.dataReductionMode ? { dataReductionMode: parameters.dataReductionMode } : {}),
    };
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const slot = freeSlot(window, defined);
      const { start, end } = array.config.ldevRange;
      const where = slot === undefined ? { startLdevId: start, endLdevId: end } : { ldevId: slot };
      if (slot !== undefined) this.creating.add(key(array, slot));
      try {
        const ldevId = await onArray("creating the volume", () =>
          array.client.ldevs.create({ ...base, ...where }),
        );
        this.creating.add(key(array, ldevId));
        return ldevId;
      } catch (err) {
        if (slot === undefined || !(err instanceof VspError && err.is("LDEV_ALREADY_DEFINED"))) {
          if (slot !== undefined) this.creating.delete(key(array, slot));
          throw err;
        }
        // Someone else took the id between our list and our create: try the next one.
        this.creating.delete(key(array, slot));
        defined.add(slot);
      }
    }
    throw new FailedPreconditionError("could not claim a free LDEV id: other tools keep taking them; retry");
  }

  private async finish(array: ManagedArray, ldevId: number, label: string): Promise<Volume> {
    this.creating.add(key(array, ldevId));
    try {
      await onArray("labelling the volume", () => array.client.ldevs.modify(ldevId, { label }));
      const ldev = await onArray("reading the new volume", () => array.client.ldevs.get(ldevId));
      if (!ldev) throw new NotFoundError(`the new LDEV ${ldevId} disappeared`);
      return this.toVolume(array, ldev, label);
    } finally {
      this.creating.delete(key(array, ldevId));
    }
  }
}

function key(array: ManagedArray, ldevId: number): string {
  return `${array.config.storageDeviceId}:${ldevId}`;
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
