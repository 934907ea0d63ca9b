/**
 * VolumeSnapshots, restores and PVC clones end to end through the driver's gRPC API (buildDriver,
 * real socket) against the in-process simulator, with real bytes: what a user of a VSP array would
 * check — the data that comes back, the gRPC codes and messages, and what the array holds after.
 * The last block kills a real controller process at every step (test/crash/support.ts). Crash
 * matrices at the service level, REST call counts and growth after a copy:
 * src/driver/snapshots.test.ts and clones.test.ts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";

import { parseSnapshotId, parseVolumeId } from "../driver/ids.js";
import { groupSnapshotGroupName, sharedGroupName, snapshotLabel, volumeLabel } from "../driver/names.js";
import type { CsiClients } from "../../test/crash/support.js";
import { CrashRig, liveChildren, overran, runCrashMatrix, stateDiff } from "../../test/crash/support.js";
import { DEFAULT_DRIVER_NAME } from "../config/schema.js";
import type { SimTimings } from "../simulator/config.js";
import type { SimState } from "../simulator/state.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import { startTestSim } from "../simulator/test-support/harness.js";
import type { CreateVolumeRequest } from "./generated/csi/v1/CreateVolumeRequest.js";
import type { Snapshot__Output } from "./generated/csi/v1/Snapshot.js";
import { call } from "./test-support/clients.js";
import {
  BLOCK_RWO,
  DRIVER_NAME,
  MIB,
  MOUNT_RWO,
  allLdevs,
  createVolume as createPlainVolume,
  expectStatus,
  ldevIdOf,
  ldevIn,
  writeData,
} from "./test-support/driver-harness.js";
import type { ControllerClient } from "./test-support/driver-harness.js";
import {
  copyEnded,
  createSnapshot as snapshot,
  fromSnapshot,
  fromVolume,
  holdings,
  shaOfImage as imageSha,
  pairs,
  pattern,
  sha256Of,
  useSnapshotHarness,
} from "./test-support/snapshot-harness.js";

const SIZE = 8 * MIB;
const GONE_VOLUME = "1.886000123456.v.4321.cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const GONE_SNAPSHOT = "1.886000123456.ti.4321.0.cs-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

const start = useSnapshotHarness();

// ---- helpers ------------------------------------------------------------------------------------

function volume(c: ControllerClient, name: string, request: Partial<CreateVolumeRequest> = {}) {
  return createPlainVolume(c, name, { capacity_range: { required_bytes: String(SIZE) }, ...request });
}

/** The sha256 of a SIZE-byte (or `size`) volume holding `data` at offset 0, zeros after. */
function shaOfImage(data: Buffer, size = SIZE): string {
  return imageSha(data, size);
}

function svolOf(t: TestSim, snap: Snapshot__Output): number {
  const id = parseSnapshotId(snap.snapshot_id);
  if (id.kind !== "ti-snapshot") throw new Error("not a Thin Image snapshot id");
  const pair = pairs(t).find((p) => p.pvolLdevId === id.pvolLdevId && p.muNumber === id.muNumber);
  if (pair?.svolLdevId === undefined) throw new Error("the snapshot pair has no S-VOL");
  return pair.svolLdevId;
}

// ---- CreateSnapshot -------------------------------------------------------------------------------

