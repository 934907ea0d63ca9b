/**
 * Where the driver's LDEVs go and how they are found again: volumes, snapshot S-VOLs and copy
 * targets are placed by label in the label's window of the driver's ldevRange (ldev-placement.ts),
 * looked up there with one read, adopted when a crash left them unlabelled, and deleted. The
 * LDEVs this process is creating or pairing are reserved here (and for a while after), so a
 * concurrent call never adopts one as an orphan from a window it read before the label landed.
 */
import { VspError, VspNotFoundError } from "../array/errors.js";
import type { Ldev } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { FailedPreconditionError, ResourceExhaustedError } from "./errors.js";
import { bytesOf, freeSlots, inPair, inWindow, isOrphan, windowFor } from "./ldev-placement.js";
import type { Window } from "./ldev-placement.js";
import type { DataReduction } from "./parameters.js";

/** What `place` needs: the array-side label, and the LDEV to create when none carries it. */
export interface PlaceLdevInput {
  label: string;
  poolId: number;
  bytes: bigint;
  dataReductionMode?: DataReduction | undefined;
}

export interface PlacedLdev {
  ldev: Ldev;
  /** True when an LDEV already carried the label (a retry); false when created or adopted now. */
  existed: boolean;
}

const BLOCK = 512n;
/** Attempts to claim a free id when concurrent creators (other tools) race us for it. */
const CLAIM_ATTEMPTS = 5;
/** What the array answers for an id no LDEV holds (§4). */
const NOT_DEFINED = "NOT DEFINED";
/** How long an LDEV this process used stays off limits to other labels (see `reserved`). */
const RECENT_MS = 5 * 60_000;

export class LdevAllocator {
  /**
   * LDEVs this process is creating, labelling or pairing (`storageDeviceId:ldevId`), with the label
   * they are for, kept RECENT_MS past their release. Another call's read of a window may be older
   * than the label it would show now: until then the LDEV looks like an orphan, and adopting it
   * would take another snapshot's S-VOL. An orphan a crash left belongs to a process that is gone,
   * so no LDEV of a live process is one — except for a retry of the same name, which may adopt it.
   */
  private readonly reserved = new Map<string, { label: string; until: number }>();

  /** Marks an LDEV as in use by this process for `label` (another label never adopts it). */
  reserve(array: ManagedArray, ldevId: number, label: string): void {
    const now = Date.now();
    for (const [k, e] of this.reserved) if (e.until <= now) this.reserved.delete(k);
    this.reserved.set(key(array, ldevId), { label, until: Number.POSITIVE_INFINITY });
  }

  /** Done with the LDEV; it stays off limits to other labels for RECENT_MS. */
  release(array: ManagedArray, ldevId: number): void {
    const entry = this.reserved.get(key(array, ldevId));
    if (entry) entry.until = Date.now() + RECENT_MS;
  }

  /** Whether the LDEV is this process's, for another label than `label` (any label: undefined). */
  isReserved(array: ManagedArray, ldevId: number, label?: string): boolean {
    const entry = this.reserved.get(key(array, ldevId));
    if (entry === undefined || entry.until <= Date.now()) return false;
    return label === undefined || entry.label !== label;
  }

  /**
   * The LDEV carrying `label` (ldev-placement.ts): the one already there, else an orphan of the
   * right shape adopted, else a new one at a free id of the label's window — labelled. Volumes and
   * snapshot S-VOLs are placed this way. One read of the window (WINDOW ids) answers all three, so
   * the cost does not grow with the array: no listing of the driver's range on this path.
   */
  async place(array: ManagedArray, input: PlaceLdevInput, read?: Ldev[]): Promise<PlacedLdev> {
    const { label, poolId, bytes } = input;
    const window = windowFor(label, array.config.ldevRange);
    const listed = read ?? (await this.readWindow(array, window, "looking up the volume"));
    const existing = listed.find((l) => l.label === label);
    if (existing) return { ldev: existing, existed: true };

    const orphan = listed.find((l) => isOrphan(l, poolId) && !this.isReserved(array, l.ldevId, label));
    const wanted = input.dataReductionMode ?? "disabled";
    if (orphan && bytesOf(orphan) === bytes && (orphan.dataReductionMode ?? "disabled") === wanted) {
      return { ldev: await this.finish(array, orphan, label), existed: false };
    }
    // An orphan of another size or capacity-saving mode cannot become this LDEV: it goes.
    if (orphan) await this.deleteLdev(array, orphan, "removing an LDEV left by an interrupted create");

    const defined = new Set(listed.filter((l) => l !== orphan).map((l) => l.ldevId));
    const ldevId = await this.claim(array, window, defined, input);
    const created: Ldev = {
      ldevId,
      emulationType: "OPEN-V-CVS",
      blockCapacity: Number(bytes / BLOCK),
      poolId,
      attributes: ["CVS", "HDP"],
      status: "NML",
      numOfUsedBlock: 0,
      numOfPorts: 0,
      dataReductionMode: wanted,
    };
    return { ldev: await this.finish(array, created, label), existed: false };
  }

  /** The defined LDEVs of `label`'s window, in id order (one GET): what `place` and lookups read. */
  windowOf(array: ManagedArray, label: string, doing: string): Promise<Ldev[]> {
    return this.readWindow(array, windowFor(label, array.config.ldevRange), doing);
  }

  /** The defined LDEVs of a window, in id order: one GET of `window.count` ids. */
  private async readWindow(array: ManagedArray, window: Window, doing: string): Promise<Ldev[]> {
    const { start, end } = array.config.ldevRange;
    const page = await onArray(doing, () =>
      array.client.ldevs.list({ headLdevId: window.head, count: window.count }),
    );
    return page.filter(
      (l) => l.emulationType !== NOT_DEFINED && inWindow(l, window) && l.ldevId >= start && l.ldevId <= end,
    );
  }

