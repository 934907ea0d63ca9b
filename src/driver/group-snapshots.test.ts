/**
 * What group snapshots cost as the array grows (issue 11 §3): CreateVolumeGroupSnapshot,
 * GetVolumeGroupSnapshot and DeleteVolumeGroupSnapshot make the same REST calls whether the array
 * holds 10 or 2,000 other volumes of ours, and none reads more than one 64-id window of LDEVs.
 * Also the one exception, the retry of a delete once the group is gone: by the members' labels in
 * their windows when the CO names the member snapshots, the range listed only when it does not.
 */
import { describe, expect, it } from "vitest";

import { call } from "../csi/test-support/clients.js";
import { createVolume, ldevIdOf } from "../csi/test-support/driver-harness.js";
import type { DriverHarness } from "../csi/test-support/driver-harness.js";
import {
  crashingClient,
  holdings,
  servicesOver,
  useServiceRig,
} from "../csi/test-support/snapshot-harness.js";
import type { RequestLogEntry } from "../simulator/core.js";
import { seedLdev } from "../simulator/test-support/seed.js";
import { GroupSnapshotService } from "./group-snapshots.js";
import { WINDOW } from "./ldev-placement.js";
import { groupMemberLabelPrefix, groupSnapshotGroupName, volumeLabel } from "./names.js";

const MIB = 1024 * 1024;
const DRIVER = "csi.vsp-csi.dev";
const rig = useServiceRig();

/** `count` labelled 1 MiB volumes of ours straight into the array's state, spread over the range. */
async function seedVolumes(d: DriverHarness, count: number): Promise<void> {
  const core = d.t.sim.core;
  const { start, end } = d.config.arrays[0]?.ldevRange ?? { start: 0, end: 65_279 };
  const stride = Math.floor((end - start + 1) / count);
  for (let i = 0; i < count; i++) {
    const ldevId = start + i * stride + (i % stride);
    if (core.state.ldevs[String(ldevId)]) continue;
    await seedLdev(core, ldevId, MIB, { label: volumeLabel(DRIVER, `seeded-${ldevId}`) });
  }
}

async function sources(d: DriverHarness, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await createVolume(d.controller, `pvc-${i}`)).volume_id);
  return ids;
}

/** The REST requests `work` made, from the simulator's request log. */
async function logOf(d: DriverHarness, work: () => Promise<unknown>): Promise<RequestLogEntry[]> {
  const log = d.t.sim.core.requestLog;
  const before = log.length;
  await work();
  return log.slice(before);
}

function largestCount(entries: readonly RequestLogEntry[]): number {
  return Math.max(0, ...entries.map((e) => Number(new URLSearchParams(e.query ?? "").get("count") ?? 0)));
}

interface Round {
  create: RequestLogEntry[];
  get: RequestLogEntry[];
  delete: RequestLogEntry[];
}

/** Create (2 volumes), get and delete of group snapshot `name`, each with its requests. */
async function round(d: DriverHarness, name: string, volumeIds: string[]): Promise<Round> {
  const groups = d.clients.groupController;
  let id = "";
  const create = await logOf(d, async () => {
    const res = await call(groups, "CreateVolumeGroupSnapshot", { name, source_volume_ids: volumeIds });
    id = res.group_snapshot?.group_snapshot_id ?? "";
  });
  const get = await logOf(d, () => call(groups, "GetVolumeGroupSnapshot", { group_snapshot_id: id }));
  const del = await logOf(d, () => call(groups, "DeleteVolumeGroupSnapshot", { group_snapshot_id: id }));
  return { create, get, delete: del };
}

const shape = (entries: readonly RequestLogEntry[]) =>
  entries.map((e) => `${e.method} ${e.path.replace(/\/\d+$/, "/{id}").replace(/cg-[a-z2-7]+/, "{group}")}`);

