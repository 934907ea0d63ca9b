/**
 * FC device discovery against a fake sysfs (no HBA here): only the published LUN is scanned, the
 * disk is chosen by WWID only — a reused LUN number showing another volume's WWID is never taken —
 * the multipath map is preferred, and removal flushes the map and deletes every path, verified.
 */
import { rm } from "node:fs/promises";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { FailedPreconditionError, OperationTimeoutError } from "../../driver/errors.js";
import { HostOperationError } from "../errors.js";
import { FakeSys, vpd83 } from "../test-support/fake-host.js";
import { FcDevices } from "./fc.js";
import { ScsiHost } from "./scsi.js";
import type { AttachTarget } from "./types.js";

const NAA = "60060e8012345600502034560000002a";
const OTHER = "60060e80123456005020345600000099";
const WWID = `3${NAA}`;
const TARGET_A = "50060e8012345600";
const TARGET_B = "50060e8012345610";
const TIMINGS = { pollMs: 5, removeSettleMs: 150, pathSettleMs: 150 };

let fake: FakeSys;
let fc: FcDevices;

function target(overrides: Partial<AttachTarget> = {}): AttachTarget {
  return {
    volumeId: "1.886000123456.v.42.cv-x",
    ldevId: 42,
    naa: NAA,
    luns: [
      { portId: "CL1-A", lun: 5 },
      { portId: "CL2-A", lun: 5 },
    ],
    targetWwns: new Map([
      ["CL1-A", TARGET_A],
      ["CL2-A", TARGET_B],
    ]),
    portals: new Map(),
    targetIqns: new Map(),
    ...overrides,
  };
}

/** The kernel's answer to a scan: a disk with this volume's WWID at the scanned H:C:T:L. */
function lunAppears(names: Record<string, string>, naa = NAA, delayMs = 0): void {
  fake.runner.onScan = async (host, what) => {
    const [channel, targetId, lun] = what.split(" ");
    const hctl = `${host}:${channel}:${targetId}:${lun}`;
    const name = names[hctl];
    if (name === undefined) return;
    if (delayMs > 0) setTimeout(() => void fake.disk(hctl, name, `naa.${naa}`), delayMs);
    else await fake.disk(hctl, name, `naa.${naa}`);
  };
}

beforeEach(async () => {
  fake = await FakeSys.create();
  await fake.fcHost(3, "10000000c9000001");
  await fake.fcHost(4, "10000000c9000002");
  await fake.remotePort(3, 0, 0, TARGET_A, 0);
  await fake.remotePort(4, 0, 1, TARGET_B, 1);
  await fake.remotePort(4, 0, 2, "10000000c9999999", -1); // another initiator, not a target
  fc = new FcDevices(new ScsiHost(fake.runner, fake.host, TIMINGS), 400);
});
afterEach(async () => {
  await fake.cleanup();
});