describe("CreateSnapshot", () => {
  it("splits a Thin Image pair onto a labelled DP S-VOL in the source's pool; ready, sized and timed by the array", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const before = Date.now();
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    const label = snapshotLabel(DRIVER_NAME, "snap-a");
    expect(snap).toMatchObject({
      source_volume_id: source.volume_id,
      size_bytes: String(SIZE),
      ready_to_use: true,
    });
    expect(Number(snap.creation_time?.seconds) * 1000).toBeGreaterThanOrEqual(
      Math.floor(before / 1000) * 1000,
    );
    expect(Number(snap.creation_time?.seconds) * 1000).toBeLessThanOrEqual(Date.now());
    expect(parseSnapshotId(snap.snapshot_id)).toMatchObject({
      kind: "ti-snapshot",
      pvolLdevId: ldevIdOf(source.volume_id),
      muNumber: 0,
      snapshotGroupName: label,
    });
    const [pair] = pairs(t);
    // The pair is in the source's shared snapshot group; the S-VOL's label names the snapshot.
    expect(pair).toMatchObject({
      status: "PSUS",
      snapshotGroupName: sharedGroupName("snapshots", ldevIdOf(source.volume_id)),
      snapshotPoolId: 0,
      canCascade: true,
    });
    const svol = ldevIn(t, svolOf(t, snap));
    expect(svol).toMatchObject({ label, poolId: 0, blockCapacity: SIZE / 512 });
  });

  it("is idempotent by name: the same snapshot again, no second pair or S-VOL", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const first = await snapshot(controller, "snap-a", source.volume_id);
    const again = await snapshot(controller, "snap-a", source.volume_id);
    expect(again).toEqual(first);
    expect(pairs(t)).toHaveLength(1);
    expect(allLdevs(t)).toHaveLength(2);
  });

  it("refuses a name already used for another volume's snapshot with ALREADY_EXISTS, creating nothing", async () => {
    const { controller, t } = await start();
    const a = await volume(controller, "pvc-a");
    const b = await volume(controller, "pvc-b");
    await snapshot(controller, "snap-x", a.volume_id);
    await expectStatus(snapshot(controller, "snap-x", b.volume_id), status.ALREADY_EXISTS, /another volume/);
    expect(pairs(t)).toHaveLength(1);
    expect(allLdevs(t)).toHaveLength(3);
  });

  it.each([
    ["no name", { source_volume_id: GONE_VOLUME }, status.INVALID_ARGUMENT, /name is required/],
    ["no source", { name: "s" }, status.INVALID_ARGUMENT, /source_volume_id is required/],
    ["a deleted source", { name: "s", source_volume_id: GONE_VOLUME }, status.NOT_FOUND, /does not exist/],
    ["a foreign source id", { name: "s", source_volume_id: "vol-1" }, status.NOT_FOUND, /does not exist/],
    [
      "an unknown class parameter",
      { name: "s", source_volume_id: GONE_VOLUME, parameters: { poolID: "2" } },
      status.INVALID_ARGUMENT,
      /VolumeSnapshotClass parameters: unknown key\(s\) "poolID"/,
    ],
    [
      "a non-numeric snapshotPool",
      { name: "s", source_volume_id: GONE_VOLUME, parameters: { snapshotPool: "two" } },
      status.INVALID_ARGUMENT,
      /snapshotPool: must be a non-negative integer/,
    ],
  ])("answers %s with the right code", async (_what, request, code, message) => {
    const { controller } = await start();
    await expectStatus(call(controller, "CreateSnapshot", request), code, message);
  });

  it("puts the snapshot data in the VolumeSnapshotClass's snapshotPool, ignoring sidecar keys", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await snapshot(controller, "snap-a", source.volume_id, {
      snapshotPool: "2",
      "csi.storage.k8s.io/volumesnapshot/name": "daily",
    });
    expect(pairs(t)[0]?.snapshotPoolId).toBe(2);
  });

  it("answers a full snapshot pool with RESOURCE_EXHAUSTED naming it, and leaves nothing behind", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await t.admin("PUT", "/simulator/faults", { poolFull: [2] });
    await expectStatus(
      snapshot(controller, "snap-a", source.volume_id, { snapshotPool: "2" }),
      status.RESOURCE_EXHAUSTED,
      /snapshot pool 2 is full; free capacity in it, or use another pool/,
    );
    expect(holdings(t)).toEqual({ ldevs: [ldevIdOf(source.volume_id)], pairs: 0, groups: [] });
  });

  it("answers a snapshotPool that cannot hold snapshot data with INVALID_ARGUMENT, leaving nothing", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await expectStatus(
      snapshot(controller, "snap-a", source.volume_id, { snapshotPool: "77" }),
      status.INVALID_ARGUMENT,
      /pool 77 cannot hold snapshot data/,
    );
    expect(holdings(t)).toEqual({ ldevs: [ldevIdOf(source.volume_id)], pairs: 0, groups: [] });
  });

  it("answers the 1,025th snapshot of a volume with RESOURCE_EXHAUSTED, leaving nothing", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const pvolLdevId = ldevIdOf(source.volume_id);
    // 1,024 pairs made by another tool (D-HTI-UG: MU 0–1023), seeded straight into the array.
    const { state } = t.sim.core;
    state.snapshotGroups.push({ snapshotGroupName: "backup-all", isConsistencyGroup: false });
    for (let mu = 0; mu < 1024; mu++) {
      state.tiPairs.push({
        ...{ pvolLdevId, muNumber: mu, snapshotGroupName: "backup-all", snapshotPoolId: 0 },
        ...{ isConsistencyGroup: false, isClone: false, canCascade: false, clonesAutomation: false },
        ...{ copySpeed: "medium", status: "PSUS", isWrittenInSvol: false, hasSnapshotData: false },
        createdTime: "2026-01-01T00:00:00",
      });
    }
    await expectStatus(
      snapshot(controller, "snap-1025", source.volume_id),
      status.RESOURCE_EXHAUSTED,
      /already has 1,024 snapshots, the array's limit per volume; delete some/,
    );
    expect(allLdevs(t).map((l) => l.ldevId)).toEqual([pvolLdevId]);
    expect(state.snapshotGroups.map((g) => g.snapshotGroupName)).toEqual(["backup-all"]);
  });

  it("snapshots capacity-saving volumes and volumes in other pools", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-dr", {
      parameters: { pool: "1", dataReductionMode: "compression" },
    });
    const snap = await snapshot(controller, "snap-dr", source.volume_id);
    expect(snap.ready_to_use).toBe(true);
    expect(ldevIn(t, svolOf(t, snap))).toMatchObject({ poolId: 1, dataReductionMode: "compression" });
    expect(pairs(t)[0]?.snapshotPoolId).toBe(1);
  });

  it("returns once the image is taken (timed array): writes after the call are not in the snapshot", async () => {
    const { controller, t } = await start({ tiPairCreateMs: 150, tiSplitMs: 100 });
    const source = await volume(controller, "pvc-a");
    const before = pattern("before", MIB);
    await writeData(t, ldevIdOf(source.volume_id), before);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await writeData(t, ldevIdOf(source.volume_id), pattern("after", MIB));
    await expect
      .poll(
        async () =>
          (await call(controller, "GetSnapshot", { snapshot_id: snap.snapshot_id })).snapshot?.ready_to_use,
      )
      .toBe(true);
    expect(await sha256Of(t, svolOf(t, snap))).toBe(shaOfImage(before));
  });
});

