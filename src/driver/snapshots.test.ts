/**
 * SnapshotService: crash convergence (the controller killed between any two REST calls of
 * CreateSnapshot and DeleteSnapshot), the REST calls each RPC makes, and the array-side edge cases
 * a retry meets. Against the in-process simulator; gRPC behaviour is in src/csi/snapshots.test.ts.
 */
import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";

import type { VspClient } from "../array/client.js";
import { call } from "../csi/test-support/clients.js";
import type { DriverHarness } from "../csi/test-support/driver-harness.js";
import {
  DRIVER_NAME,
  FC_ARRAY,
  expectStatus,
  ldevIn,
  resetRequests,
  restRequests,
  startDriverHarness,
  writeData,
} from "../csi/test-support/driver-harness.js";
import {
  CRASH_VARIANTS,
  Crash,
  MIB,
  clientOf,
  crashingClient,
  holdings,
  pairs,
  pattern,
  servicesOver,
  sha256Of,
  shaOfImage,
  startSnapshotHarness,
} from "../csi/test-support/snapshot-harness.js";
import type { Services } from "../csi/test-support/snapshot-harness.js";
import { REALISTIC_TIMINGS } from "../simulator/config.js";
import { tiPairState } from "../simulator/test-support/seed.js";
import { ArrayRegistry } from "./arrays.js";
import { sharedGroupName, snapshotLabel } from "./names.js";
import { SnapshotService } from "./snapshots.js";
import type { Snapshot } from "./snapshots.js";
import { VolumeService } from "./volumes.js";
import type { Volume } from "./volumes.js";

const SIZE = 8 * MIB;
let h: DriverHarness | undefined;
let client: VspClient | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await h?.stop();
  h = undefined;
});

async function rig(timings = {}): Promise<{ h: DriverHarness; healthy: Services; inner: VspClient }> {
  h = await startSnapshotHarness(timings);
  client = clientOf(h);
  return { h, healthy: servicesOver(h, client), inner: client };
}

function newVolume(s: Services, name: string, bytes = SIZE): Promise<Volume> {
  return s.volumes.create({ name, range: { required_bytes: String(bytes) }, parameters: {} });
}

/** A snapshot's fields a caller sees (not the array handle). */
function view(s: Snapshot) {
  const { array: _array, ...rest } = s;
  return rest;
}

/** Runs `op` with services that die at change k+1; true when it finished without reaching it. */
async function runUntilCrash(op: () => Promise<unknown>): Promise<boolean> {
  try {
    await op();
    return true;
  } catch (err) {
    if (err instanceof Crash) return false;
    throw err;
  }
}

describe("CreateSnapshot with the controller killed between any two REST calls", () => {
  it.each(CRASH_VARIANTS)(
    "converges to one snapshot with the right data and leaves nothing (%s)",
    async (variant) => {
      const { h, healthy, inner } = await rig();
      const source = await newVolume(healthy, "pvc-src");
      const data = pattern("source", MIB);
      await writeData(h.t, source.ldev.ldevId, data);
      const crashPoints: string[] = [];
      for (let k = 0; k < 10; k++) {
        const name = `snap-${variant}-${k}`;
        const dying = crashingClient(inner, k, variant);
        const input = { name, sourceVolumeId: source.volumeId, parameters: {} };
        const finished = await runUntilCrash(() => servicesOver(h, dying.client).snapshots.create(input));
        if (finished) break;
        crashPoints.push(dying.changes.at(-1) ?? "?");
        const snap = await servicesOver(h, inner).snapshots.create(input);
        expect(view(await servicesOver(h, inner).snapshots.create(input))).toEqual(view(snap));
        expect(snap).toMatchObject({
          readyToUse: true,
          bytes: BigInt(SIZE),
          sourceVolumeId: source.volumeId,
        });
        const svol = snap.svolLdevId ?? -1;
        expect(holdings(h.t)).toEqual({
          ldevs: [source.ldev.ldevId, svol].sort((a, b) => a - b),
          pairs: 1,
          groups: [sharedGroupName("snapshots", source.ldev.ldevId)],
        });
        expect(ldevIn(h.t, svol)?.label).toBe(snapshotLabel(DRIVER_NAME, name));
        expect(await sha256Of(h.t, svol)).toBe(shaOfImage(data, SIZE));
        await healthy.snapshots.delete(snap.snapshotId);
        expect(holdings(h.t)).toEqual({ ldevs: [source.ldev.ldevId], pairs: 0, groups: [] });
      }
      // S-VOL created, labelled, pair created: every step was a crash point.
      expect(crashPoints).toEqual(["ldevs.create", "ldevs.modify", "snapshots.create"]);
    },
  );

  it("replaces an S-VOL left by a crash when the source has grown since (a pair needs equal sizes)", async () => {
    const { h, healthy, inner } = await rig();
    const source = await newVolume(healthy, "pvc-src");
    const input = { name: "snap-a", sourceVolumeId: source.volumeId, parameters: {} };
    const dying = crashingClient(inner, 2, "drop");
    expect(await runUntilCrash(() => servicesOver(h, dying.client).snapshots.create(input))).toBe(false);
    await healthy.volumes.expand(source.volumeId, { required_bytes: String(2 * SIZE) });
    const snap = await servicesOver(h, inner).snapshots.create(input);
    expect(snap.bytes).toBe(BigInt(2 * SIZE));
    expect(holdings(h.t).ldevs).toHaveLength(2);
  });
});