describe("FC attach", () => {
  it("scans exactly the published LUN behind each target port and takes the disk with the WWID", async () => {
    lunAppears({ "3:0:0:5": "sdc", "4:0:1:5": "sdd" });
    const device = await fc.attach(target());
    expect(fake.runner.lines()).toEqual([
      "tee /sys/class/scsi_host/host3/scan <<< 0 0 5",
      "tee /sys/class/scsi_host/host4/scan <<< 0 1 5",
    ]);
    expect(device).toEqual({ path: `${fake.root}/dev/sdc`, identity: { kind: "wwid", wwid: WWID } });
  });

  it("never takes a disk at a reused LUN number that shows another WWID: it times out naming it", async () => {
    // The LUN number now maps another volume on both paths, and both stale disks are in use.
    const a = await fake.disk("3:0:0:5", "sdb", `naa.${OTHER}`);
    const b = await fake.disk("4:0:1:5", "sde", `naa.${OTHER}`);
    await fake.mounted([
      { dev: a, at: "/var/lib/kubelet/pods/other/volumes/a" },
      { dev: b, at: "/var/lib/kubelet/pods/other/volumes/b" },
    ]);
    const err = await fc.attach(target()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationTimeoutError);
    expect((err as Error).message).toMatch(/no disk with WWID 360060e8012345600502034560000002a/);
    expect((err as Error).message).toMatch(/sdb at 3:0:0:5 has WWID 360060e80123456005020345600000099/);
    expect(fake.runner.lines().filter((l) => l.includes("delete"))).toEqual([]);
    expect(await fc.find({ kind: "wwid", wwid: WWID })).toBeUndefined();
  });

  it("takes the right disk when it appears on another path, next to a stale one that is in use", async () => {
    const dev = await fake.disk("3:0:0:5", "sdb", `naa.${OTHER}`);
    await fake.mounted([{ dev, at: "/mnt/other" }]);
    lunAppears({ "4:0:1:5": "sdf" }, NAA, 60);
    const device = await fc.attach(target());
    expect(device.path).toBe(`${fake.root}/dev/sdf`);
  });

  it("deletes an idle stale disk at the exact H:C:T:L before scanning, then takes the new volume's disk there", async () => {
    await fake.disk("3:0:0:5", "sdb", `naa.${OTHER}`);
    lunAppears({ "3:0:0:5": "sdg", "4:0:1:5": "sdh" });
    const device = await fc.attach(target());
    expect(fake.runner.lines().slice(0, 2)).toEqual([
      "tee /sys/class/scsi_device/3:0:0:5/device/delete <<< 1",
      "tee /sys/class/scsi_host/host3/scan <<< 0 0 5",
    ]);
    expect(device.path).toBe(`${fake.root}/dev/sdg`);
  });

  it("reads the WWID from VPD page 0x83 when sysfs has no wwid attribute", async () => {
    fake.runner.onScan = async (host, what) => {
      if (host === 3 && what === "0 0 5") await fake.disk("3:0:0:5", "sdk", vpd83(NAA));
    };
    const device = await fc.attach(target({ luns: [{ portId: "CL1-A", lun: 5 }] }));
    expect(device.path).toBe(`${fake.root}/dev/sdk`);
  });

  it("scans '- - L' on every FC host when no remote port shows the target WWN", async () => {
    lunAppears({});
    fake.runner.onScan = async (host, what) => {
      if (host === 4 && what === "- - 7") await fake.disk("4:0:3:7", "sdm", `naa.${NAA}`);
    };
    const t = target({
      luns: [{ portId: "CL1-A", lun: 7 }],
      targetWwns: new Map([["CL1-A", "50060e80aaaaaaaa"]]),
    });
    const device = await fc.attach(t);
    expect(fake.runner.lines()).toEqual([
      "tee /sys/class/scsi_host/host3/scan <<< - - 7",
      "tee /sys/class/scsi_host/host4/scan <<< - - 7",
    ]);
    expect(device.path).toBe(`${fake.root}/dev/sdm`);
  });

  it("prefers the multipath map, waiting for multipathd when multipath.conf is present", async () => {
    await fake.file("etc/multipath.conf", "defaults { user_friendly_names yes }\n");
    lunAppears({ "3:0:0:5": "sdc", "4:0:1:5": "sdd" });
    setTimeout(() => void fake.map("dm-2", "mpatha", WWID, ["sdc", "sdd"]), 60);
    const device = await fc.attach(target());
    expect(device.path).toBe(`${fake.root}/dev/dm-2`);
  });

  it("waits for the /dev node udev makes a moment after the map shows in sysfs", async () => {
    await fake.file("etc/multipath.conf", "defaults { user_friendly_names yes }\n");
    lunAppears({ "3:0:0:5": "sdc", "4:0:1:5": "sdd" });
    await fake.map("dm-2", "mpatha", WWID, ["sdc", "sdd"]);
    await rm(`${fake.root}/dev/dm-2`);
    let nodeMade = false;
    const attached = fc.attach(target()).then((device) => ({ device, nodeMade }));
    await new Promise((r) => setTimeout(r, 50));
    await fake.file("dev/dm-2", "");
    nodeMade = true;
    const { device, nodeMade: made } = await attached;
    expect(made, "attach answered only once the node existed").toBe(true);
    expect(device.path).toBe(`${fake.root}/dev/dm-2`);
  });

  it("refuses a multipath map whose paths do not all show the WWID", async () => {
    lunAppears({ "3:0:0:5": "sdc", "4:0:1:5": "sdd" });
    await fake.disk("5:0:0:1", "sdz", `naa.${OTHER}`);
    await fake.map("dm-1", "mpathb", WWID, ["sdc", "sdz"]);
    await expect(fc.attach(target())).rejects.toThrow(HostOperationError);
    await expect(fc.attach(target())).rejects.toThrow(/paths \[sdc, sdz\] do not all show it/);
  });

  it("refuses a /dev node that is not the device sysfs describes", async () => {
    lunAppears({ "3:0:0:5": "sdc", "4:0:1:5": "sdd" });
    fake.host.wrongNumbers.set("sdc", "8:99");
    await expect(fc.attach(target())).rejects.toThrow(/is not the block device sdc/);
  });

  it("says there is no FC HBA when sysfs has none", async () => {
    const bare = await FakeSys.create();
    const devices = new FcDevices(new ScsiHost(bare.runner, bare.host, TIMINGS), 100);
    await expect(devices.attach(target())).rejects.toThrow(/no FC HBA/);
    await bare.cleanup();
  });
});