// ---- DeleteSnapshot -----------------------------------------------------------------------------

describe("DeleteSnapshot", () => {
  it("removes the pair, the S-VOL and the group; then the source can go; nothing is left", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    expect(holdings(t)).toEqual({ ldevs: [ldevIdOf(source.volume_id)], pairs: 0, groups: [] });
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    expect(holdings(t)).toEqual({ ldevs: [], pairs: 0, groups: [] });
  });

  it.each([
    ["twice", "again"],
    ["a garbage id", "reallyfakesnapshotid"],
    ["an id of an array not configured", "1.886000999999.ti.5.0.cs-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
    ["a volume id", GONE_VOLUME],
  ])("succeeds for %s (idempotent)", async (_what, id) => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    if (id === "again") await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    await call(controller, "DeleteSnapshot", { snapshot_id: id === "again" ? snap.snapshot_id : id });
    expect(pairs(t)).toHaveLength(id === "again" ? 0 : 1);
  });

  it("answers no id with INVALID_ARGUMENT", async () => {
    const { controller } = await start();
    await expectStatus(
      call(controller, "DeleteSnapshot", {}),
      status.INVALID_ARGUMENT,
      /snapshot_id is required/,
    );
  });

  it("leaves a newer snapshot alone when a stale id names its reused MU", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const old = await snapshot(controller, "snap-old", source.volume_id);
    await call(controller, "DeleteSnapshot", { snapshot_id: old.snapshot_id });
    const young = await snapshot(controller, "snap-new", source.volume_id);
    expect(parseSnapshotId(young.snapshot_id)).toMatchObject({ muNumber: 0 });
    await call(controller, "DeleteSnapshot", { snapshot_id: old.snapshot_id });
    await expectStatus(call(controller, "GetSnapshot", { snapshot_id: old.snapshot_id }), status.NOT_FOUND);
    expect((await call(controller, "GetSnapshot", { snapshot_id: young.snapshot_id })).snapshot).toEqual(
      young,
    );
    expect(pairs(t)).toHaveLength(1);
  });
});