describe("DeleteSnapshot with the controller killed between any two REST calls", () => {
  it.each(CRASH_VARIANTS)("is finished by the retry and leaves nothing (%s)", async (variant) => {
    const { h, healthy, inner } = await rig();
    const source = await newVolume(healthy, "pvc-src");
    const crashPoints: string[] = [];
    for (let k = 0; k < 10; k++) {
      const snap = await healthy.snapshots.create({
        name: `snap-${k}`,
        sourceVolumeId: source.volumeId,
        parameters: {},
      });
      const dying = crashingClient(inner, k, variant);
      const finished = await runUntilCrash(() =>
        servicesOver(h, dying.client).snapshots.delete(snap.snapshotId),
      );
      if (!finished) {
        crashPoints.push(dying.changes.at(-1) ?? "?");
        await servicesOver(h, inner).snapshots.delete(snap.snapshotId);
      }
      expect(holdings(h.t)).toEqual({ ldevs: [source.ldev.ldevId], pairs: 0, groups: [] });
      await expect(healthy.snapshots.find(snap.snapshotId)).resolves.toBeUndefined();
      if (finished) break;
    }
    expect(crashPoints).toEqual(["snapshots.delete", "ldevs.delete"]);
  });
});

describe("snapshot state on the array", () => {
  it("reports a snapshot its pool suspended (PSUE) as not ready, and refuses restores from it", async () => {
    const { h, healthy } = await rig();
    const source = await newVolume(healthy, "pvc-src");
    const snap = await healthy.snapshots.create({
      name: "s",
      sourceVolumeId: source.volumeId,
      parameters: {},
    });
    await h.t.admin("PUT", "/simulator/faults", { poolFull: [0] });
    await expect.poll(() => pairs(h.t)[0]?.status).toBe("PSUE");
    expect(await healthy.snapshots.get(snap.snapshotId)).toMatchObject({ readyToUse: false, status: "PSUE" });
    await expect(
      healthy.clones.create({
        name: "pvc-r",
        range: undefined,
        parameters: {},
        source: { kind: "snapshot", snapshotId: snap.snapshotId },
      }),
    ).rejects.toThrow(/suspended \(PSUE\): its data is lost/);
  });

  it("lists snapshots across two arrays, paging over the array boundary", async () => {
    h = await startDriverHarness({ arrays: [FC_ARRAY, { ...FC_ARRAY, name: "vsp2" }] });
    const made: Snapshot[] = [];
    for (const array of ["vsp1", "vsp2"]) {
      const vol = await call(h.controller, "CreateVolume", {
        name: `pvc-${array}`,
        volume_capabilities: [{ access_mode: { mode: "SINGLE_NODE_WRITER" }, block: {} }],
        capacity_range: { required_bytes: String(MIB) },
        parameters: { array },
      });
      for (const n of [1, 2]) {
        const res = await call(h.controller, "CreateSnapshot", {
          name: `snap-${array}-${n}`,
          source_volume_id: vol.volume?.volume_id ?? "",
        });
        made.push({ snapshotId: res.snapshot?.snapshot_id ?? "" } as Snapshot);
      }
    }
    const first = await call(h.controller, "ListSnapshots", { max_entries: 3 });
    expect(first.next_token).toMatch(/^1\.\d+\.1$/);
    const rest = await call(h.controller, "ListSnapshots", { starting_token: first.next_token });
    expect([...first.entries, ...rest.entries].map((e) => e.snapshot?.snapshot_id)).toEqual(
      made.map((s) => s.snapshotId),
    );
    expect(rest.next_token).toBe("");
  });
});