describe("FC detach and resize", () => {
  beforeEach(async () => {
    await fake.disk("3:0:0:5", "sdc", `naa.${NAA}`);
    await fake.disk("4:0:1:5", "sdd", `naa.${NAA}`);
    await fake.disk("3:0:0:6", "sde", `naa.${OTHER}`); // another volume: untouched
  });

  it("flushes the map with multipath -f, then deletes every path, each verified", async () => {
    await fake.map("dm-2", "mpatha", WWID, ["sdc", "sdd"]);
    await fc.detach({ kind: "wwid", wwid: WWID });
    expect(fake.runner.lines()).toEqual([
      `blockdev --flushbufs /dev/dm-2`,
      "multipath -f mpatha",
      "blockdev --flushbufs /dev/sdc",
      "tee /sys/class/scsi_device/3:0:0:5/device/delete <<< 1",
      "blockdev --flushbufs /dev/sdd",
      "tee /sys/class/scsi_device/4:0:1:5/device/delete <<< 1",
    ]);
    const scsi = new ScsiHost(fake.runner, fake.host, TIMINGS);
    expect((await scsi.disks()).map((d) => d.name)).toEqual(["sde"]);
    expect(await scsi.maps()).toEqual([]);
    await fc.detach({ kind: "wwid", wwid: WWID }); // nothing left: success
  });

  it("refuses to remove a map that is still mounted, and removes nothing", async () => {
    const dev = await fake.map("dm-2", "mpatha", WWID, ["sdc", "sdd"]);
    await fake.mounted([{ dev, at: "/var/lib/kubelet/plugins/x/globalmount" }]);
    const err = await fc.detach({ kind: "wwid", wwid: WWID }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toMatch(
      /mpatha is mounted at \/var\/lib\/kubelet\/plugins\/x\/globalmount/,
    );
    expect(fake.runner.lines()).toEqual([]);
  });

  it("fails when a deleted path does not go away, instead of reporting success", async () => {
    fake.runner.deletesWork = false;
    await expect(fc.detach({ kind: "wwid", wwid: WWID })).rejects.toThrow(/sdc \(3:0:0:5\) is still present/);
  });

  it("fails when multipath -f does not remove the map", async () => {
    await fake.map("dm-2", "mpatha", WWID, ["sdc", "sdd"]);
    fake.runner.on(
      (c) => (c.command === "multipath" ? { exitCode: 1, stderr: "mpatha: map in use" } : undefined),
      true,
    );
    await expect(fc.detach({ kind: "wwid", wwid: WWID })).rejects.toThrow(
      /multipath -f mpatha: failed with exit code 1: mpatha: map in use/,
    );
    expect(fake.runner.lines().some((l) => l.includes("delete"))).toBe(false);
  });

  it("rescans each path's capacity and resizes the map", async () => {
    await fake.map("dm-2", "mpatha", WWID, ["sdc", "sdd"]);
    await fc.refreshSize({ kind: "wwid", wwid: WWID });
    expect(fake.runner.lines()).toEqual([
      "tee /sys/class/scsi_device/3:0:0:5/device/rescan <<< 1",
      "tee /sys/class/scsi_device/4:0:1:5/device/rescan <<< 1",
      "multipathd resize map mpatha",
    ]);
  });
});
