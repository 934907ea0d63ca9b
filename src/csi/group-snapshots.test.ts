/**
 * VolumeGroupSnapshots end to end through the GroupController gRPC API against the in-process
 * simulator, with real bytes: one consistency group per group snapshot, members that restore like
 * any snapshot, idempotency, argument errors with the codes CSI names, and nothing left behind.
 * Point-in-time consistency under racing writes, failure rollback and crash tests:
 * group-consistency.test.ts and test/crash.
 */
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";

import { parseSnapshotId } from "../driver/ids.js";
import { groupMemberLabelPrefix, groupSnapshotGroupName } from "../driver/names.js";
import { call } from "./test-support/clients.js";
import {
  DRIVER_NAME,
  allLdevs,
  createVolume,
  expectStatus,
  ldevIdOf,
  restRequests,
  resetRequests,
  writeData,
} from "./test-support/driver-harness.js";
import type { DriverHarness } from "./test-support/driver-harness.js";
import {
  MIB,
  holdings,
  pairs,
  pattern,
  sha256Of,
  shaOfImage,
  useSnapshotHarness,
  createGroupSnapshot as groupSnapshot,
} from "./test-support/snapshot-harness.js";

const SIZE = 8 * MIB;
const GONE_VOLUME = "1.886000123456.v.4321.cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const GONE_GROUP = "1.886000123456.grp.cg-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

const start = useSnapshotHarness();

/** `n` volumes named `pvc-<i>`, each holding its own pattern. */
async function volumesWithData(d: DriverHarness, n: number): Promise<{ ids: string[]; data: Buffer[] }> {
  const ids: string[] = [];
  const data: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const v = await createVolume(d.controller, `pvc-${i}`, {
      capacity_range: { required_bytes: String(SIZE) },
    });
    const bytes = pattern(`volume-${i}`, MIB);
    await writeData(d.t, ldevIdOf(v.volume_id), bytes);
    ids.push(v.volume_id);
    data.push(bytes);
  }
  return { ids, data };
}

describe("GroupControllerGetCapabilities and plugin capabilities", () => {
  it("advertise the GroupController service and CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT", async () => {
    const d = await start();
    const plugin = await call(d.identity, "GetPluginCapabilities", {});
    expect(plugin.capabilities.map((c) => c.service?.type)).toContain("GROUP_CONTROLLER_SERVICE");
    const caps = await call(d.clients.groupController, "GroupControllerGetCapabilities", {});
    expect(caps.capabilities.map((c) => c.rpc?.type)).toEqual(["CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT"]);
  });
});