describe("REST calls", () => {
  it("CreateSnapshot: 6 when new, 2 when repeated; DeleteSnapshot: 4", async () => {
    h = await startSnapshotHarness();
    const vol = await call(h.controller, "CreateVolume", {
      name: "pvc-a",
      volume_capabilities: [{ access_mode: { mode: "SINGLE_NODE_WRITER" }, block: {} }],
      capacity_range: { required_bytes: String(SIZE) },
    });
    const source = vol.volume?.volume_id ?? "";
    await resetRequests(h.t);
    const res = await call(h.controller, "CreateSnapshot", { name: "snap-a", source_volume_id: source });
    expect(await restRequests(h.t)).toEqual([
      "GET /ldevs", // the S-VOL's window (64 ids): does the snapshot exist?
      expect.stringMatching(/^GET \/ldevs\/\d+$/), // the source volume: size, pool
      "POST /ldevs",
      expect.stringMatching(/^PATCH \/ldevs\/\d+$/), // label
      "POST /snapshots", // NoWait, into a shared group: no connection held while the pair copies
      expect.stringMatching(/^GET \/snapshots\/\d+,0$/), // status and splitTime
    ]);
    await resetRequests(h.t);
    await call(h.controller, "CreateSnapshot", { name: "snap-a", source_volume_id: source });
    expect(await restRequests(h.t)).toEqual([
      "GET /ldevs", // the S-VOL's window
      "GET /snapshots", // ?svolLdevId=: its pair
    ]);
    await resetRequests(h.t);
    await call(h.controller, "DeleteSnapshot", { snapshot_id: res.snapshot?.snapshot_id ?? "" });
    expect(await restRequests(h.t)).toEqual([
      expect.stringMatching(/^GET \/snapshots\/\d+,0$/),
      expect.stringMatching(/^GET \/ldevs\/\d+$/), // its S-VOL: the snapshot's label?
      expect.stringMatching(/^DELETE \/snapshots\/\d+,0$/),
      expect.stringMatching(/^DELETE \/ldevs\/\d+$/),
    ]);
    await expectStatus(
      call(h.controller, "GetSnapshot", { snapshot_id: res.snapshot?.snapshot_id ?? "" }),
      status.NOT_FOUND,
    );
  });
});