describe("members of a group snapshot", () => {
  it("are listed with their group snapshot id, and refuse DeleteSnapshot while their group exists", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const group = groupSnapshotGroupName(DRIVER_NAME, "vgs-1");
    // A consistency-group snapshot as the GroupController makes one: CTG-mode pair, group split.
    const created = await t.job("POST", `${t.scoped}/snapshots`, {
      ...{ snapshotGroupName: group, snapshotPoolId: 0, pvolLdevId: ldevIdOf(source.volume_id) },
      isConsistencyGroup: true,
    });
    expect(created.body.state).toBe("Succeeded");
    const split = await t.job("POST", `${t.scoped}/snapshot-groups/${group}/actions/split/invoke`, {});
    expect(split.body.state).toBe("Succeeded");
    const [entry] = (await call(controller, "ListSnapshots", { source_volume_id: source.volume_id })).entries;
    expect(entry?.snapshot).toMatchObject({
      source_volume_id: source.volume_id,
      ready_to_use: true,
      group_snapshot_id: `1.886000123456.grp.${group}`,
    });
    const snapshotId = entry?.snapshot?.snapshot_id ?? "";
    await expectStatus(
      call(controller, "DeleteSnapshot", { snapshot_id: snapshotId }),
      status.INVALID_ARGUMENT,
      /part of a group snapshot and cannot be deleted alone/,
    );
    expect(pairs(t)).toHaveLength(1);
    await t.job("DELETE", `${t.scoped}/snapshot-groups/${group}`);
    await call(controller, "DeleteSnapshot", { snapshot_id: snapshotId });
  });
});

// ---- GetSnapshot / ListSnapshots ----------------------------------------------------------------

describe("GetSnapshot and ListSnapshots", () => {
  it("GetSnapshot answers what CreateSnapshot did, and NOT_FOUND for unknown or deleted ids", async () => {
    const { controller } = await start();
    const source = await volume(controller, "pvc-a");
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    expect((await call(controller, "GetSnapshot", { snapshot_id: snap.snapshot_id })).snapshot).toEqual(snap);
    for (const id of ["none-exist-id", GONE_SNAPSHOT]) {
      await expectStatus(call(controller, "GetSnapshot", { snapshot_id: id }), status.NOT_FOUND);
    }
    await expectStatus(call(controller, "GetSnapshot", {}), status.INVALID_ARGUMENT);
  });

  it("lists by id and by source volume, only the driver's snapshots (not others' pairs, not clones)", async () => {
    const { controller, t } = await start();
    const a = await volume(controller, "pvc-a");
    const b = await volume(controller, "pvc-b");
    const sa = await snapshot(controller, "snap-a", a.volume_id);
    const sb1 = await snapshot(controller, "snap-b1", b.volume_id);
    const sb2 = await snapshot(controller, "snap-b2", b.volume_id);
    // Another tool's snapshot of volume b, and a clone of b in progress: both are not snapshots of ours.
    const job = await t.job("POST", `${t.scoped}/snapshots`, {
      ...{
        snapshotGroupName: "backup-1",
        snapshotPoolId: 0,
        pvolLdevId: ldevIdOf(b.volume_id),
        autoSplit: true,
      },
    });
    expect(job.body.state).toBe("Succeeded");
    await volume(controller, "pvc-clone-of-b", fromVolume(b.volume_id));
    const byId = await call(controller, "ListSnapshots", { snapshot_id: sa.snapshot_id });
    expect(byId.entries.map((e) => e.snapshot)).toEqual([sa]);
    const byIdWrongSource = await call(controller, "ListSnapshots", {
      snapshot_id: sa.snapshot_id,
      source_volume_id: b.volume_id,
    });
    expect(byIdWrongSource.entries).toEqual([]);
    const byB = await call(controller, "ListSnapshots", { source_volume_id: b.volume_id });
    expect(byB.entries.map((e) => e.snapshot)).toEqual([sb1, sb2]);
    const all = await call(controller, "ListSnapshots", {});
    expect(all.entries.map((e) => e.snapshot?.snapshot_id).sort()).toEqual(
      [sa, sb1, sb2].map((s) => s.snapshot_id).sort(),
    );
    for (const request of [{ snapshot_id: "none" }, { source_volume_id: GONE_VOLUME }]) {
      expect((await call(controller, "ListSnapshots", request)).entries).toEqual([]);
    }
  });

  it("pages 5 snapshots of 3 volumes two at a time, each exactly once in (volume, MU) order", async () => {
    const { controller } = await start();
    const created: Snapshot__Output[] = [];
    for (const [v, n] of [
      ["v1", 2],
      ["v2", 1],
      ["v3", 2],
    ] as const) {
      const source = await volume(controller, `pvc-${v}`);
      for (let i = 0; i < n; i++)
        created.push(await snapshot(controller, `snap-${v}-${i}`, source.volume_id));
    }
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await call(controller, "ListSnapshots", { max_entries: 2, starting_token: token });
      expect(page.entries.length).toBeLessThanOrEqual(2);
      seen.push(...page.entries.map((e) => e.snapshot?.snapshot_id ?? ""));
      token = page.next_token;
      pages++;
    } while (token !== "" && pages < 10);
    const order = (id: string) => {
      const p = parseSnapshotId(id);
      return p.kind === "ti-snapshot" ? p.pvolLdevId * 2048 + p.muNumber : 0;
    };
    expect(pages).toBe(3);
    expect(seen).toEqual(created.map((s) => s.snapshot_id).sort((x, y) => order(x) - order(y)));
  });

  it.each([
    ["garbage", { starting_token: "not-a-token" }, status.ABORTED],
    ["an array index out of range", { starting_token: "7.0.0" }, status.ABORTED],
    ["a negative max_entries", { max_entries: -1 }, status.INVALID_ARGUMENT],
  ])("refuses %s", async (_what, request, code) => {
    const { controller } = await start();
    await expectStatus(call(controller, "ListSnapshots", request), code);
  });
});