describe("group snapshot cost as the array grows", () => {
  it("makes the same REST calls at 10 and 2,000 LDEVs, each reading at most one 64-id window", async () => {
    const { h: d } = await rig();
    const volumeIds = await sources(d, 2);
    await seedVolumes(d, 8);
    const few = await round(d, "vgs-few", volumeIds);
    await seedVolumes(d, 2_000);
    expect(Object.keys(d.t.sim.core.state.ldevs).length).toBeGreaterThan(2_000);
    const many = await round(d, "vgs-many", volumeIds);

    for (const r of [few, many]) {
      // Create: 2 sources, the group, 2 S-VOL windows, 2 S-VOLs, 2 pairs, the wait, the split, the
      // cut group. Get: the group, 2 P-VOLs, 2 S-VOLs. Delete: the group, 2 S-VOLs read, labelled
      // and deleted, the group delete.
      expect(r.create.length).toBeLessThanOrEqual(12);
      expect(r.get.length).toBeLessThanOrEqual(5);
      expect(r.delete.length).toBeLessThanOrEqual(8);
      for (const entries of [r.create, r.get, r.delete]) {
        expect(largestCount(entries)).toBeLessThanOrEqual(WINDOW);
        // A window of 64 1 MiB LDEVs is about 40 KiB; a listing of 2,000 LDEVs about 800 KiB.
        expect(entries.reduce((sum, e) => sum + (e.bytes ?? 0), 0)).toBeLessThan(150 * 1024);
      }
    }
    expect(shape(many.create)).toEqual(shape(few.create));
    expect(shape(many.get)).toEqual(shape(few.get));
    expect(shape(many.delete)).toEqual(shape(few.delete));
    expect(holdings(d.t).pairs).toBe(0);
  });
});

describe("DeleteVolumeGroupSnapshot retried once the group is gone", () => {
  /** A cut group snapshot whose delete died after the group delete, its S-VOLs labelled and left. */
  async function interruptedDelete() {
    const { h: d, healthy, inner } = await rig();
    const volumeIds = await sources(d, 2);
    await seedVolumes(d, 2_000);
    const service = new GroupSnapshotService(healthy.volumes, healthy.snapshots);
    const g = await service.create({ name: "vgs-1", sourceVolumeIds: volumeIds, parameters: {} });
    // 2 labels and the group delete reach the array; the first S-VOL delete never leaves.
    const dying = crashingClient(inner, 3, "drop");
    const crashed = servicesOver(d, dying.client);
    const before = new GroupSnapshotService(crashed.volumes, crashed.snapshots);
    await expect(before.delete(g.groupSnapshotId, [])).rejects.toThrow(/killed at change 4/);
    const group = groupSnapshotGroupName(DRIVER, "vgs-1");
    const prefix = groupMemberLabelPrefix(group);
    const left = () => Object.values(d.t.sim.core.state.ldevs).filter((l) => l.label.startsWith(prefix));
    expect(d.t.sim.core.state.snapshotGroups).toEqual([]);
    expect(left()).toHaveLength(2);
    return { d, service, g, left, volumeIds };
  }

  it("finds the S-VOLs by their labels in their windows when snapshot_ids name the members", async () => {
    const { d, service, g, left, volumeIds } = await interruptedDelete();
    const snapshotIds = g.snapshots.map((s) => s.snapshotId);
    const log = await logOf(d, () => service.delete(g.groupSnapshotId, snapshotIds));
    // The group (gone), one window per member, the 2 S-VOL deletes.
    expect(log).toHaveLength(5);
    expect(largestCount(log)).toBeLessThanOrEqual(WINDOW);
    expect(left()).toEqual([]);
    expect(holdings(d.t).ldevs).toEqual(expect.arrayContaining(volumeIds.map(ldevIdOf)));
    // Repeated: nothing left to find, nothing deleted, still no listing of the range.
    const again = await logOf(d, () => service.delete(g.groupSnapshotId, snapshotIds));
    expect(again.filter((e) => e.method !== "GET")).toEqual([]);
    expect(largestCount(again)).toBeLessThanOrEqual(WINDOW);
  });

  it("lists the range for the group's label prefix only without snapshot_ids (the last resort)", async () => {
    const { d, service, g, left } = await interruptedDelete();
    const log = await logOf(d, () => service.delete(g.groupSnapshotId, []));
    expect(largestCount(log)).toBeGreaterThan(WINDOW);
    expect(left()).toEqual([]);
  });
});
