/**
 * ShadowImage full-copy snapshots (VolumeSnapshotClass copyMethod shadowImage), restores and PVC
 * clones (StorageClass copyMethod shadowImage) end to end through the driver's gRPC API against the
 * in-process simulator, with real bytes: what comes back, the gRPC codes and messages, and what the
 * array holds after (LDEVs, ShadowImage pairs and copy groups, Thin Image pairs). Crash matrices:
 * test/crash/shadow-image-crash.test.ts.
 */
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";

import { parseSnapshotId } from "../driver/ids.js";
import { shadowImageCopyGroupName } from "../driver/names.js";
import type { SimTimings } from "../simulator/config.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import type { CreateVolumeRequest } from "./generated/csi/v1/CreateVolumeRequest.js";
import type { Snapshot__Output } from "./generated/csi/v1/Snapshot.js";
import { call } from "./test-support/clients.js";
import {
  DRIVER_NAME,
  MIB,
  allLdevs,
  createVolume as createPlainVolume,
  expectStatus,
  ldevIdOf,
  ldevIn,
  resetRequests,
  restRequests,
  writeData,
} from "./test-support/driver-harness.js";
import type { ControllerClient } from "./test-support/driver-harness.js";
import {
  copyEnded,
  pattern,
  sha256Of,
  shaOfImage,
  useSnapshotHarness,
  createSnapshot,
  fromSnapshot,
  fromVolume as cloneOf,
} from "./test-support/snapshot-harness.js";

const SIZE = 8 * MIB;
const SI = { copyMethod: "shadowImage" };
/** A ShadowImage copy of 1 MiB of data takes about 400 ms. */
const TIMED: Partial<SimTimings> = { siCopyMs: 400 };

const start = useSnapshotHarness();

// ---- helpers ------------------------------------------------------------------------------------

function volume(c: ControllerClient, name: string, request: Partial<CreateVolumeRequest> = {}) {
  return createPlainVolume(c, name, { capacity_range: { required_bytes: String(SIZE) }, ...request });
}

/** ShadowImage unless the test says otherwise. */
function snapshot(
  c: ControllerClient,
  name: string,
  sourceVolumeId: string,
  parameters: Record<string, string> = SI,
) {
  return createSnapshot(c, name, sourceVolumeId, parameters);
}

function fromVolume(volumeId: string, parameters: Record<string, string> = SI): Partial<CreateVolumeRequest> {
  return cloneOf(volumeId, parameters);
}

async function getSnapshot(c: ControllerClient, snapshotId: string): Promise<Snapshot__Output> {
  const res = await call(c, "GetSnapshot", { snapshot_id: snapshotId });
  if (!res.snapshot) throw new Error("GetSnapshot answered no snapshot");
  return res.snapshot;
}

function svolOf(snap: Snapshot__Output): number {
  const id = parseSnapshotId(snap.snapshot_id);
  if (id.kind !== "si-snapshot") throw new Error("not a ShadowImage snapshot id");
  return id.svolLdevId;
}

/** Everything the array holds that the driver could have made. */
function holdings(t: TestSim) {
  const { state } = t.sim.core;
  return {
    ldevs: allLdevs(t)
      .map((l) => l.ldevId)
      .sort((a, b) => a - b),
    tiPairs: state.tiPairs.length,
    snapshotGroups: state.snapshotGroups.length,
    siPairs: state.siPairs.length,
    siCopyGroups: state.siCopyGroups.map((g) => g.copyGroupName).sort(),
  };
}

const NOTHING = { ldevs: [], tiPairs: 0, snapshotGroups: 0, siPairs: 0, siCopyGroups: [] };