// ---- restore and clone: the data ---------------------------------------------------------------

describe("restore from a snapshot and PVC clone", () => {
  it("restores the exact original bytes after the source was overwritten (mount and block)", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const original = pattern("original", 3 * MIB);
    await writeData(t, ldevIdOf(source.volume_id), original);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await writeData(t, ldevIdOf(source.volume_id), pattern("overwritten", 3 * MIB));
    for (const [name, cap] of [
      ["pvc-restored", MOUNT_RWO],
      ["pvc-restored-block", BLOCK_RWO],
    ] as const) {
      const restored = await volume(controller, name, {
        volume_capabilities: [cap],
        ...fromSnapshot(snap.snapshot_id),
      });
      expect(restored).toMatchObject({
        capacity_bytes: String(SIZE),
        content_source: { snapshot: { snapshot_id: snap.snapshot_id } },
      });
      expect(parseVolumeId(restored.volume_id).label).toBe(volumeLabel(DRIVER_NAME, name));
      expect(await sha256Of(t, ldevIdOf(restored.volume_id))).toBe(shaOfImage(original));
    }
    expect(await sha256Of(t, ldevIdOf(source.volume_id))).toBe(shaOfImage(pattern("overwritten", 3 * MIB)));
  });

  it("restores into a larger volume: the snapshot's bytes, then zeros", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const original = pattern("original", MIB);
    await writeData(t, ldevIdOf(source.volume_id), original);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    const restored = await volume(controller, "pvc-big", {
      capacity_range: { required_bytes: String(2 * SIZE) },
      ...fromSnapshot(snap.snapshot_id),
    });
    expect(restored.capacity_bytes).toBe(String(2 * SIZE));
    expect(await sha256Of(t, ldevIdOf(restored.volume_id))).toBe(shaOfImage(original, 2 * SIZE));
  });

  it("refuses a limit below the snapshot's size with OUT_OF_RANGE", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await expectStatus(
      volume(controller, "pvc-small", {
        capacity_range: { required_bytes: String(MIB), limit_bytes: String(4 * MIB) },
        ...fromSnapshot(snap.snapshot_id),
      }),
      status.OUT_OF_RANGE,
      /a copy cannot shrink/,
    );
    expect(allLdevs(t)).toHaveLength(2);
  });

  it("clones a volume; the clone keeps the source's bytes of that moment, whatever the source gets later", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    const original = pattern("original", 2 * MIB);
    await writeData(t, ldevIdOf(source.volume_id), original);
    const clone = await volume(controller, "pvc-clone", fromVolume(source.volume_id));
    expect(clone.content_source).toEqual({ volume: { volume_id: source.volume_id }, type: "volume" });
    await writeData(t, ldevIdOf(source.volume_id), pattern("later", 2 * MIB));
    expect(await sha256Of(t, ldevIdOf(clone.volume_id))).toBe(shaOfImage(original));
    await writeData(t, ldevIdOf(clone.volume_id), pattern("clone's own", MIB));
    expect(await sha256Of(t, ldevIdOf(source.volume_id))).toBe(shaOfImage(pattern("later", 2 * MIB)));
  });

  it.each([
    ["an unknown snapshot", fromSnapshot("non-existing-snapshot-id"), status.NOT_FOUND],
    ["a deleted snapshot", fromSnapshot(GONE_SNAPSHOT), status.NOT_FOUND],
    ["an unknown volume", fromVolume(GONE_VOLUME), status.NOT_FOUND],
    ["a source without id", { volume_content_source: { snapshot: {} } }, status.INVALID_ARGUMENT],
  ])("answers %s with the right code and creates nothing", async (_what, request, code) => {
    const { controller, t } = await start();
    await expectStatus(volume(controller, "pvc-x", request), code);
    expect(allLdevs(t)).toEqual([]);
  });

  it("keeps a volume's snapshots: DeleteVolume is FAILED_PRECONDITION while it has any", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await writeData(t, ldevIdOf(source.volume_id), pattern("original", MIB));
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await expectStatus(
      call(controller, "DeleteVolume", { volume_id: source.volume_id }),
      status.FAILED_PRECONDITION,
      /volume still has snapshots or clones in progress: 1 snapshot\(s\) \(delete the VolumeSnapshots first\)/,
    );
    expect(
      (await call(controller, "GetSnapshot", { snapshot_id: snap.snapshot_id })).snapshot?.ready_to_use,
    ).toBe(true);
    expect(await sha256Of(t, svolOf(t, snap))).toBe(shaOfImage(pattern("original", MIB)));
  });

  it("cleans up everything in any order once copies end: no LDEV, pair or group is left", async () => {
    const { controller, t } = await start();
    const source = await volume(controller, "pvc-a");
    await writeData(t, ldevIdOf(source.volume_id), pattern("original", MIB));
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    const restored = await volume(controller, "pvc-r", fromSnapshot(snap.snapshot_id));
    const clone = await volume(controller, "pvc-c", fromVolume(restored.volume_id));
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    for (const v of [source, restored, clone])
      await call(controller, "DeleteVolume", { volume_id: v.volume_id });
    expect(holdings(t)).toEqual({ ldevs: [], pairs: 0, groups: [] });
  });
});