  /**
   * The S-VOL a new snapshot pair needs, placed by `wanted.label` like a volume. A leftover of an
   * earlier attempt is reused when free and of the wanted size and pool (`checkLeftover` may refuse
   * it first); one in another pair is FAILED_PRECONDITION; one of another size — left by an attempt
   * before the source was expanded (a pair needs equal sizes) — is replaced.
   */
  async placeSvol(
    array: ManagedArray,
    wanted: PlaceLdevInput,
    checkLeftover: (svol: Ldev) => void = () => undefined,
    read?: Ldev[],
  ): Promise<Ldev> {
    const placed = await this.place(array, wanted, read);
    if (!placed.existed) return placed.ldev;
    const svol = placed.ldev;
    if (inPair(svol)) {
      throw new FailedPreconditionError(
        `LDEV ${svol.ldevId}, labelled for this snapshot, is in another pair; remove that pair first`,
      );
    }
    checkLeftover(svol);
    if (bytesOf(svol) === wanted.bytes && svol.poolId === wanted.poolId) return svol;
    await this.deleteLdev(array, svol, "replacing a stale S-VOL");
    return (await this.place(array, wanted)).ldev;
  }

  /** The LDEV carrying `label` (in the label's window, where `place` puts it), or undefined. */
  async findLabelled(
    array: ManagedArray,
    label: string,
    doing = "looking up an LDEV by label",
  ): Promise<Ldev | undefined> {
    return (await this.windowOf(array, label, doing)).find((l) => l.label === label);
  }

  /** Every DP volume in the driver's ldevRange from `from` on, in id order (16,384 a page). */
  async listRange(array: ManagedArray, doing: string, from = array.config.ldevRange.start): Promise<Ldev[]> {
    const { start, end } = array.config.ldevRange;
    const out: Ldev[] = [];
    for (let head = Math.max(start, from); head <= end;) {
      const count = Math.min(16_384, end - head + 1);
      const page = await onArray(doing, () =>
        array.client.ldevs.list({ headLdevId: head, count, ldevOption: "dpVolume" }),
      );
      out.push(...page.filter((l) => l.ldevId >= start && l.ldevId <= end));
      const last = page.at(-1);
      if (!last || page.length < count) break;
      head = last.ldevId + 1;
    }
    return out;
  }

  /** Deletes an LDEV the driver owns (forcing capacity-saving ones, §4); gone already is fine. */
  async deleteLdev(array: ManagedArray, ldev: Ldev, doing: string): Promise<void> {
    const force = (ldev.dataReductionMode ?? "disabled") !== "disabled";
    try {
      await onArray(doing, () =>
        array.client.ldevs.delete(ldev.ldevId, force ? { isDataReductionDeleteForceExecute: true } : {}),
      );
    } catch (err) {
      if (!(err instanceof VspNotFoundError)) throw err;
    }
  }

  /**
   * Creates the LDEV at a free id of the window, picked at random so that concurrent creates whose
   * windows overlap seldom race for the same id; one that loses the race (LDEV_ALREADY_DEFINED)
   * takes another. A full window is RESOURCE_EXHAUSTED: placing the LDEV elsewhere would make it
   * unfindable by name from the window alone (ldev-placement.ts).
   */
  private async claim(
    array: ManagedArray,
    window: Window,
    defined: Set<number>,
    input: PlaceLdevInput,
  ): Promise<number> {
    const base = {
      poolId: input.poolId,
      blockCapacity: Number(input.bytes / BLOCK),
      ...(input.dataReductionMode ? { dataReductionMode: input.dataReductionMode } : {}),
    };
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const free = freeSlots(window, defined).filter((id) => !this.isReserved(array, id));
      const slot = free[Math.floor(Math.random() * free.length)];
      if (slot === undefined) throw windowFull(array, window);
      this.reserve(array, slot, input.label);
      try {
        await onArray("creating the volume", () => array.client.ldevs.create({ ...base, ldevId: slot }));
        return slot;
      } catch (err) {
        if (!(err instanceof VspError && err.is("LDEV_ALREADY_DEFINED"))) {
          // The create may have reached the array (a lost answer): a retry of this name may adopt it.
          this.release(array, slot);
          throw err;
        }
        // Someone else took the id between our read and our create (it is theirs): try another one.
        this.reserved.delete(key(array, slot));
        defined.add(slot);
      }
    }
    throw new FailedPreconditionError("could not claim a free LDEV id: other tools keep taking them; retry");
  }

  /** Labels the LDEV (`ldev` is what the array holds, as read or as just created). */
  private async finish(array: ManagedArray, ldev: Ldev, label: string): Promise<Ldev> {
    this.reserve(array, ldev.ldevId, label);
    try {
      await onArray("labelling the volume", () => array.client.ldevs.modify(ldev.ldevId, { label }));
      return { ...ldev, label };
    } finally {
      this.release(array, ldev.ldevId);
    }
  }
}

export function windowFull(array: ManagedArray, window: Window): ResourceExhaustedError {
  const { start, end } = array.config.ldevRange;
  const last = window.head + window.count - 1;
  return new ResourceExhaustedError(
    `no free LDEV id: the ${window.count} ids this name may use (${window.head}-${last}) are all taken; the driver's ldevRange (${start}-${end}) is too full: widen it or delete volumes`,
  );
}

function key(array: ManagedArray, ldevId: number): string {
  return `${array.config.storageDeviceId}:${ldevId}`;
}
