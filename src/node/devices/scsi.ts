/**
 * SCSI disks and multipath maps as sysfs shows them, shared by the fc and iscsi transports.
 *
 *   /sys/class/scsi_device/<H:C:T:L>/device/{wwid,vpd_pg83,delete,rescan,block/<sdX>}
 *   /sys/class/scsi_host/host<H>/scan           "<channel> <target> <lun>" ("-" = wildcard)
 *   /sys/block/<name>/{dev,holders/}             "major:minor", who stacks on the disk
 *   /sys/block/dm-<N>/dm/{uuid,name}, slaves/    multipath map "mpath-<wwid>" and its paths
 *
 * A device is chosen ONLY by its WWID ("3" + the LDEV's NAA), never by its LUN number: LUN numbers
 * are reused, and a stale disk at a reused LUN shows the old volume's WWID (csi.md §6 pain point 5).
 */
import { FailedPreconditionError } from "../../driver/errors.js";
import { HostOperationError } from "../errors.js";
import type { Host } from "../host.js";
import { exists, listDir, readAttr, sleep } from "../host.js";
import type { Runner } from "../runner.js";
import { FLUSH_TIMEOUT_MS } from "../runner.js";
import { writeThrough } from "../runner.js";
import { wwidFromSysfs, wwidFromVpd83 } from "./wwid.js";

export interface ScsiDisk {
  hctl: string;
  host: number;
  channel: number;
  target: number;
  lun: number;
  /** Block device name, e.g. "sdc". */
  name: string;
  /** Normalised WWID ("3" + NAA for NAA designators); undefined when the disk reports none. */
  wwid: string | undefined;
}

export interface MultipathMap {
  /** "dm-3" */
  name: string;
  /** The map's name for `multipath -f` ("mpatha" or the WWID). */
  mapName: string;
  uuid: string;
  slaves: string[];
}

export interface ScsiTimings {
  /** Polling interval while waiting for devices to appear or go. */
  pollMs: number;
  /** How long a deleted disk or a flushed map may take to leave sysfs. */
  removeSettleMs: number;
  /** After the first path appears, how long to wait for the other paths and the multipath map. */
  pathSettleMs: number;
}

export const DEFAULT_SCSI_TIMINGS: ScsiTimings = {
  pollMs: 200,
  removeSettleMs: 10_000,
  pathSettleMs: 10_000,
};

const HCTL = /^(\d+):(\d+):(\d+):(\d+)$/;

export class ScsiHost {
  constructor(
    private readonly runner: Runner,
    readonly host: Host,
    readonly timings: ScsiTimings = DEFAULT_SCSI_TIMINGS,
  ) {}

  async disks(): Promise<ScsiDisk[]> {
    const disks: ScsiDisk[] = [];
    for (const hctl of await listDir(this.host.sys("class/scsi_device"))) {
      const m = HCTL.exec(hctl);
      if (!m) continue;
      const deviceDir = this.host.sys("class/scsi_device", hctl, "device");
      const [name] = await listDir(`${deviceDir}/block`);
      if (name === undefined) continue; // not a disk (enclosure, tape) or not probed yet
      const wwid =
        (await wwidFromSysfs(`${deviceDir}/wwid`)) ?? (await wwidFromVpd83(`${deviceDir}/vpd_pg83`));
      disks.push({
        hctl,
        host: Number(m[1]),
        channel: Number(m[2]),
        target: Number(m[3]),
        lun: Number(m[4]),
        name,
        wwid,
      });
    }
    // Path order = H:C:T:L order, numerically: the single path used without multipath is stable.
    return disks.sort(
      (a, b) => a.host - b.host || a.channel - b.channel || a.target - b.target || a.lun - b.lun,
    );
  }

  async disksWith(wwid: string): Promise<ScsiDisk[]> {
    return (await this.disks()).filter((d) => d.wwid === wwid);
  }