// ---- while a copy runs ---------------------------------------------------------------------------

describe("while a restore or clone is still copying (1 MiB/s copies)", () => {
  const COPYING: Partial<SimTimings> = { cloneMiBPerSecond: 1 };

  it("refuses to delete the snapshot (FAILED_PRECONDITION); the copy completes with the right bytes", async () => {
    const { controller, t } = await start(COPYING);
    const source = await volume(controller, "pvc-a");
    const original = pattern("original", MIB);
    await writeData(t, ldevIdOf(source.volume_id), original);
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    await writeData(t, ldevIdOf(source.volume_id), pattern("overwritten", MIB));
    const restored = await volume(controller, "pvc-r", fromSnapshot(snap.snapshot_id));
    const into = ldevIdOf(restored.volume_id);
    expect(pairs(t).find((p) => p.svolLdevId === into)?.status).toBe("PSUP");
    await expectStatus(
      call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id }),
      status.FAILED_PRECONDITION,
      /a restore from this snapshot is still copying; retry when it completes/,
    );
    expect(
      (await call(controller, "GetSnapshot", { snapshot_id: snap.snapshot_id })).snapshot?.ready_to_use,
    ).toBe(true);
    await copyEnded(t, into);
    expect(await sha256Of(t, into)).toBe(shaOfImage(original));
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    expect(await sha256Of(t, into)).toBe(shaOfImage(original));
    expect(holdings(t)).toEqual({ ldevs: [into], pairs: 0, groups: [] });
  });

  it("refuses to delete a clone's source (FAILED_PRECONDITION: copy in progress); the clone completes", async () => {
    const { controller, t } = await start(COPYING);
    const source = await volume(controller, "pvc-a");
    const original = pattern("original", MIB);
    await writeData(t, ldevIdOf(source.volume_id), original);
    const clone = await volume(controller, "pvc-c", fromVolume(source.volume_id));
    const into = ldevIdOf(clone.volume_id);
    await expectStatus(
      call(controller, "DeleteVolume", { volume_id: source.volume_id }),
      status.FAILED_PRECONDITION,
      new RegExp(
        `a copy in progress to 1 volume\\(s\\) \\(LDEV ${into} at \\d+%; retry when it completes\\)`,
      ),
    );
    await copyEnded(t, into);
    await call(controller, "DeleteVolume", { volume_id: source.volume_id });
    expect(await sha256Of(t, into)).toBe(shaOfImage(original));
  });

  it("returns the same volume to a retry during the copy, without a second copy", async () => {
    const { controller, t } = await start(COPYING);
    const source = await volume(controller, "pvc-a");
    await writeData(t, ldevIdOf(source.volume_id), pattern("original", MIB));
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    const first = await volume(controller, "pvc-r", fromSnapshot(snap.snapshot_id));
    const again = await volume(controller, "pvc-r", fromSnapshot(snap.snapshot_id));
    expect(again).toEqual(first);
    expect(pairs(t).filter((p) => p.isClone)).toHaveLength(1);
    expect(allLdevs(t)).toHaveLength(3);
  });

  it("stops the copy when the new volume itself is deleted, and leaves the snapshot deletable", async () => {
    const { controller, t } = await start(COPYING);
    const source = await volume(controller, "pvc-a");
    await writeData(t, ldevIdOf(source.volume_id), pattern("original", MIB));
    const snap = await snapshot(controller, "snap-a", source.volume_id);
    const restored = await volume(controller, "pvc-r", fromSnapshot(snap.snapshot_id));
    await call(controller, "DeleteVolume", { volume_id: restored.volume_id });
    await call(controller, "DeleteSnapshot", { snapshot_id: snap.snapshot_id });
    expect(holdings(t)).toEqual({ ldevs: [ldevIdOf(source.volume_id)], pairs: 0, groups: [] });
  });
});