async function untilReady(c: ControllerClient, snapshotId: string, ms = 5_000): Promise<Snapshot__Output> {
  const deadline = Date.now() + ms;
  for (;;) {
    const snap = await getSnapshot(c, snapshotId);
    if (snap.ready_to_use) return snap;
    if (Date.now() > deadline) throw new Error(`snapshot ${snapshotId} not ready in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the Unix second has changed at least once (pair names are timed to the second). */
async function pastSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1_100));
}

async function deleteAll(c: ControllerClient, volumeIds: string[], snapshotIds: string[]): Promise<void> {
  for (const snapshotId of snapshotIds) await call(c, "DeleteSnapshot", { snapshot_id: snapshotId });
  for (const volumeId of volumeIds) await call(c, "DeleteVolume", { volume_id: volumeId });
}

// ---- CreateSnapshot -------------------------------------------------------------------------------

describe("CreateSnapshot with copyMethod shadowImage", () => {
  it("makes a split ShadowImage pair onto a labelled DP S-VOL of the source's size; ready, timed by the pair's name", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const before = Math.floor(Date.now() / 1000);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    const group = shadowImageCopyGroupName(DRIVER_NAME, "snap-a");
    expect(snap).toMatchObject({
      source_volume_id: source.volume_id,
      size_bytes: String(SIZE),
      ready_to_use: true,
    });
    expect(Number(snap.creation_time?.seconds)).toBeGreaterThanOrEqual(before);
    expect(Number(snap.creation_time?.seconds)).toBeLessThanOrEqual(Date.now() / 1000);
    expect(parseSnapshotId(snap.snapshot_id)).toMatchObject({ kind: "si-snapshot", copyGroupName: group });
    expect(ldevIn(t, svolOf(snap))).toMatchObject({ label: group, poolId: 0, blockCapacity: SIZE / 512 });
    const [pair] = t.sim.core.state.siPairs;
    expect(pair).toMatchObject({
      copyGroupName: group,
      pvolDeviceGroupName: `p${group.slice(1)}`,
      svolDeviceGroupName: `s${group.slice(1)}`,
      copyPairName: `t${snap.creation_time?.seconds ?? ""}`,
      pvolLdevId: ldevIdOf(source.volume_id),
      svolLdevId: svolOf(snap),
      status: "PSUS",
    });
    expect(holdings(t)).toMatchObject({ tiPairs: 0, siPairs: 1, siCopyGroups: [group] });
  });

  it("is cut when the call returns: not ready while the copy runs, then ready; later writes are not in it", async () => {
    const { controller, t } = await start(TIMED);
    const source = await volume(controller, "pvc-a");
    const pvol = ldevIdOf(source.volume_id);
    const before = pattern("before", MIB);
    await writeData(t, pvol, before);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    expect(snap.ready_to_use).toBe(false);
    await writeData(t, pvol, pattern("after", MIB));
    // A retry while copying (the snapshotter polls CreateSnapshot) is the same snapshot, not a new cut.
    const again = await snapshot(controller, "snap-a", source.volume_id);
    expect(again).toEqual(snap);
    expect(t.sim.core.state.siPairs.map((p) => p.status)).toEqual(["COPY"]);
    const ready = await untilReady(controller, snap.snapshot_id);
    expect(ready).toEqual({ ...snap, ready_to_use: true });
    expect(await sha256Of(t, svolOf(snap))).toBe(shaOfImage(before, SIZE));
    expect(await snapshot(controller, "snap-a", source.volume_id)).toEqual(ready);
  });

  it("is idempotent by name (one pair, one S-VOL) and refuses the name for another volume", async () => {
    const { controller, t } = await start();
    const a = await volume(controller, "pvc-a");
    const b = await volume(controller, "pvc-b");
    const first = await snapshot(controller, "snap-a", a.volume_id);
    expect(await snapshot(controller, "snap-a", a.volume_id)).toEqual(first);
    await expectStatus(snapshot(controller, "snap-a", b.volume_id), status.ALREADY_EXISTS, /another volume/);
    expect(holdings(t)).toMatchObject({ siPairs: 1, ldevs: expect.arrayContaining([svolOf(first)]) });
    expect(allLdevs(t)).toHaveLength(3);
  });

  it.each([
    ["an unknown copyMethod", { copyMethod: "fullCopy" }, /VolumeSnapshotClass parameters: copyMethod: /],
    [
      "snapshotPool with shadowImage",
      { copyMethod: "shadowImage", snapshotPool: "2" },
      /snapshotPool: applies to copyMethod thinImage only/,
    ],
  ])(
    "answers %s with INVALID_ARGUMENT naming the key, making nothing",
    async (_what, parameters, message) => {
      const { controller, t } = await start();
      const source = await volume(controller, "pvc-a");
      await expectStatus(
        snapshot(controller, "snap-a", source.volume_id, parameters),
        status.INVALID_ARGUMENT,
        message,
      );
      expect(allLdevs(t)).toHaveLength(1);
    },
  );

  it("removes the S-VOL when the pair create fails, leaving nothing; a retry then succeeds", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await t.admin("PUT", "/simulator/faults", { failJobsCount: 1, failJobsMatch: "local-clone-copypairs" });
    await expectStatus(snapshot(controller, "snap-a", source.volume_id), status.INTERNAL);
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [ldevIdOf(source.volume_id)] });
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    expect(snap.ready_to_use).toBe(true);
  });

  it("answers a full pool with RESOURCE_EXHAUSTED saying what to do, leaving nothing", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await t.admin("PUT", "/simulator/faults", {
      failJobsCount: 1,
      failJobsMatch: "local-clone-copypairs",
      failJobsSsb: ["2E30", "0007"],
    });
    await expectStatus(
      snapshot(controller, "snap-a", source.volume_id),
      status.RESOURCE_EXHAUSTED,
      /pool 0 is full: a ShadowImage copy needs the source's full size in it; free capacity/,
    );
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [ldevIdOf(source.volume_id)] });
    await t.admin("PUT", "/simulator/faults", { poolFull: [0] });
    await expectStatus(
      snapshot(controller, "snap-b", source.volume_id),
      status.RESOURCE_EXHAUSTED,
      /pool is full/,
    );
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [ldevIdOf(source.volume_id)] });
  });

  it("answers a 4th ShadowImage snapshot of a volume (MU 0-2) with RESOURCE_EXHAUSTED, leaving nothing", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    for (const n of [1, 2, 3]) await snapshot(controller, `snap-${n}`, source.volume_id);
    const held = holdings(t);
    await expectStatus(
      snapshot(controller, "snap-4", source.volume_id),
      status.RESOURCE_EXHAUSTED,
      /already in 3 ShadowImage pairs.*use copyMethod thinImage/,
    );
    expect(holdings(t)).toEqual(held);
    // Thin Image snapshots of the same volume are not limited by it.
    expect((await snapshot(controller, "snap-ti", source.volume_id, {})).ready_to_use).toBe(true);
  });
});

describe("CreateSnapshot with copyMethod shadowImage retried after a failed split", () => {
  it("removes the pair and the S-VOL when the split fails; the retry cuts the image anew, timed then", async () => {
    const { controller, t } = await start(TIMED);
    const source = await volume(controller, "pvc-a");
    const pvol = ldevIdOf(source.volume_id);
    await writeData(t, pvol, pattern("old", MIB));
    await t.admin("PUT", "/simulator/faults", { failJobsCount: 1, failJobsMatch: "actions/split" });
    await expectStatus(snapshot(controller, "snap-a", source.volume_id), status.INTERNAL);
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [pvol] });
    await pastSecond();
    const written = pattern("new", MIB);
    await writeData(t, pvol, written);
    const beforeRetry = Math.floor(Date.now() / 1000);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    expect(Number(snap.creation_time?.seconds)).toBeGreaterThanOrEqual(beforeRetry);
    await untilReady(controller, snap.snapshot_id);
    expect(await sha256Of(t, svolOf(snap))).toBe(shaOfImage(written, SIZE));
  });

  it("makes a pair found never split (PAIR) anew before splitting: creation_time is no earlier than the cut", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const pvol = ldevIdOf(source.volume_id);
    await writeData(t, pvol, pattern("old", MIB));
    // The split fails, and so does the clean-up's pair delete: the pair stays, unsplit.
    await t.admin("PUT", "/simulator/faults", { failJobsCount: 2, failJobsMatch: "local-clone-copypairs/" });
    await expectStatus(snapshot(controller, "snap-a", source.volume_id), status.INTERNAL);
    expect(t.sim.core.state.siPairs.map((p) => p.status)).toEqual(["PAIR"]);
    await pastSecond();
    const written = pattern("new", MIB);
    await writeData(t, pvol, written);
    const beforeRetry = Math.floor(Date.now() / 1000);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    // The image is the data written after the failed call, and the snapshot is timed by the retry.
    expect(await sha256Of(t, svolOf(snap))).toBe(shaOfImage(written, SIZE));
    expect(Number(snap.creation_time?.seconds)).toBeGreaterThanOrEqual(beforeRetry);
    const again = await snapshot(controller, "snap-a", source.volume_id);
    expect(again).toEqual(snap);
    await deleteAll(controller, [source.volume_id], [snap.snapshot_id]);
    expect(holdings(t)).toEqual(NOTHING);
  });

  it("answers a pair the array suspended (PSUE) with RESOURCE_EXHAUSTED, removing it; the retry takes it anew", async () => {
    const { controller, t } = await start(TIMED);
    const source = await volume(controller, "pvc-a");
    const data = pattern("data", MIB);
    await writeData(t, ldevIdOf(source.volume_id), data);
    const first = await snapshot(controller, "snap-a", source.volume_id);
    expect(first.ready_to_use).toBe(false);
    const [p] = t.sim.core.state.siPairs;
    if (!p) throw new Error("no pair");
    const pairId = [p.copyGroupName, p.pvolDeviceGroupName, p.svolDeviceGroupName, p.copyPairName].join(",");
    const suspend = await t.job(
      "POST",
      `${t.short}/local-clone-copypairs/${encodeURIComponent(pairId)}/actions/split/invoke`,
      { parameters: { forceSuspend: true } },
    );
    expect(suspend.status).toBe(202);
    expect(t.sim.core.state.siPairs.map((q) => q.status)).toEqual(["PSUE"]);
    expect((await getSnapshot(controller, first.snapshot_id)).ready_to_use).toBe(false);
    await expectStatus(
      snapshot(controller, "snap-a", source.volume_id),
      status.RESOURCE_EXHAUSTED,
      /suspended by the array \(PSUE\).*it was removed: free capacity in the pool, and a retry takes the snapshot anew/,
    );
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [ldevIdOf(source.volume_id)] });
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await untilReady(controller, snap.snapshot_id);
    expect(await sha256Of(t, svolOf(snap))).toBe(shaOfImage(data, SIZE));
  });
});

// ---- restores, the source's deletion, DeleteSnapshot ------------------------------------------------

describe("restores from a ShadowImage snapshot", () => {
  it("give the exact bytes after the source was overwritten, and after the source was deleted", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const original = pattern("original", MIB);
    await writeData(t, ldevIdOf(source.volume_id), original);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await writeData(t, ldevIdOf(source.volume_id), pattern("overwritten", MIB));

    // StorageClass default (thinImage): a Thin Image clone of the S-VOL, paired with its source.
    const r1 = await volume(controller, "pvc-r1", fromSnapshot(snap.snapshot_id));
    await copyEnded(t, ldevIdOf(r1.volume_id));
    expect(await sha256Of(t, ldevIdOf(r1.volume_id))).toBe(shaOfImage(original, SIZE));
    // shadowImage while the snapshot is paired: the Thin Image clone too (no cascaded ShadowImage).
    const r2 = await volume(controller, "pvc-r2", fromSnapshot(snap.snapshot_id, SI));
    await copyEnded(t, ldevIdOf(r2.volume_id));
    expect(await sha256Of(t, ldevIdOf(r2.volume_id))).toBe(shaOfImage(original, SIZE));

    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    expect(holdings(t)).toMatchObject({ siPairs: 0, siCopyGroups: [], tiPairs: 0 });
    const alone = await getSnapshot(controller, snap.snapshot_id);
    expect(alone).toEqual({
      ...snap,
      source_volume_id: "",
      creation_time: { seconds: "0", nanos: 0 },
      ready_to_use: true,
    });
    expect(await sha256Of(t, svolOf(snap))).toBe(shaOfImage(original, SIZE));

    // The S-VOL alone: both methods copy from it; shadowImage leaves no pair behind.
    const r3 = await volume(controller, "pvc-r3", fromSnapshot(snap.snapshot_id, SI));
    expect(holdings(t)).toMatchObject({ siPairs: 0, siCopyGroups: [], tiPairs: 0 });
    const r4 = await volume(controller, "pvc-r4", fromSnapshot(snap.snapshot_id));
    await copyEnded(t, ldevIdOf(r4.volume_id));
    for (const r of [r3, r4])
      expect(await sha256Of(t, ldevIdOf(r.volume_id))).toBe(shaOfImage(original, SIZE));

    await deleteAll(
      controller,
      [r1, r2, r3, r4].map((v) => v.volume_id),
      [snap.snapshot_id],
    );
    expect(holdings(t)).toEqual(NOTHING);
  });

  it("are refused (UNAVAILABLE) while the snapshot is still copying", async () => {
    const { controller, t } = await start(TIMED);
    const source = await volume(controller, "pvc-a");
    await writeData(t, ldevIdOf(source.volume_id), pattern("original", MIB));
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await expectStatus(
      volume(controller, "pvc-r", fromSnapshot(snap.snapshot_id)),
      status.UNAVAILABLE,
      /not ready yet \(ShadowImage copy COPY, \d+% done\); retry/,
    );
    expect(allLdevs(t).filter((l) => l.label.startsWith("cv-"))).toHaveLength(1);
  });
});

describe("deleting the source volume of a ShadowImage snapshot", () => {
  it("is refused while the copy runs and allowed after; the snapshot then stands alone", async () => {
    const { controller, t } = await start(TIMED);
    const source = await volume(controller, "pvc-a");
    const original = pattern("original", MIB);
    await writeData(t, ldevIdOf(source.volume_id), original);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await expectStatus(
      call(controller, "DeleteVolume", { volume_id: source.volume_id }),
      status.FAILED_PRECONDITION,
      /a ShadowImage snapshot is still copying from this volume .*; retry when it completes/,
    );
    expect(holdings(t)).toMatchObject({
      siPairs: 1,
      ldevs: [ldevIdOf(source.volume_id), svolOf(snap)].sort((a, b) => a - b),
    });
    await untilReady(controller, snap.snapshot_id);
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [svolOf(snap)] });
    expect(await sha256Of(t, svolOf(snap))).toBe(shaOfImage(original, SIZE));
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    expect(holdings(t)).toEqual(NOTHING);
  });

  it("keeps refusing while Thin Image snapshots remain, deleting nothing", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const si = await snapshot(controller, "snap-si", source.volume_id);
    const ti = await snapshot(controller, "snap-ti", source.volume_id, {});
    const held = holdings(t);
    await expectStatus(
      call(controller, "DeleteVolume", { volume_id: source.volume_id }),
      status.FAILED_PRECONDITION,
      /1 snapshot\(s\) \(delete the VolumeSnapshots first\)/,
    );
    expect(holdings(t)).toEqual(held);
    await call(controller, "DeleteSnapshot", { snapshot_id: ti.snapshot_id });
    await deleteAll(controller, [source.volume_id], [si.snapshot_id]);
    expect(holdings(t)).toEqual(NOTHING);
  });
});

describe("DeleteSnapshot of a ShadowImage snapshot", () => {
  it("is idempotent: pair, S-VOL and copy group go; a repeat and unknown ids succeed", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    await call(controller, "DeleteSnapshot", {
      snapshot_id: `1.886000123456.si.4321.${shadowImageCopyGroupName(DRIVER_NAME, "never")}`,
    });
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [ldevIdOf(source.volume_id)] });
    await expectStatus(getSnapshot(controller, snap.snapshot_id), status.NOT_FOUND);
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    expect(holdings(t)).toEqual(NOTHING);
  });

  it("is refused while a restore copies from it, deleting nothing; allowed once the copy ended", async () => {
    const { controller, t } = await start({ cloneMiBPerSecond: 1 });
    const source = await volume(controller, "pvc-a");
    const original = pattern("original", MIB);
    await writeData(t, ldevIdOf(source.volume_id), original);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    const restored = await volume(controller, "pvc-r", fromSnapshot(snap.snapshot_id));
    const held = holdings(t);
    await expectStatus(
      call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id }),
      status.FAILED_PRECONDITION,
      /a restore or clone from this snapshot is still copying; retry when it completes/,
    );
    expect(holdings(t)).toEqual(held);
    await copyEnded(t, ldevIdOf(restored.volume_id));
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    expect(await sha256Of(t, ldevIdOf(restored.volume_id))).toBe(shaOfImage(original, SIZE));
    await deleteAll(controller, [source.volume_id, restored.volume_id], []);
    expect(holdings(t)).toEqual(NOTHING);
  });

  it("is allowed while the snapshot's own copy runs (the copy is stopped)", async () => {
    const { controller, t } = await start(TIMED);
    const source = await volume(controller, "pvc-a");
    await writeData(t, ldevIdOf(source.volume_id), pattern("original", MIB));
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    expect(snap.ready_to_use).toBe(false);
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [ldevIdOf(source.volume_id)] });
  });
});

describe("finished ShadowImage copies whose pair the array would not delete at once (PSUS(SP))", () => {
  /** The next copy's pair delete, right after its split, is refused as in PSUS(SP) (§6), `n` times. */
  const refuseCopyPairDelete = (t: TestSim, n = 1) =>
    t.admin("PUT", "/simulator/faults", {
      failJobsCount: n,
      failJobsSkip: 1,
      failJobsMatch: "local-clone-copypairs/",
      failJobsSsb: ["2E10", "9706"],
    });

  it("do not keep the snapshot they copy from from being deleted; refused only while the array refuses", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const data = pattern("data", MIB);
    await writeData(t, ldevIdOf(source.volume_id), data);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    // The source goes: the snapshot stands alone; a restore with copyMethod shadowImage copies its S-VOL.
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    await refuseCopyPairDelete(t, 2);
    const restored = await volume(controller, "pvc-r", fromSnapshot(snap.snapshot_id, SI));
    expect(t.sim.core.state.siPairs.map((p) => p.status)).toEqual(["PSUS"]);
    // The array still refuses (the background copy runs): nothing is deleted.
    const held = holdings(t);
    await expectStatus(
      call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id }),
      status.FAILED_PRECONDITION,
      /a restore or clone from this snapshot is still copying \(.*background.*\); retry when it completes/,
    );
    expect(holdings(t)).toEqual(held);
    // The copy is over: the snapshot's delete dissolves the pair, then goes.
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [ldevIdOf(restored.volume_id)] });
    expect(await sha256Of(t, ldevIdOf(restored.volume_id))).toBe(shaOfImage(data, SIZE));
    await deleteAll(controller, [restored.volume_id], []);
    expect(holdings(t)).toEqual(NOTHING);
  });

  it.each(["source", "clone"] as const)(
    "are dissolved by a DeleteVolume of the %s; the clone keeps its bytes",
    async (which) => {
      const { controller, t } = await start();
      const source = await volume(controller, "pvc-a");
      const data = pattern("data", MIB);
      await writeData(t, ldevIdOf(source.volume_id), data);
      await refuseCopyPairDelete(t);
      const clone = await volume(controller, "pvc-c", fromVolume(source.volume_id));
      expect(t.sim.core.state.siPairs.map((p) => p.status)).toEqual(["PSUS"]);
      const [first, second] = which === "source" ? [source, clone] : [clone, source];
      await call(controller, "DeleteVolume", { volume_id: first.volume_id });
      expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [ldevIdOf(second.volume_id)] });
      if (which === "source")
        expect(await sha256Of(t, ldevIdOf(clone.volume_id))).toBe(shaOfImage(data, SIZE));
      await call(controller, "DeleteVolume", { volume_id: second.volume_id });
      expect(holdings(t)).toEqual(NOTHING);
    },
  );

  it("do not take the source's MU slots: a ShadowImage snapshot and another clone dissolve them", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const data = pattern("data", MIB);
    await writeData(t, ldevIdOf(source.volume_id), data);
    const clones = [];
    for (const n of [1, 2, 3]) {
      await refuseCopyPairDelete(t);
      clones.push(await volume(controller, `pvc-c${n}`, fromVolume(source.volume_id)));
    }
    expect(t.sim.core.state.siPairs.map((p) => p.status)).toEqual(["PSUS", "PSUS", "PSUS"]);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    expect(snap.ready_to_use).toBe(true);
    expect(t.sim.core.state.siPairs.map((p) => p.svolLdevId)).toEqual([svolOf(snap)]);
    // The snapshot's pair and two more leftovers fill MU 0-2 again: the next clone makes room.
    for (const n of [4, 5]) {
      await refuseCopyPairDelete(t);
      clones.push(await volume(controller, `pvc-c${n}`, fromVolume(source.volume_id)));
    }
    expect(t.sim.core.state.siPairs).toHaveLength(3);
    clones.push(await volume(controller, "pvc-c6", fromVolume(source.volume_id)));
    expect(t.sim.core.state.siPairs.map((p) => p.svolLdevId)).toEqual([svolOf(snap)]);
    for (const c of clones) expect(await sha256Of(t, ldevIdOf(c.volume_id))).toBe(shaOfImage(data, SIZE));
    await deleteAll(controller, [source.volume_id, ...clones.map((c) => c.volume_id)], [snap.snapshot_id]);
    expect(holdings(t)).toEqual(NOTHING);
  });
});

// ---- PVC clones ---------------------------------------------------------------------------------

describe("PVC clones with copyMethod shadowImage", () => {
  it("hold the source's exact bytes at the call, independent of later writes; the pair goes once copied", async () => {
    const { controller, t } = await start(TIMED);
    const source = await volume(controller, "pvc-a");
    const original = pattern("original", MIB);
    await writeData(t, ldevIdOf(source.volume_id), original);
    const clone = await volume(controller, "pvc-c", fromVolume(source.volume_id));
    await writeData(t, ldevIdOf(source.volume_id), pattern("later", MIB));
    expect(await sha256Of(t, ldevIdOf(clone.volume_id))).toBe(shaOfImage(original, SIZE));
    // The copy the quick split owes runs on (PSUS(SP)); the array refuses to delete the pair meanwhile.
    expect(holdings(t)).toMatchObject({ siPairs: 1, tiPairs: 0 });
    expect(ldevIn(t, ldevIdOf(clone.volume_id))).toMatchObject({ poolId: 0, blockCapacity: SIZE / 512 });
    expect(await volume(controller, "pvc-c", fromVolume(source.volume_id))).toEqual(clone);
    await expectStatus(
      call(controller, "DeleteVolume", { volume_id: source.volume_id }),
      status.FAILED_PRECONDITION,
      /retry when it completes/,
    );
    for (let i = 0; i < 200 && t.sim.core.state.siPairs.some((p) => p.pending); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    // Independent once copied: the source goes (its finished copy pair dissolved), the clone keeps its bytes.
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    expect(await sha256Of(t, ldevIdOf(clone.volume_id))).toBe(shaOfImage(original, SIZE));
    await call(controller, "DeleteVolume", { volume_id: clone.volume_id });
    expect(holdings(t)).toEqual(NOTHING);
  });

  it("grows a clone asked larger than the source once the copy ended", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await writeData(t, ldevIdOf(source.volume_id), pattern("original", MIB));
    const clone = await volume(controller, "pvc-c", {
      ...fromVolume(source.volume_id),
      capacity_range: { required_bytes: String(2 * SIZE) },
    });
    expect(clone.capacity_bytes).toBe(String(2 * SIZE));
    expect(await sha256Of(t, ldevIdOf(clone.volume_id))).toBe(shaOfImage(pattern("original", MIB), 2 * SIZE));
  });

  it("answers an unknown copyMethod with INVALID_ARGUMENT naming the key", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await expectStatus(
      volume(controller, "pvc-c", fromVolume(source.volume_id, { copyMethod: "ShadowImage" })),
      status.INVALID_ARGUMENT,
      /StorageClass parameters: copyMethod: /,
    );
    expect(allLdevs(t)).toHaveLength(1);
  });

  it("removes the new volume when the pair create fails, leaving nothing", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await t.admin("PUT", "/simulator/faults", { failJobsCount: 1, failJobsMatch: "local-clone-copypairs" });
    await expectStatus(volume(controller, "pvc-c", fromVolume(source.volume_id)), status.INTERNAL);
    expect(holdings(t)).toEqual({ ...NOTHING, ldevs: [ldevIdOf(source.volume_id)] });
  });
});

// ---- listing ------------------------------------------------------------------------------------

describe("ListSnapshots with ShadowImage snapshots", () => {
  it("lists them after the Thin Image ones, by id, by source and paged; alone after the source went", async () => {
    const { controller } = await start();
    const source = await volume(controller, "pvc-a");
    const other = await volume(controller, "pvc-b");
    const ti = await snapshot(controller, "snap-ti", source.volume_id, {});
    const si1 = await snapshot(controller, "snap-si1", source.volume_id);
    const si2 = await snapshot(controller, "snap-si2", other.volume_id);
    // A clone's copy pair is not a snapshot.
    await volume(controller, "pvc-c", fromVolume(source.volume_id));
    const all = await call(controller, "ListSnapshots", {});
    const ids = (entries: typeof all.entries) => entries.map((e) => e.snapshot?.snapshot_id);
    const siIds = [si1, si2].sort((a, b) => svolOf(a) - svolOf(b)).map((s) => s.snapshot_id);
    expect(ids(all.entries)).toEqual([ti.snapshot_id, ...siIds]);
    const bySource = await call(controller, "ListSnapshots", { source_volume_id: source.volume_id });
    expect(bySource.entries.map((e) => e.snapshot)).toEqual([ti, si1]);
    const byId = await call(controller, "ListSnapshots", { snapshot_id: si2.snapshot_id });
    expect(byId.entries.map((e) => e.snapshot)).toEqual([si2]);

    const first = await call(controller, "ListSnapshots", { max_entries: 2 });
    expect(first.next_token).toMatch(/^0\.si\.\d+$/);
    const rest = await call(controller, "ListSnapshots", { starting_token: first.next_token });
    expect([...ids(first.entries), ...ids(rest.entries)]).toEqual(ids(all.entries));
    await expectStatus(call(controller, "ListSnapshots", { starting_token: "0.si.x" }), status.ABORTED);

    await call(controller, "DeleteSnapshot", { snapshot_id: ti.snapshot_id });
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    const after = await call(controller, "ListSnapshots", {});
    expect(after.entries.find((e) => e.snapshot?.snapshot_id === si1.snapshot_id)?.snapshot).toMatchObject({
      source_volume_id: "",
      ready_to_use: true,
    });
    expect((await call(controller, "ListSnapshots", { source_volume_id: source.volume_id })).entries).toEqual(
      [],
    );
  });
});

// ---- REST calls ---------------------------------------------------------------------------------

describe("REST calls", () => {
  it("counts the calls of CreateSnapshot (new, repeated), DeleteSnapshot, a restore and a clone", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await writeData(t, ldevIdOf(source.volume_id), pattern("original", MIB));
    await resetRequests(t);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    const created = await restRequests(t);
    expect(created).toEqual([
      expect.stringMatching(/^GET \/ldevs\/\d+$/), // the source volume
      expect.stringMatching(/^GET \/local-clone-copygroups\/ci-\w+,pi-\w+,si-\w+$/), // idempotency
      "GET /ldevs", // the S-VOL's window
      "POST /ldevs",
      expect.stringMatching(/^PATCH \/ldevs\/\d+$/), // label
      "POST /local-clone-copypairs", // NoWait
      expect.stringMatching(/^GET \/local-clone-copypairs\/ci-[\w,-]+,t\d+$/),
      expect.stringMatching(/^POST \/local-clone-copypairs\/.+\/actions\/split\/invoke$/), // NoWait
      expect.stringMatching(/^GET \/local-clone-copypairs\/.+$/), // status
    ]);
    await resetRequests(t);
    await snapshot(controller, "snap-a", source.volume_id);
    const repeated = await restRequests(t);
    expect(repeated).toHaveLength(3);

    await resetRequests(t);
    const restored = await volume(controller, "pvc-r", fromSnapshot(snap.snapshot_id));
    const restore = await restRequests(t);
    await copyEnded(t, ldevIdOf(restored.volume_id));
    await resetRequests(t);
    const clone = await volume(controller, "pvc-c", fromVolume(source.volume_id));
    const cloned = await restRequests(t);
    expect(cloned.filter((r) => r.includes("local-clone-copypairs"))).toEqual([
      "POST /local-clone-copypairs",
      expect.stringMatching(/^GET /),
      expect.stringMatching(/\/actions\/split\/invoke$/),
      expect.stringMatching(/^GET /),
      expect.stringMatching(/^DELETE /),
      expect.stringMatching(/^GET /), // gone (404)
    ]);

    await resetRequests(t);
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    const deleted = await restRequests(t);
    expect(deleted).toEqual([
      expect.stringMatching(/^GET \/ldevs\/\d+$/), // the S-VOL, by id and label
      expect.stringMatching(/^GET \/local-clone-copygroups\//),
      expect.stringMatching(/^DELETE \/local-clone-copypairs\//), // NoWait
      expect.stringMatching(/^GET \/local-clone-copypairs\//), // gone (404)
      expect.stringMatching(/^DELETE \/ldevs\/\d+$/),
    ]);
    // The source of a split ShadowImage snapshot goes (its pair first); the S-VOL is then copied
    // with ShadowImage (StorageClass copyMethod shadowImage).
    const lone = await snapshot(controller, "snap-b", source.volume_id);
    await resetRequests(t);
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    const sourceDeleted = await restRequests(t);
    await resetRequests(t);
    const restoredSi = await volume(controller, "pvc-r2", fromSnapshot(lone.snapshot_id, SI));
    const restoreSi = await restRequests(t);
    expect(await sha256Of(t, ldevIdOf(restoredSi.volume_id))).toBe(
      shaOfImage(pattern("original", MIB), SIZE),
    );
    console.log(
      `[rest] ShadowImage: CreateSnapshot new ${created.length}, repeated ${repeated.length}; ` +
        `DeleteSnapshot ${deleted.length}; restore (Thin Image clone of the S-VOL) ${restore.length}; ` +
        `restore of a lone S-VOL with ShadowImage ${restoreSi.length}; PVC clone ${cloned.length}; ` +
        `DeleteVolume of a source with 1 ShadowImage snapshot ${sourceDeleted.length}`,
    );
    await deleteAll(
      controller,
      [restored.volume_id, clone.volume_id, restoredSi.volume_id],
      [lone.snapshot_id],
    );
    expect(holdings(t)).toEqual(NOTHING);
  });
});