  async maps(): Promise<MultipathMap[]> {
    const maps: MultipathMap[] = [];
    for (const name of await listDir(this.host.sys("block"))) {
      if (!name.startsWith("dm-")) continue;
      const uuid = await readAttr(this.host.sys("block", name, "dm/uuid"));
      if (uuid?.startsWith("mpath-") !== true) continue;
      const mapName = (await readAttr(this.host.sys("block", name, "dm/name"))) ?? uuid.slice(6);
      maps.push({ name, mapName, uuid, slaves: await listDir(this.host.sys("block", name, "slaves")) });
    }
    return maps;
  }

  async mapFor(wwid: string): Promise<MultipathMap | undefined> {
    return (await this.maps()).find((m) => m.uuid === `mpath-${wwid}`);
  }

  /** Why the block device cannot be removed now (mounted, or held by a map), or undefined. */
  async inUse(name: string): Promise<string | undefined> {
    const holders = await listDir(this.host.sys("block", name, "holders"));
    if (holders.length > 0) return `held by ${holders.join(", ")}`;
    const number = await readAttr(this.host.sys("block", name, "dev"));
    const mounted = (await this.host.mounts()).filter((m) => m.devId === number);
    if (number !== undefined && mounted.length > 0)
      return `mounted at ${mounted.map((m) => m.mountPoint).join(", ")}`;
    return undefined;
  }

  /**
   * Scans one LUN of one SCSI host. With a known target, a disk already at that exact H:C:T:L with
   * another WWID is stale (the LUN now maps a different volume): it is deleted first when nothing
   * uses it, so the kernel probes the new volume there (seagate-exos-x-csi PR 138).
   */
  async scanLun(wwid: string, host: number, lun: number, channel?: number, target?: number): Promise<void> {
    if (channel !== undefined && target !== undefined)
      await this.purgeStale(wwid, `${host}:${channel}:${target}:${lun}`);
    const where = `${channel ?? "-"} ${target ?? "-"} ${lun}`;
    await writeThrough(this.runner, this.host.sys("class/scsi_host", `host${host}`, "scan"), where);
  }

  private async purgeStale(wwid: string, hctl: string): Promise<void> {
    const disk = (await this.disks()).find((d) => d.hctl === hctl);
    if (!disk || disk.wwid === wwid) return;
    if ((await this.inUse(disk.name)) !== undefined) return; // never touch a used disk; it is just never chosen
    await this.deleteDisk(disk);
  }

  /** Waits until at least one disk with the WWID exists, then for `wantPaths` of them (briefly). */
  async waitForDisks(wwid: string, wantPaths: number, deadline: number): Promise<ScsiDisk[]> {
    let firstSeen: number | undefined;
    for (;;) {
      const found = await this.disksWith(wwid);
      const now = Date.now();
      if (found.length > 0) firstSeen ??= now;
      const settled = firstSeen !== undefined && now - firstSeen >= this.timings.pathSettleMs;
      if (found.length >= Math.max(1, wantPaths) || (found.length > 0 && (settled || now >= deadline))) {
        return found;
      }
      if (now >= deadline) return [];
      await sleep(this.timings.pollMs);
    }
  }

  /**
   * The device to use for the WWID: the multipath map when there is one (waiting a little for
   * multipathd when /etc/multipath.conf says multipath is in use), else a single path.
   */
  async choose(wwid: string, disks: ScsiDisk[], deadline: number): Promise<string> {
    const multipathExpected = await exists(this.host.etc("multipath.conf"));
    const mapDeadline = Math.min(deadline, Date.now() + (multipathExpected ? this.timings.pathSettleMs : 0));
    let map = await this.mapFor(wwid);
    // A map shows in sysfs a moment before its table (the slaves) is loaded: wait for both.
    while ((!map || map.slaves.length === 0) && Date.now() < (map ? deadline : mapDeadline)) {
      await sleep(this.timings.pollMs);
      map = await this.mapFor(wwid);
    }
    if (map) {
      await this.verifyMap(map, wwid);
      return this.verifyNode(map.name, deadline);
    }
    const disk = disks[0];
    if (!disk) throw new HostOperationError(`no SCSI disk with WWID ${wwid}`);
    return this.verifyNode(disk.name, deadline);
  }