describe("capabilities", () => {
  it("advertises snapshots, listing, GetSnapshot and cloning", async () => {
    const { controller } = await start();
    const res = await call(controller, "ControllerGetCapabilities", {});
    expect(res.capabilities.map((c) => c.rpc?.type)).toEqual(
      expect.arrayContaining(["CREATE_DELETE_SNAPSHOT", "LIST_SNAPSHOTS", "GET_SNAPSHOT", "CLONE_VOLUME"]),
    );
  });
});

// ---- a real controller process killed at every step ---------------------------------------------

describe("a controller process killed between any two REST calls (test/crash rig)", () => {
  const TIMEOUT_MS = 120_000;
  let rig: CrashRig | undefined;
  let t: TestSim | undefined;
  let workDir = "";

  afterEach(async () => {
    await rig?.stop();
    await t?.stop();
    await rm(workDir, { recursive: true, force: true });
    rig = undefined;
    t = undefined;
    expect(liveChildren()).toBe(0);
    expect(overran).toEqual([]);
  });

  async function startRig(): Promise<{ rig: CrashRig; t: TestSim }> {
    workDir = await mkdtemp(join(tmpdir(), "vsp-crash-snap-"));
    t = await startTestSim();
    rig = await CrashRig.start(t, workDir);
    return { rig, t };
  }

  async function sourceVolume(c: CsiClients, name: string, sim: TestSim, data: Buffer): Promise<string> {
    const v = await volume(c.controller, name, { volume_capabilities: [BLOCK_RWO] });
    await writeData(sim, ldevIdOf(v.volume_id), data);
    return v.volume_id;
  }

  /** After the call: exactly `ldevs` new LDEVs labelled `labels`, and only the listed collections changed. */
  /** `maybe`: collections that may change too (a shared snapshot group made by this call, or not). */
  function expectAdded(
    before: SimState,
    sim: TestSim,
    labels: string[],
    changed: string[],
    maybe: string[] = [],
  ) {
    const diff = stateDiff(before, structuredClone(sim.sim.core.state));
    expect(
      Object.keys(diff)
        .filter((k) => !maybe.includes(k))
        .sort(),
    ).toEqual(changed.sort());
    const added = (diff.ldevs?.added ?? []) as { label: string }[];
    expect(added.map((l) => l.label).sort()).toEqual(labels.sort());
    expect(diff.ldevs?.removed ?? []).toEqual([]);
  }

  it(
    "CreateSnapshot converges to one pair (in a shared group) and one S-VOL holding the image",
    async () => {
      const { rig, t } = await startRig();
      const data = pattern("source", MIB);
      const report = await runCrashMatrix(rig, {
        prepare: async (c, k, variant) => ({
          name: `snap-${variant}-${k}`,
          source: await sourceVolume(c, `pvc-${variant}-${k}`, t, data),
        }),
        call: async (c, input) => snapshot(c.controller, input.name, input.source),
        verify: async (input, result, before) => {
          const label = snapshotLabel(DEFAULT_DRIVER_NAME, input.name);
          expect(result).toMatchObject({ source_volume_id: input.source, ready_to_use: true });
          expectAdded(before, t, [label], ["ldevs", "tiPairs"], ["snapshotGroups"]);
          // Its pair is in the source's shared group, which the array holds (made now or before).
          const group = sharedGroupName("snapshots", parseVolumeId(input.source).ldevId);
          expect(t.sim.core.state.snapshotGroups.map((g) => g.snapshotGroupName)).toContain(group);
          expect(await sha256Of(t, svolOf(t, result))).toBe(shaOfImage(data));
        },
      });
      expect(report.drop.map((r) => r.request)).toEqual(["POST ldevs", "PATCH ldevs/{id}", "POST snapshots"]);
    },
    TIMEOUT_MS,
  );

  it.each([
    ["a restore", "snapshot"],
    ["a PVC clone", "volume"],
  ] as const)(
    "%s converges to one independent volume with the right bytes",
    async (_what, kind) => {
      const { rig, t } = await startRig();
      const data = pattern("original", MIB);
      const report = await runCrashMatrix(rig, {
        prepare: async (c, k, variant) => {
          const source = await sourceVolume(c, `pvc-src-${variant}-${k}`, t, data);
          const from =
            kind === "snapshot"
              ? fromSnapshot((await snapshot(c.controller, `snap-${variant}-${k}`, source)).snapshot_id)
              : fromVolume(source);
          await writeData(t, ldevIdOf(source), pattern("overwritten", MIB));
          return { name: `pvc-new-${variant}-${k}`, from };
        },
        call: async (c, input) =>
          volume(c.controller, input.name, { volume_capabilities: [BLOCK_RWO], ...input.from }),
        verify: async (input, result) => {
          expect(parseVolumeId(result.volume_id).label).toBe(volumeLabel(DEFAULT_DRIVER_NAME, input.name));
          const want = kind === "snapshot" ? data : pattern("overwritten", MIB);
          expect(await sha256Of(t, ldevIdOf(result.volume_id))).toBe(shaOfImage(want));
          expect(pairs(t).filter((p) => p.isClone)).toEqual([]);
          const labelled = allLdevs(t).filter(
            (l) => l.label === volumeLabel(DEFAULT_DRIVER_NAME, input.name),
          );
          expect(labelled).toHaveLength(1);
          expect(allLdevs(t).filter((l) => l.label === "")).toEqual([]);
        },
      });
      expect(report.drop.map((r) => r.request)).toEqual(["POST ldevs", "PATCH ldevs/{id}", "POST snapshots"]);
    },
    TIMEOUT_MS,
  );
});
