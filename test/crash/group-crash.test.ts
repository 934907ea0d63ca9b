/**
 * Crash safety of CreateVolumeGroupSnapshot and DeleteVolumeGroupSnapshot (issue 7; ARCHITECTURE
 * §3: the array is the only state). The controller runs as a real child process; at every point
 * between two of its REST change requests it is SIGKILLed while the simulator keeps running, the
 * request it was waiting on is released as processed or dropped, a new controller is started and
 * the SAME call is retried (twice). The array must then hold exactly one cut group snapshot of the
 * three volumes (create), or nothing but the source volumes (delete): no leaked LDEV, pair or group.
 *
 * The crash points are well defined although the members' S-VOL and pair creates run concurrently:
 * point k is "the first k change requests reached the array, every later one is held"
 * (holdChangesAfter k). A clean run is measured first; its number of change requests K is the
 * number of crash points each variant must go through (k = 0..K-1 held, k = K completes).
 */

import { describe, expect, it } from "vitest";

import { DEFAULT_DRIVER_NAME } from "../../src/config/schema.js";
import { call } from "../../src/csi/test-support/clients.js";
import { groupSnapshotGroupName } from "../../src/driver/names.js";
import type { LdevState, SimState } from "../../src/simulator/state.js";

import type { CrashReport, CsiClients, Variant } from "./support.js";
import { useCrashRig } from "./rig-lifecycle.js";
import { ldevFileIds, runCrashMatrix, stateDiff } from "./support.js";

const MIB = 1024 * 1024;
const CAPABILITY = { access_mode: { mode: "SINGLE_NODE_WRITER" as const }, mount: { fs_type: "ext4" } };
const TEST_TIMEOUT_MS = 90_000;
const VOLUMES = 3;

const { sim, crashRig } = useCrashRig("vsp-group-crash-");

// --- CSI calls ----------------------------------------------------------------------------------

async function sourceVolumes(c: CsiClients): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < VOLUMES; i++) {
    const res = await call(c.controller, "CreateVolume", {
      name: `pvc-group-${i}`,
      capacity_range: { required_bytes: String(16 * MIB) },
      volume_capabilities: [CAPABILITY],
      parameters: {},
    });
    if (!res.volume) throw new Error("CreateVolume returned no volume");
    ids.push(res.volume.volume_id);
  }
  return ids;
}

interface GroupAnswer {
  groupSnapshotId: string;
  members: { snapshotId: string; sourceVolumeId: string; ready: boolean }[];
  ready: boolean;
  creationTime: string;
}

async function createGroup(c: CsiClients, name: string, sources: string[]): Promise<GroupAnswer> {
  const res = await call(c.groupController, "CreateVolumeGroupSnapshot", {
    name,
    source_volume_ids: sources,
    parameters: {},
  });
  const g = res.group_snapshot;
  if (!g) throw new Error("CreateVolumeGroupSnapshot returned no group snapshot");
  return {
    groupSnapshotId: g.group_snapshot_id,
    members: g.snapshots
      .map((s) => ({ snapshotId: s.snapshot_id, sourceVolumeId: s.source_volume_id, ready: s.ready_to_use }))
      .sort((a, b) => a.sourceVolumeId.localeCompare(b.sourceVolumeId)),
    ready: g.ready_to_use,
    creationTime: `${g.creation_time?.seconds ?? "?"}.${g.creation_time?.nanos ?? "?"}`,
  };
}

/** With the members' snapshot IDs when given, as the external-snapshotter always sends them. */
async function deleteGroup(
  c: CsiClients,
  groupSnapshotId: string,
  snapshotIds: string[] = [],
): Promise<object> {
  return call(c.groupController, "DeleteVolumeGroupSnapshot", {
    group_snapshot_id: groupSnapshotId,
    snapshot_ids: snapshotIds,
  });
}

// --- the array's side ---------------------------------------------------------------------------

function state(): SimState {
  return sim().sim.core.state;
}

function ldevIdsOf(volumeIds: string[]): number[] {
  return volumeIds.map((id) => Number(id.split(".")[3])).sort((a, b) => a - b);
}