  private async verifyMap(map: MultipathMap, wwid: string): Promise<void> {
    const byName = new Map((await this.disks()).map((d) => [d.name, d]));
    const foreign = map.slaves.filter((s) => byName.get(s)?.wwid !== wwid);
    if (map.slaves.length === 0 || foreign.length > 0) {
      throw new HostOperationError(
        `multipath map ${map.mapName} (${map.name}) claims WWID ${wwid} but its paths [${map.slaves.join(", ")}] do not all show it`,
      );
    }
  }

  /**
   * The /dev node must be the very device sysfs describes (same major:minor). udev makes the node a
   * moment after the kernel shows the device in sysfs: a node not there yet is waited for (until
   * `deadline`); a node of another device is refused at once.
   */
  private async verifyNode(name: string, deadline: number): Promise<string> {
    const path = this.host.dev(name);
    const expected = await readAttr(this.host.sys("block", name, "dev"));
    let actual = await this.host.deviceNumber(path);
    while (actual === undefined && Date.now() < deadline) {
      await sleep(this.timings.pollMs);
      actual = await this.host.deviceNumber(path);
    }
    if (expected === undefined || actual !== expected) {
      throw new HostOperationError(
        `${path} is not the block device ${name} (${expected ?? "?"}, found ${actual ?? "none"})`,
      );
    }
    return path;
  }

  /**
   * Removes the map and every path of the WWID: `multipath -f` (never dmsetup remove, csi.md §6
   * pain point 4), then each SCSI disk deleted, each step verified. Returns the SCSI hosts the
   * disks were on (the iSCSI transport logs out of sessions left empty).
   */
  async removeAll(wwid: string): Promise<number[]> {
    const map = await this.mapFor(wwid);
    const disks = await this.disksWith(wwid);
    if (map) {
      const busy = await this.inUse(map.name);
      if (busy !== undefined) throw new FailedPreconditionError(`multipath map ${map.mapName} is ${busy}`);
      await this.runner.run("blockdev", ["--flushbufs", this.host.dev(map.name)], {
        timeoutMs: FLUSH_TIMEOUT_MS,
      });
      await this.runner.run("multipath", ["-f", map.mapName]);
      await this.settle(`multipath map ${map.mapName}`, async () => (await this.mapFor(wwid)) === undefined);
      const all = await this.disks();
      for (const slave of map.slaves) {
        const disk = all.find((d) => d.name === slave);
        if (disk && !disks.some((d) => d.name === slave)) disks.push(disk);
      }
    }
    for (const disk of disks) {
      const busy = await this.inUse(disk.name);
      if (busy !== undefined)
        throw new FailedPreconditionError(`SCSI disk ${disk.name} (${disk.hctl}) is ${busy}`);
      await this.runner.run("blockdev", ["--flushbufs", this.host.dev(disk.name)], {
        timeoutMs: FLUSH_TIMEOUT_MS,
      });
      await this.deleteDisk(disk);
    }
    return [...new Set(disks.map((d) => d.host))];
  }

  /** Makes every path re-read its capacity, then the map (after the array grew the LDEV). */
  async rescanSize(wwid: string): Promise<void> {
    for (const disk of await this.disksWith(wwid)) {
      await writeThrough(this.runner, this.host.sys("class/scsi_device", disk.hctl, "device/rescan"), "1");
    }
    const map = await this.mapFor(wwid);
    if (map) await this.runner.run("multipathd", ["resize", "map", map.mapName]);
  }

  private async deleteDisk(disk: ScsiDisk): Promise<void> {
    await writeThrough(this.runner, this.host.sys("class/scsi_device", disk.hctl, "device/delete"), "1");
    await this.settle(`SCSI disk ${disk.name} (${disk.hctl})`, async () => {
      return !(await exists(this.host.sys("class/scsi_device", disk.hctl)));
    });
  }

  private async settle(what: string, gone: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + this.timings.removeSettleMs;
    while (!(await gone())) {
      if (Date.now() >= deadline) throw new HostOperationError(`${what} is still present after removal`);
      await sleep(this.timings.pollMs);
    }
  }
}
