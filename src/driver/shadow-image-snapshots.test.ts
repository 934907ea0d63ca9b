/**
 * ShadowImage snapshots, copies and the release of a deleted volume's pairs at the service level:
 * names, the edge cases a retry meets on the array (a copy left by a crash, a reused name, pairs
 * other tools made), and crash convergence of the restore that copies a lone S-VOL with ShadowImage
 * (the gRPC view: src/csi/shadow-image.test.ts; process crash matrices:
 * test/crash/shadow-image-crash.test.ts). Against the in-process simulator.
 */
import { describe, expect, it } from "vitest";

import { DRIVER_NAME, writeData } from "../csi/test-support/driver-harness.js";
import type { Services } from "../csi/test-support/snapshot-harness.js";
import {
  CRASH_VARIANTS,
  Crash,
  MIB,
  crashingClient,
  pattern,
  servicesOver,
  sha256Of,
  shaOfImage,
  useServiceRig,
} from "../csi/test-support/snapshot-harness.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import { AlreadyExistsError } from "./errors.js";
import { shadowImageCopyGroupName, volumeLabel } from "./names.js";
import { cloneNames, isOurGroup, siNames, timeOfPairName, timedPairName } from "./shadow-image-pairs.js";
import type { Volume } from "./volumes.js";

const SIZE = 8 * MIB;
const SI = { copyMethod: "shadowImage" } as const;
const rig = useServiceRig();

function newVolume(s: Services, name: string): Promise<Volume> {
  return s.volumes.create({ name, range: { required_bytes: String(SIZE) }, parameters: {} });
}

function siState(t: TestSim) {
  const { state } = t.sim.core;
  return {
    ldevs: Object.keys(state.ldevs).length,
    siPairs: state.siPairs.map((p) => `${p.pvolLdevId}->${p.svolLdevId} ${p.status}`),
    siCopyGroups: state.siCopyGroups.length,
  };
}

async function runUntilCrash(op: () => Promise<unknown>): Promise<boolean> {
  try {
    await op();
    return true;
  } catch (err) {
    if (err instanceof Crash) return false;
    throw err;
  }
}

describe("ShadowImage names", () => {
  it("derives distinct 31-character device groups from the copy group, and recognises only them", () => {
    const group = shadowImageCopyGroupName(DRIVER_NAME, "snap-a");
    const names = siNames(group);
    expect(names.pvolDeviceGroupName).toBe(`pi-${group.slice(3)}`);
    expect(names.svolDeviceGroupName).toBe(`si-${group.slice(3)}`);
    expect([group, names.pvolDeviceGroupName, names.svolDeviceGroupName].map((n) => n.length)).toEqual([
      31, 31, 31,
    ]);
    expect(names.groupId).toBe(`${group},${names.pvolDeviceGroupName},${names.svolDeviceGroupName}`);
    expect(isOurGroup(names)).toBe(true);
    expect(isOurGroup({ ...names, svolDeviceGroupName: names.pvolDeviceGroupName })).toBe(false);
    expect(isOurGroup({ copyGroupName: "CG_10_11", pvolDeviceGroupName: "CG_10_11P_" })).toBe(false);
    // A copy into a new volume is named from the volume's label, which DeleteVolume knows.
    const label = volumeLabel(DRIVER_NAME, "pvc-c");
    expect(cloneNames(DRIVER_NAME, label).copyGroupName).toBe(
      shadowImageCopyGroupName(DRIVER_NAME, `clone/${label}`),
    );
  });

  it.each([
    [new Date("2025-01-02T03:04:05.678Z"), "t1735787045"],
    [new Date(0), "t0"],
  ])("puts the pair's time in its name (%s → %s) and reads it back to the second", (when, name) => {
    expect(timedPairName(when)).toBe(name);
    expect(timeOfPairName(name)?.getTime()).toBe(Math.floor(when.getTime() / 1000) * 1000);
  });

  it.each(["CP_10_11", "t", "t12x", "t1234567890123"])("reads no time from the pair name %j", (name) => {
    expect(timeOfPairName(name)).toBeUndefined();
  });
});