function groupIdOf(name: string): string {
  const group = groupSnapshotGroupName(DEFAULT_DRIVER_NAME, name);
  return `1.${sim().sim.core.config.storageDeviceId}.grp.${group}`;
}

/** Every LDEV has a data file and every data file an LDEV: no block storage leaked or lost. */
async function expectBlockFilesMatchState(): Promise<void> {
  const ids = Object.values(state().ldevs)
    .map((l) => l.ldevId)
    .sort((a, b) => a - b);
  expect(await ldevFileIds(sim())).toEqual(ids);
}

/** The number of change requests (jobs) `run` makes, from the simulator's request log. */
async function changeRequestsOf(run: () => Promise<unknown>): Promise<string[]> {
  await sim().admin("DELETE", "/simulator/requests");
  await run();
  const res = await sim().admin("GET", "/simulator/requests");
  return (res.body.data as { method: string; path: string }[])
    .filter((e) => e.method !== "GET")
    .map(
      (e) =>
        `${e.method} ${e.path.replace(/^.*\/objects(\/storages\/\d+)?\//, "").replace(/\/\d+$/, "/{id}")}`,
    );
}

/** Prints the crash points and checks each variant's release did what it says. */
function report(operation: string, r: CrashReport, clean: string[]): void {
  const points = (v: Variant) => r[v].map((h) => `${h.request} → ${h.status}`).join(", ");
  console.log(
    `[crash] ${operation}: clean run ${clean.length} changes (${clean.join(", ")}); ` +
      `${r.process.length} crash points × 2 variants (process: ${points("process")}; drop: ${points("drop")})`,
  );
  // One crash point per change request of a clean run, in each variant.
  expect(r.process).toHaveLength(clean.length);
  expect(r.drop).toHaveLength(clean.length);
  // The release did what it says: "process" = the array ran the request, "drop" = it never got it.
  expect(r.process.map((h) => h.status)).toEqual(r.process.map(() => 202));
  // The held request itself (support.ts asks the simulator which one it holds), also where the
  // members' creates run concurrently.
  expect(r.drop.map((h) => h.status)).toEqual(r.drop.map(() => 503));
}

// --- the operations -----------------------------------------------------------------------------

