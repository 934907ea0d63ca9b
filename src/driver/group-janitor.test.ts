/**
 * The janitor removes what an abandoned CreateVolumeGroupSnapshot left (an uncut `cg-` group, its
 * pairs and S-VOLs) — only after it has seen it for the grace period, and never a cut group, a
 * group being built, or anything that is not the driver's.
 */
import { describe, expect, it } from "vitest";

import { call } from "../csi/test-support/clients.js";
import { createVolume, ldevIdOf } from "../csi/test-support/driver-harness.js";
import type { DriverHarness } from "../csi/test-support/driver-harness.js";
import { holdings, useServiceRig } from "../csi/test-support/snapshot-harness.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import { GroupJanitor } from "./group-janitor.js";
import { GroupSnapshotService } from "./group-snapshots.js";
import { groupSnapshotGroupName } from "./names.js";

const MIB = 1024 * 1024;
const SIZE = 8 * MIB;
const GRACE = 15 * 60_000;
const DRIVER = "csi.vsp-csi.dev";
const start = useServiceRig();

/** A janitor over the harness's array, with a clock the test moves. */
async function rig() {
  const { h: d, healthy } = await start();
  const { volumes, snapshots } = healthy;
  const clock = { now: 1_000_000 };
  const janitor = new GroupJanitor(() => volumes.arrays.all(), new GroupSnapshotService(volumes, snapshots), {
    graceMs: GRACE,
    now: () => clock.now,
  });
  return { d, janitor, clock };
}

async function sources(d: DriverHarness, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = await createVolume(d.controller, `pvc-${i}`, {
      capacity_range: { required_bytes: String(SIZE) },
    });
    ids.push(v.volume_id);
  }
  return ids;
}

/** What an abandoned create leaves: unlabelled S-VOLs in CTG pairs of the cg- group, unsplit. */
async function abandonedGroup(t: TestSim, name: string, pvols: number[], firstSvol = 800): Promise<string> {
  const group = groupSnapshotGroupName(DRIVER, name);
  for (const [i, pvol] of pvols.entries()) {
    const svol = firstSvol + i;
    expect(
      (await t.job("POST", `${t.short}/ldevs`, { poolId: 0, blockCapacity: SIZE / 512, ldevId: svol })).body
        .state,
    ).toBe("Succeeded");
    const pair = await t.job("POST", `${t.short}/snapshots`, {
      snapshotGroupName: group,
      snapshotPoolId: 0,
      pvolLdevId: pvol,
      svolLdevId: svol,
      isConsistencyGroup: true,
      canCascade: true,
    });
    expect(pair.body.state).toBe("Succeeded");
  }
  return group;
}

describe("GroupJanitor", () => {
  it("removes an uncut group, its pairs and S-VOLs once seen for the grace period — not before", async () => {
    const { d, janitor, clock } = await rig();
    const ids = await sources(d, 2);
    const before = holdings(d.t);
    const group = await abandonedGroup(d.t, "vgs-abandoned", ids.map(ldevIdOf));

    expect(await janitor.sweep()).toEqual({ removed: [], watching: 1 });
    clock.now += GRACE - 1;
    expect(await janitor.sweep()).toEqual({ removed: [], watching: 1 });
    expect(holdings(d.t).groups).toEqual([group]);
    clock.now += 1;
    expect(await janitor.sweep()).toEqual({ removed: [`886000123456/${group}`], watching: 0 });
    expect(holdings(d.t)).toEqual(before);
  });

  it("never touches a cut group snapshot, and looks at it once only", async () => {
    const { d, janitor, clock } = await rig();
    const ids = await sources(d, 2);
    await call(d.clients.groupController, "CreateVolumeGroupSnapshot", {
      name: "vgs-1",
      source_volume_ids: ids,
    });
    const kept = holdings(d.t);
    await janitor.sweep();
    clock.now += GRACE;
    expect(await janitor.sweep()).toEqual({ removed: [], watching: 0 });
    clock.now += GRACE;
    expect(await janitor.sweep()).toEqual({ removed: [], watching: 0 });
    expect(holdings(d.t)).toEqual(kept);
  });

  it("leaves a group that was cut meanwhile (a create that finished), and groups that are not ours", async () => {
    const { d, janitor, clock } = await rig();
    const ids = await sources(d, 2);
    const [a = -1, b = -1] = ids.map(ldevIdOf);
    const group = await abandonedGroup(d.t, "vgs-slow", [a]);
    // Another tool's consistency group, uncut: not a cg- name, never the janitor's business.
    await d.t.job("POST", `${d.t.short}/ldevs`, { poolId: 0, blockCapacity: SIZE / 512, ldevId: 900 });
    await d.t.job("POST", `${d.t.short}/snapshots`, {
      ...{ snapshotGroupName: "backup-tool-cg", snapshotPoolId: 0, pvolLdevId: b, svolLdevId: 900 },
      isConsistencyGroup: true,
    });
    expect((await janitor.sweep()).watching).toBe(1);
    expect(
      (await d.t.job("POST", `${d.t.short}/snapshot-groups/${group}/actions/split/invoke`, {})).body.state,
    ).toBe("Succeeded");
    clock.now += GRACE;
    expect(await janitor.sweep()).toEqual({ removed: [], watching: 0 });
    expect(holdings(d.t).groups).toEqual(["backup-tool-cg", group].sort());
    expect(holdings(d.t).pairs).toBe(2);
  });

  it("forgets a group that went away before its grace period ended", async () => {
    const { d, janitor, clock } = await rig();
    const ids = await sources(d, 1);
    const group = await abandonedGroup(d.t, "vgs-retried", ids.map(ldevIdOf));
    expect((await janitor.sweep()).watching).toBe(1);
    expect((await d.t.job("DELETE", `${d.t.short}/snapshot-groups/${group}`)).body.state).toBe("Succeeded");
    clock.now += GRACE;
    expect(await janitor.sweep()).toEqual({ removed: [], watching: 0 });
  });
});