describe("ShadowImage snapshots on the array", () => {
  it("refuses a snapshot name reused for another volume after its source was deleted (ALREADY_EXISTS)", async () => {
    const { h, healthy } = await rig();
    const a = await newVolume(healthy, "pvc-a");
    await writeData(h.t, a.ldev.ldevId, pattern("a", MIB));
    const snap = await healthy.snapshots.create({ name: "snap", sourceVolumeId: a.volumeId, parameters: SI });
    await healthy.volumes.delete(a.volumeId);
    const b = await newVolume(healthy, "pvc-b");
    const before = siState(h.t);
    await expect(
      healthy.snapshots.create({ name: "snap", sourceVolumeId: b.volumeId, parameters: SI }),
    ).rejects.toThrow(AlreadyExistsError);
    expect(siState(h.t)).toEqual(before);
    expect(await healthy.snapshots.get(snap.snapshotId)).toMatchObject({
      readyToUse: true,
      sourceVolumeId: "",
    });
  });

  it("refuses to delete a volume in a ShadowImage pair another tool made, changing nothing", async () => {
    const { h, healthy } = await rig();
    const a = await newVolume(healthy, "pvc-a");
    const b = await newVolume(healthy, "pvc-b");
    const res = await h.t.job("POST", `${h.t.scoped}/local-clone-copypairs`, {
      copyGroupName: "ansible_cg",
      copyPairName: "ansible_cp",
      replicationType: "SI",
      pvolLdevId: a.ldev.ldevId,
      svolLdevId: b.ldev.ldevId,
      pvolDeviceGroupName: "ansible_p",
      svolDeviceGroupName: "ansible_s",
      isNewGroupCreation: true,
      autoSplit: true,
    });
    expect(res.body.state).toBe("Succeeded");
    const before = siState(h.t);
    for (const v of [a, b]) {
      await expect(healthy.volumes.delete(v.volumeId)).rejects.toThrow(
        /ShadowImage pairs that vsp-csi did not make/,
      );
    }
    expect(siState(h.t)).toEqual(before);
  });
});