describe("group snapshot calls: controller killed between REST calls, restarted, call retried", () => {
  it(
    "CreateVolumeGroupSnapshot: exactly one cut group of 3 split members, nothing leaked",
    async () => {
      const sources = await sourceVolumes(crashRig().clients);
      const pvols = ldevIdsOf(sources);
      const made: string[] = [];
      const clean = await changeRequestsOf(async () => {
        const g = await createGroup(crashRig().clients, "vgs-clean", sources);
        made.push(g.groupSnapshotId);
      });
      expect([...clean].sort()).toEqual([
        ...Array<string>(VOLUMES).fill("POST ldevs"),
        `POST snapshot-groups/${groupSnapshotGroupName(DEFAULT_DRIVER_NAME, "vgs-clean")}/actions/split/invoke`,
        ...Array<string>(VOLUMES).fill("POST snapshots"),
      ]);
      const r = await runCrashMatrix(crashRig(), {
        prepare: async (c, k, variant) => {
          // Only the sources before each point: the group snapshots of earlier points go.
          for (const id of made.splice(0)) await deleteGroup(c, id);
          return { name: `vgs-${variant}-${k}` };
        },
        call: async (c, input) => {
          const g = await createGroup(c, input.name, sources);
          made.push(g.groupSnapshotId);
          return g;
        },
        verify: async (input, result, before) => {
          const group = groupSnapshotGroupName(DEFAULT_DRIVER_NAME, input.name);
          expect(result).toMatchObject({ groupSnapshotId: groupIdOf(input.name), ready: true });
          expect(result.members.map((m) => m.sourceVolumeId)).toEqual([...sources].sort());
          expect(result.members.every((m) => m.ready)).toBe(true);
          const s = state();
          expect(s.snapshotGroups).toEqual([expect.objectContaining({ snapshotGroupName: group })]);
          const members = [...s.tiPairs].sort((a, b) => a.pvolLdevId - b.pvolLdevId);
          expect(
            members.map((p) => [p.pvolLdevId, p.snapshotGroupName, p.status, p.isConsistencyGroup]),
          ).toEqual(pvols.map((id) => [id, group, "PSUS", true]));
          expect(new Set(s.tiPairs.map((p) => p.splitTime)).size).toBe(1);
          const svols = s.tiPairs.map((p) => p.svolLdevId ?? -1).sort((a, b) => a - b);
          // The sources and one S-VOL per member: no orphan S-VOL of an interrupted attempt.
          const ldevs = Object.values(s.ldevs);
          expect(ldevs.map((l) => l.ldevId).sort((a, b) => a - b)).toEqual(
            [...pvols, ...svols].sort((a, b) => a - b),
          );
          const diff = stateDiff(before, s);
          expect(Object.keys(diff).sort()).toEqual(["ldevs", "snapshotGroups", "tiPairs"]);
          expect(diff.ldevs?.removed).toEqual([]);
          expect((diff.ldevs?.added as LdevState[]).map((l) => l.ldevId).sort((a, b) => a - b)).toEqual(
            svols,
          );
          expect(diff.tiPairs).toMatchObject({ removed: [] });
          expect(diff.tiPairs?.added).toHaveLength(VOLUMES);
          await expectBlockFilesMatchState();
        },
      });
      report("CreateVolumeGroupSnapshot", r, clean);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "DeleteVolumeGroupSnapshot: nothing but the source volumes is left",
    async () => {
      const sources = await sourceVolumes(crashRig().clients);
      const pvols = ldevIdsOf(sources);
      const { groupSnapshotId, members } = await createGroup(crashRig().clients, "vgs-clean", sources);
      const memberIds = members.map((m) => m.snapshotId);
      const clean = await changeRequestsOf(() => deleteGroup(crashRig().clients, groupSnapshotId, memberIds));
      expect([...clean].sort()).toEqual([
        ...Array<string>(VOLUMES).fill("DELETE ldevs/{id}"),
        `DELETE snapshot-groups/${groupSnapshotGroupName(DEFAULT_DRIVER_NAME, "vgs-clean")}`,
        ...Array<string>(VOLUMES).fill("PATCH ldevs/{id}"),
      ]);
      const r = await runCrashMatrix(crashRig(), {
        prepare: async (c, k, variant) => {
          const g = await createGroup(c, `vgs-del-${variant}-${k}`, sources);
          return { groupSnapshotId: g.groupSnapshotId, snapshotIds: g.members.map((m) => m.snapshotId) };
        },
        // A retry once the group is gone finds the S-VOLs in their windows by the members' labels
        // (the last resort without snapshot_ids, a listing of the range: group-snapshots.test.ts).
        call: (c, input) => deleteGroup(c, input.groupSnapshotId, input.snapshotIds),
        verify: async (_input, result, before) => {
          expect(result).toEqual({});
          const s = state();
          expect(s.tiPairs).toEqual([]);
          expect(s.snapshotGroups).toEqual([]);
          const svols = before.tiPairs.map((p) => p.svolLdevId ?? -1).sort((a, b) => a - b);
          expect(svols).toHaveLength(VOLUMES);
          expect(
            Object.values(s.ldevs)
              .map((l) => l.ldevId)
              .sort((a, b) => a - b),
          ).toEqual(pvols);
          // Exactly the group went: its pairs, its group, its S-VOLs; the sources are untouched.
          expect(stateDiff(before, s)).toEqual({
            ldevs: { added: [], removed: svols.map((id) => before.ldevs[String(id)]) },
            tiPairs: { added: [], removed: before.tiPairs },
            snapshotGroups: { added: [], removed: before.snapshotGroups },
          });
          await expectBlockFilesMatchState();
        },
      });
      report("DeleteVolumeGroupSnapshot", r, clean);
    },
    TEST_TIMEOUT_MS,
  );
});