describe("CreateVolumeGroupSnapshot", () => {
  it("makes one consistency group with one split pair per volume; members carry the group id", async () => {
    const d = await start();
    const { ids } = await volumesWithData(d, 3);
    const before = Date.now();
    const g = await groupSnapshot(d, "vgs-1", ids);
    const group = groupSnapshotGroupName(DRIVER_NAME, "vgs-1");
    expect(g.group_snapshot_id).toBe(`1.886000123456.grp.${group}`);
    expect(g.ready_to_use).toBe(true);
    expect(Number(g.creation_time?.seconds) * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(g.snapshots.map((s) => s.source_volume_id).sort()).toEqual([...ids].sort());
    for (const s of g.snapshots) {
      expect(s).toMatchObject({
        group_snapshot_id: g.group_snapshot_id,
        ready_to_use: true,
        size_bytes: String(SIZE),
      });
      expect(parseSnapshotId(s.snapshot_id)).toMatchObject({ kind: "ti-snapshot", snapshotGroupName: group });
      expect(s.creation_time).toEqual(g.creation_time);
    }
    const { state } = d.t.sim.core;
    expect(state.snapshotGroups).toEqual([
      expect.objectContaining({ snapshotGroupName: group, isConsistencyGroup: true }),
    ]);
    expect(pairs(d.t)).toHaveLength(3);
    expect(new Set(pairs(d.t).map((p) => p.splitTime)).size).toBe(1);
    for (const p of pairs(d.t)) expect(p).toMatchObject({ status: "PSUS", canCascade: true });
  });

  it("each member restores the bytes its volume held at the group snapshot, after the volumes changed", async () => {
    const d = await start();
    const { ids, data } = await volumesWithData(d, 3);
    const g = await groupSnapshot(d, "vgs-1", ids);
    for (const id of ids) await writeData(d.t, ldevIdOf(id), pattern("later", MIB));
    for (const [i, id] of ids.entries()) {
      const member = g.snapshots.find((s) => s.source_volume_id === id);
      const restored = await createVolume(d.controller, `restore-${i}`, {
        capacity_range: { required_bytes: String(SIZE) },
        volume_content_source: { snapshot: { snapshot_id: member?.snapshot_id ?? "" } },
      });
      expect(await sha256Of(d.t, ldevIdOf(restored.volume_id))).toBe(
        shaOfImage(data[i] ?? Buffer.alloc(0), SIZE),
      );
    }
  });

  it("is idempotent by name: the same group snapshot again, nothing more on the array", async () => {
    const d = await start();
    const { ids } = await volumesWithData(d, 2);
    const first = await groupSnapshot(d, "vgs-1", ids);
    const before = holdings(d.t);
    const again = await groupSnapshot(d, "vgs-1", [...ids].reverse());
    expect(again).toEqual(first);
    expect(holdings(d.t)).toEqual(before);
  });

  it("refuses the name with other volumes (ALREADY_EXISTS), changing nothing", async () => {
    const d = await start();
    const { ids } = await volumesWithData(d, 3);
    await groupSnapshot(d, "vgs-1", ids.slice(0, 2));
    const before = holdings(d.t);
    await expectStatus(
      groupSnapshot(d, "vgs-1", ids),
      status.ALREADY_EXISTS,
      /already exists, of other volumes/,
    );
    expect(holdings(d.t)).toEqual(before);
  });

  it.each([
    ["no name", { source_volume_ids: [GONE_VOLUME] }, status.INVALID_ARGUMENT, /name is required/],
    ["no volumes", { name: "g" }, status.INVALID_ARGUMENT, /source_volume_ids are required/],
    [
      "a volume twice",
      { name: "g", source_volume_ids: ["X", "X"] },
      status.INVALID_ARGUMENT,
      /more than once/,
    ],
    ["a deleted volume", { name: "g", source_volume_ids: [GONE_VOLUME] }, status.NOT_FOUND, /does not exist/],
    ["a foreign volume id", { name: "g", source_volume_ids: ["vol-1"] }, status.NOT_FOUND, /does not exist/],
    [
      "an unknown class parameter",
      { name: "g", source_volume_ids: [GONE_VOLUME], parameters: { pool: "1" } },
      status.INVALID_ARGUMENT,
      /unknown key\(s\) "pool"/,
    ],
    [
      "copyMethod shadowImage",
      { name: "g", source_volume_ids: [GONE_VOLUME], parameters: { copyMethod: "shadowImage" } },
      status.INVALID_ARGUMENT,
      /copyMethod: group snapshots are Thin Image consistency groups/,
    ],
  ])("answers %s with the right code, creating nothing", async (_what, request, code, message) => {
    const d = await start();
    await expectStatus(call(d.clients.groupController, "CreateVolumeGroupSnapshot", request), code, message);
    expect(holdings(d.t)).toEqual({ ldevs: [], pairs: 0, groups: [] });
  });

  it("answers NOT_FOUND when one of several volumes is gone, and creates nothing for the others", async () => {
    const d = await start();
    const { ids } = await volumesWithData(d, 2);
    const before = holdings(d.t);
    await expectStatus(groupSnapshot(d, "vgs-1", [...ids, GONE_VOLUME]), status.NOT_FOUND, /does not exist/);
    expect(holdings(d.t)).toEqual(before);
  });

  it("needs two change calls and two reads per volume plus a constant (REST request log)", async () => {
    const d = await start();
    const counts: { all: number; changes: number }[] = [];
    for (const n of [1, 4]) {
      const { ids } = await volumesWithData(d, n).then((r) => r);
      await resetRequests(d.t);
      await groupSnapshot(d, `vgs-${n}`, ids);
      const log = await restRequests(d.t);
      counts.push({ all: log.length, changes: log.filter((r) => !r.startsWith("GET")).length });
      await call(d.clients.groupController, "DeleteVolumeGroupSnapshot", {
        group_snapshot_id: `1.886000123456.grp.${groupSnapshotGroupName(DRIVER_NAME, `vgs-${n}`)}`,
      });
      for (const id of ids) await call(d.controller, "DeleteVolume", { volume_id: id });
    }
    const [one = { all: 0, changes: 0 }, four = { all: 0, changes: 0 }] = counts;
    // Per volume: its S-VOL and its pair; reads: the source and the S-VOL's window (issue 11).
    expect((four.changes - one.changes) / 3).toBeLessThanOrEqual(2);
    expect((four.all - one.all) / 3).toBeLessThanOrEqual(4);
    expect(one.all).toBeLessThanOrEqual(8);
  });
});

describe("GetVolumeGroupSnapshot", () => {
  it("answers the group as CreateVolumeGroupSnapshot did, and checks snapshot_ids", async () => {
    const d = await start();
    const { ids } = await volumesWithData(d, 2);
    const g = await groupSnapshot(d, "vgs-1", ids);
    const got = await call(d.clients.groupController, "GetVolumeGroupSnapshot", {
      group_snapshot_id: g.group_snapshot_id,
      snapshot_ids: g.snapshots.map((s) => s.snapshot_id),
    });
    expect(got.group_snapshot).toEqual(g);
    await expectStatus(
      call(d.clients.groupController, "GetVolumeGroupSnapshot", {
        group_snapshot_id: g.group_snapshot_id,
        snapshot_ids: [g.snapshots[0]?.snapshot_id ?? ""],
      }),
      status.INVALID_ARGUMENT,
      /snapshot_ids do not match the group snapshot, which has 2 snapshot/,
    );
  });

  it.each([
    ["no id", {}, status.INVALID_ARGUMENT, /group_snapshot_id is required/],
    ["a gone group", { group_snapshot_id: GONE_GROUP }, status.NOT_FOUND, /does not exist/],
    ["a foreign id", { group_snapshot_id: "group-1" }, status.NOT_FOUND, /does not exist/],
    ["a volume id", { group_snapshot_id: GONE_VOLUME }, status.NOT_FOUND, /does not exist/],
  ])("answers %s with the right code", async (_what, request, code, message) => {
    const d = await start();
    await expectStatus(call(d.clients.groupController, "GetVolumeGroupSnapshot", request), code, message);
  });
});

describe("members and DeleteVolumeGroupSnapshot", () => {
  it("members are listed and got like snapshots; DeleteSnapshot of one is INVALID_ARGUMENT", async () => {
    const d = await start();
    const { ids } = await volumesWithData(d, 2);
    const g = await groupSnapshot(d, "vgs-1", ids);
    const listed = await call(d.controller, "ListSnapshots", {});
    expect(
      listed.entries
        .map((e) => e.snapshot)
        .sort((a, b) => (a?.snapshot_id ?? "").localeCompare(b?.snapshot_id ?? "")),
    ).toEqual([...g.snapshots].sort((a, b) => a.snapshot_id.localeCompare(b.snapshot_id)));
    const member = g.snapshots[0]?.snapshot_id ?? "";
    const got = await call(d.controller, "GetSnapshot", { snapshot_id: member });
    expect(got.snapshot?.group_snapshot_id).toBe(g.group_snapshot_id);
    await expectStatus(
      call(d.controller, "DeleteSnapshot", { snapshot_id: member }),
      status.INVALID_ARGUMENT,
      /part of a group snapshot/,
    );
    expect(pairs(d.t)).toHaveLength(2);
  });

  it("keeps its volumes from being deleted while it exists (FAILED_PRECONDITION naming it)", async () => {
    const d = await start();
    const { ids } = await volumesWithData(d, 2);
    await groupSnapshot(d, "vgs-1", ids);
    await expectStatus(
      call(d.controller, "DeleteVolume", { volume_id: ids[0] ?? "" }),
      status.FAILED_PRECONDITION,
      /1 group snapshot\(s\) \(delete the VolumeGroupSnapshots first\)/,
    );
    expect(pairs(d.t)).toHaveLength(2);
  });

  it("deletes the group, its pairs and its S-VOLs with the group call; idempotent; the volumes stay", async () => {
    const d = await start();
    const { ids } = await volumesWithData(d, 3);
    const g = await groupSnapshot(d, "vgs-1", ids);
    await resetRequests(d.t);
    const req = {
      group_snapshot_id: g.group_snapshot_id,
      snapshot_ids: g.snapshots.map((s) => s.snapshot_id),
    };
    await call(d.clients.groupController, "DeleteVolumeGroupSnapshot", req);
    const log = await restRequests(d.t);
    expect(log.filter((r) => r.startsWith("DELETE") && r.includes("/snapshot-groups/"))).toHaveLength(1);
    expect(log.filter((r) => r.startsWith("DELETE") && r.includes("/snapshots/"))).toHaveLength(0);
    expect(holdings(d.t)).toEqual({ ldevs: ids.map(ldevIdOf).sort((a, b) => a - b), pairs: 0, groups: [] });
    await call(d.clients.groupController, "DeleteVolumeGroupSnapshot", req);
    await call(d.clients.groupController, "DeleteVolumeGroupSnapshot", { group_snapshot_id: GONE_GROUP });
    await call(d.clients.groupController, "DeleteVolumeGroupSnapshot", { group_snapshot_id: "garbage" });
    await expectStatus(
      call(d.clients.groupController, "DeleteVolumeGroupSnapshot", {}),
      status.INVALID_ARGUMENT,
      /group_snapshot_id is required/,
    );
  });

  it("refuses snapshot_ids that are not the group's members (INVALID_ARGUMENT), deleting nothing", async () => {
    const d = await start();
    const { ids } = await volumesWithData(d, 2);
    const g = await groupSnapshot(d, "vgs-1", ids);
    const before = holdings(d.t);
    await expectStatus(
      call(d.clients.groupController, "DeleteVolumeGroupSnapshot", {
        group_snapshot_id: g.group_snapshot_id,
        snapshot_ids: ["1.886000123456.ti.1.0.cs-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
      }),
      status.INVALID_ARGUMENT,
      /snapshot_ids do not match/,
    );
    expect(holdings(d.t)).toEqual(before);
  });

  it("and a restore from a member exclude each other: whichever comes second is ABORTED", async () => {
    const d = await start();
    const { ids, data } = await volumesWithData(d, 1);
    const g = await groupSnapshot(d, "vgs-1", ids);
    const member = g.snapshots[0]?.snapshot_id ?? "";
    const restore = (name: string) =>
      createVolume(d.controller, name, {
        capacity_range: { required_bytes: String(SIZE) },
        volume_content_source: { snapshot: { snapshot_id: member } },
      });
    const remove = () =>
      call(d.clients.groupController, "DeleteVolumeGroupSnapshot", {
        group_snapshot_id: g.group_snapshot_id,
      });
    const holdAfter = async (changes: number | null) => {
      await d.t.admin("PUT", "/simulator/faults", { holdChangesAfter: changes });
    };
    const held = async () => {
      for (let i = 0; i < 200; i++) {
        if ((await d.t.admin("GET", "/simulator/faults")).body.heldCount > 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error("no request was held");
    };
    // A restore whose clone pair is on its way (its 3rd change request held in the array): the
    // group's delete would empty the member's S-VOL under it.
    await holdAfter(2);
    const restoring = restore("restore-0");
    await held();
    await expectStatus(remove(), status.ABORTED, /in progress/);
    await holdAfter(null);
    const restored = await restoring;
    expect(await sha256Of(d.t, ldevIdOf(restored.volume_id))).toBe(
      shaOfImage(data[0] ?? Buffer.alloc(0), SIZE),
    );
    for (let i = 0; i < 200 && pairs(d.t).some((p) => p.isClone); i++)
      await new Promise((r) => setTimeout(r, 25));
    // A group delete on its way (its first change held): a restore from a member must not start.
    await holdAfter(0);
    const removing = remove();
    await held();
    await expectStatus(restore("restore-1"), status.ABORTED, /in progress/);
    await holdAfter(null);
    await removing;
    expect(pairs(d.t)).toHaveLength(0);
  });

  it("refuses while a volume is still being restored from a member (FAILED_PRECONDITION), then deletes", async () => {
    const d = await start({ cloneMiBPerSecond: 2 });
    const { ids } = await volumesWithData(d, 2);
    const g = await groupSnapshot(d, "vgs-1", ids);
    const restored = await createVolume(d.controller, "restore-0", {
      capacity_range: { required_bytes: String(SIZE) },
      volume_content_source: { snapshot: { snapshot_id: g.snapshots[0]?.snapshot_id ?? "" } },
    });
    const req = { group_snapshot_id: g.group_snapshot_id };
    await expectStatus(
      call(d.clients.groupController, "DeleteVolumeGroupSnapshot", req),
      status.FAILED_PRECONDITION,
      /still being restored from this group snapshot; retry when its copy completes/,
    );
    expect(pairs(d.t).filter((p) => !p.isClone)).toHaveLength(2);
    const restoredId = ldevIdOf(restored.volume_id);
    for (let i = 0; i < 200 && pairs(d.t).some((p) => p.svolLdevId === restoredId); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await call(d.clients.groupController, "DeleteVolumeGroupSnapshot", req);
    const prefix = groupMemberLabelPrefix(groupSnapshotGroupName(DRIVER_NAME, "vgs-1"));
    expect(allLdevs(d.t).filter((l) => l.label.startsWith(prefix))).toEqual([]);
    expect(pairs(d.t)).toHaveLength(0);
  });
});
