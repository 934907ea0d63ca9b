/**
 * Removes group snapshots whose create was abandoned: a `cg-` snapshot group whose pairs were never
 * split. CreateVolumeGroupSnapshot undoes its own failures and a retry completes what a crash left
 * (group-snapshots.ts), but when the CO gives up instead — the VolumeGroupSnapshot is deleted while
 * its create kept failing — nothing would ever come back for the group, its pairs and S-VOLs.
 *
 * Safe by construction: an uncut group was never answered to the CO, so no VolumeGroupSnapshot,
 * member snapshot or restore refers to it, and a cut group is never touched. The only thing to
 * avoid is removing a group a create is building right now, so a group is removed only when it was
 * seen uncut by a sweep at least `graceMs` earlier — far longer than a create takes (seconds; it
 * gives up waiting after a minute). If a create does come back later, it simply starts again.
 */
import type { ManagedArray } from "./arrays.js";
import type { GroupSnapshotService } from "./group-snapshots.js";

export interface GroupJanitorOptions {
  /** How long a group must have been seen uncut before it is removed. */
  graceMs: number;
  now?: () => number;
}

export interface SweepResult {
  /** `<storageDeviceId>/<group>` of each group removed by this sweep. */
  removed: string[];
  /** Groups seen and not yet old enough to be judged. */
  watching: number;
}

export class GroupJanitor {
  /** `<storageDeviceId>/<group>` → when a sweep first saw it (not yet known to be cut). */
  private readonly firstSeen = new Map<string, number>();
  /** Groups found cut: never looked at again (the driver never un-splits a group). */
  private readonly cut = new Set<string>();
  private readonly now: () => number;

  constructor(
    private readonly arrays: () => ManagedArray[],
    private readonly groups: GroupSnapshotService,
    private readonly options: GroupJanitorOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async sweep(): Promise<SweepResult> {
    const removed: string[] = [];
    const present = new Set<string>();
    for (const array of this.arrays()) {
      for (const group of await this.groups.groupNames(array)) {
        const key = `${array.config.storageDeviceId}/${group}`;
        present.add(key);
        if (this.cut.has(key)) continue;
        const first = this.firstSeen.get(key);
        if (first === undefined) {
          // Not removed on sight: it may be a create in progress. Noted, looked at again later.
          this.firstSeen.set(key, this.now());
          continue;
        }
        if (this.now() - first < this.options.graceMs) continue;
        if (await this.groups.removeIfUncut(array, group)) removed.push(key);
        else this.cut.add(key);
        this.firstSeen.delete(key);
      }
    }
    // Groups gone since: forget them.
    for (const key of this.firstSeen.keys()) if (!present.has(key)) this.firstSeen.delete(key);
    for (const key of this.cut) if (!present.has(key)) this.cut.delete(key);
    return { removed, watching: this.firstSeen.size };
  }
}