describe("shared snapshot groups: only the array's own limits apply", () => {
  it("with 2,040 of the array's 2,048 snapshot groups taken by other tools, 20 volumes still get 5 snapshots each", async () => {
    const { h, healthy } = await rig();
    const groups = h.t.sim.core.state.snapshotGroups;
    for (let i = 0; i < 2_040; i++)
      groups.push({ snapshotGroupName: `other-tool-${i}`, isConsistencyGroup: false });
    const made: Snapshot[] = [];
    for (let v = 0; v < 20; v++) {
      const source = await newVolume(healthy, `pvc-${v}`, MIB);
      for (let s = 0; s < 5; s++) {
        made.push(
          await healthy.snapshots.create({
            name: `snap-${v}-${s}`,
            sourceVolumeId: source.volumeId,
            parameters: {},
          }),
        );
      }
    }
    expect(new Set(made.map((s) => s.snapshotId)).size).toBe(100);
    expect(made.every((s) => s.readyToUse)).toBe(true);
    // The 8 groups left were enough: the rest of the pairs went into shared groups already there.
    const ours = groups.filter((g) => g.snapshotGroupName.startsWith("vsp-csi-snap-"));
    expect(ours.length).toBe(8);
    expect(groups).toHaveLength(2_048);
    // Each snapshot is still found by its name (repeat) and by its ID.
    const again = await healthy.snapshots.create({
      name: "snap-19-4",
      sourceVolumeId: made[99]?.sourceVolumeId ?? "",
      parameters: {},
    });
    expect(again.snapshotId).toBe(made[99]?.snapshotId);
    expect((await healthy.snapshots.get(made[0]?.snapshotId ?? "")).snapshotId).toBe(made[0]?.snapshotId);
  });

  it("a shared group holding its 8,192 pairs sends the next pair to the next group", async () => {
    const { h, healthy } = await rig();
    const source = await newVolume(healthy, "pvc-full", MIB);
    const full = sharedGroupName("snapshots", source.ldev.ldevId);
    const state = h.t.sim.core.state;
    state.snapshotGroups.push({ snapshotGroupName: full, isConsistencyGroup: false });
    for (let i = 0; i < 8_192; i++) {
      // Pairs of other P-VOLs (ids the driver's range does not use) that fill the group.
      state.tiPairs.push(
        tiPairState({ pvolLdevId: 60_000 + (i % 64), muNumber: Math.floor(i / 64), snapshotGroupName: full }),
      );
    }
    const snap = await healthy.snapshots.create({
      name: "snap-next",
      sourceVolumeId: source.volumeId,
      parameters: {},
    });
    const pair = pairs(h.t).find((p) => p.pvolLdevId === source.ldev.ldevId);
    expect(pair?.snapshotGroupName).toBe(sharedGroupName("snapshots", source.ldev.ldevId + 1));
    expect(snap.readyToUse).toBe(true);
    expect((await healthy.snapshots.get(snap.snapshotId)).svolLdevId).toBe(pair?.svolLdevId);
  });
});

describe("the cut and the split settling", () => {
  it("CreateSnapshot waits for the split to settle (PSUP → PSUS) and answers a ready snapshot", async () => {
    const { h, healthy } = await rig({ ...REALISTIC_TIMINGS, tiPairCreateMs: 200, tiSplitMs: 600 });
    const source = await newVolume(healthy, "pvc-settle", MIB);
    const snap = await healthy.snapshots.create({
      name: "snap-settle",
      sourceVolumeId: source.volumeId,
      parameters: {},
    });
    expect(snap).toMatchObject({ status: "PSUS", readyToUse: true });
    expect(pairs(h.t).find((p) => p.pvolLdevId === source.ldev.ldevId)?.status).toBe("PSUS");
  });

  it("a call whose time runs out while the split settles answers the cut snapshot, not ready; a DeleteSnapshot then waits and deletes", async () => {
    // A split far longer than the call may wait: the answer provably comes while it settles.
    const { h, inner } = await rig({ ...REALISTIC_TIMINGS, tiPairCreateMs: 200, tiSplitMs: 4_000 });
    const config = h.config.arrays[0];
    if (!config) throw new Error("no array");
    const volumes = new VolumeService(
      new ArrayRegistry([{ config, client: inner }], config.name),
      DRIVER_NAME,
    );
    const impatient = new SnapshotService(volumes, {}, { waitMs: 1_500 });
    const source = await volumes.create({
      name: "pvc-settle",
      range: { required_bytes: String(MIB) },
      parameters: {},
    });
    const snap = await impatient.create({
      name: "snap-settle",
      sourceVolumeId: source.volumeId,
      parameters: {},
    });
    expect(snap).toMatchObject({ status: "PSUP", readyToUse: false });
    expect(pairs(h.t).find((p) => p.pvolLdevId === source.ldev.ldevId)?.splitTime).toBeDefined();
    await new SnapshotService(volumes).delete(snap.snapshotId);
    expect(holdings(h.t)).toEqual({ ldevs: [source.ldev.ldevId], pairs: 0, groups: [] });
  });
});