describe("a copy left in its pair by a crash", () => {
  it("is dissolved by a DeleteSnapshot of its source once split, and the retry still returns the copy", async () => {
    const { h, healthy, inner } = await rig();
    const source = await newVolume(healthy, "pvc-a");
    const data = pattern("original", MIB);
    await writeData(h.t, source.ldev.ldevId, data);
    const snap = await healthy.snapshots.create({
      name: "snap",
      sourceVolumeId: source.volumeId,
      parameters: SI,
    });
    await healthy.volumes.delete(source.volumeId);
    // A restore of the lone S-VOL with ShadowImage, killed right after its pair was split.
    const input = {
      name: "pvc-r",
      range: undefined,
      parameters: SI,
      source: { kind: "snapshot", snapshotId: snap.snapshotId },
    } as const;
    const dying = crashingClient(inner, 3, "process");
    expect(await runUntilCrash(() => servicesOver(h, dying.client).clones.create(input))).toBe(false);
    expect(dying.changes).toEqual([
      "ldevs.create",
      "ldevs.modify",
      "localCloneCopyPairs.create",
      "localCloneCopyPairs.split",
    ]);
    const svol = snap.svolLdevId ?? -1;
    expect(siState(h.t).siPairs).toEqual([expect.stringMatching(new RegExp(`^${svol}->\\d+ PSUS$`))]);
    // The split copy is finished (PSUS): the snapshot's delete dissolves it rather than wait for
    // a CreateVolume retry that may never come.
    await healthy.snapshots.delete(snap.snapshotId);
    expect(siState(h.t)).toEqual({ ldevs: 1, siPairs: [], siCopyGroups: 0 });
    const restored = await servicesOver(h, inner).clones.create(input);
    expect(await sha256Of(h.t, restored.ldev.ldevId)).toBe(shaOfImage(data, SIZE));
    await healthy.volumes.delete(restored.volumeId);
    expect(siState(h.t)).toEqual({ ldevs: 0, siPairs: [], siCopyGroups: 0 });
  });

  it("is stopped when the new volume itself is deleted; its source then goes too", async () => {
    const { h, healthy, inner } = await rig();
    const source = await newVolume(healthy, "pvc-a");
    await writeData(h.t, source.ldev.ldevId, pattern("original", MIB));
    const input = {
      name: "pvc-c",
      range: undefined,
      parameters: SI,
      source: { kind: "volume", volumeId: source.volumeId },
    } as const;
    // Killed before the split: the pair is there, not split (PAIR with instant timings).
    const dying = crashingClient(inner, 3, "drop");
    expect(await runUntilCrash(() => servicesOver(h, dying.client).clones.create(input))).toBe(false);
    expect(siState(h.t).siPairs).toEqual([expect.stringMatching(/ PAIR$/)]);
    await expect(healthy.volumes.delete(source.volumeId)).rejects.toThrow(
      /ShadowImage copy in progress to LDEV \d+ \(PAIR, 100% done\); retry when it completes/,
    );
    const label = volumeLabel(DRIVER_NAME, "pvc-c");
    const clone = await healthy.volumes.ldevs.findLabelled(healthy.volumes.arrays.all()[0] ?? never(), label);
    const cloneId = healthy.volumes.toVolume(
      healthy.volumes.arrays.all()[0] ?? never(),
      clone ?? never(),
      label,
    );
    await healthy.volumes.delete(cloneId.volumeId);
    await healthy.volumes.delete(source.volumeId);
    expect(siState(h.t)).toEqual({ ldevs: 0, siPairs: [], siCopyGroups: 0 });
  });
});

describe("a ShadowImage restore of a lone S-VOL with the controller killed between any two REST calls", () => {
  it.each(CRASH_VARIANTS)("converges to one volume with the image and no pair (%s)", async (variant) => {
    const { h, healthy, inner } = await rig();
    const source = await newVolume(healthy, "pvc-a");
    const data = pattern("original", MIB);
    await writeData(h.t, source.ldev.ldevId, data);
    const snap = await healthy.snapshots.create({
      name: "snap",
      sourceVolumeId: source.volumeId,
      parameters: SI,
    });
    await healthy.volumes.delete(source.volumeId);
    const crashPoints: string[] = [];
    for (let k = 0; k < 10; k++) {
      const input = {
        name: `pvc-r-${k}`,
        range: undefined,
        parameters: SI,
        source: { kind: "snapshot", snapshotId: snap.snapshotId },
      } as const;
      const dying = crashingClient(inner, k, variant);
      const finished = await runUntilCrash(() => servicesOver(h, dying.client).clones.create(input));
      if (!finished) crashPoints.push(dying.changes.at(-1) ?? "?");
      const restored = await servicesOver(h, inner).clones.create(input);
      expect(await servicesOver(h, inner).clones.create(input)).toMatchObject({
        volumeId: restored.volumeId,
      });
      expect(await sha256Of(h.t, restored.ldev.ldevId)).toBe(shaOfImage(data, SIZE));
      expect(siState(h.t)).toEqual({ ldevs: 2, siPairs: [], siCopyGroups: 0 });
      await healthy.volumes.delete(restored.volumeId);
      if (finished) break;
    }
    expect(crashPoints).toEqual([
      "ldevs.create",
      "ldevs.modify",
      "localCloneCopyPairs.create",
      "localCloneCopyPairs.split",
      "localCloneCopyPairs.delete",
    ]);
  });
});

function never(): never {
  throw new Error("missing");
}
