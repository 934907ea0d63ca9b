/**
 * Snapshot groups and consistency groups (D-TI-GROUPS, D-TIA-CTG, §5): listing, group actions,
 * group delete, CTG ids, and the one point in time of a CTG split.
 */
import { afterEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import type { TestSim } from "../../test-support/harness.js";
import {
  NO_WAIT,
  TI_POOL,
  cloneBody,
  create,
  expectFailed,
  expectSucceeded,
  fill,
  read,
  snapBody,
  snapshotsUrl,
  startTiSim,
  status,
  volumes,
  write,
} from "./test-support/kit.js";

let t: TestSim;
afterEach(async () => {
  await t.stop();
});

/** Cinder's CTG snapshot pairs (CIN-REST `_create_ctg_snap_pair`): CTG mode, cascade, no autoSplit. */
function ctgBody(pvol: number, svol: number, group = "HBSDC00000a2601011200000") {
  return snapBody(pvol, svol, { snapshotGroupName: group, isConsistencyGroup: true, autoSplit: false });
}

function groupUrl(name: string): string {
  return `${t.short}/snapshot-groups/${encodeURIComponent(name)}`;
}

describe("consistency groups", () => {
  it("hands out CTG ids from 128 and splits all pairs of the group at one point in time", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3, 4, 5, 6]);
    await write(t, 1, 0, fill(0x01));
    await write(t, 3, 0, fill(0x03));
    const a = await create(t, ctgBody(1, 2, "cg1"));
    const b = await create(t, ctgBody(3, 4, "cg1"));
    const c = await create(t, ctgBody(5, 6, "cg2"));
    const view = async (id: string): Promise<Record<string, unknown>> =>
      (await t.req("GET", snapshotsUrl(t, id))).body as Record<string, unknown>;
    expect((await view(a)).consistencyGroupId).toBe(128);
    expect((await view(b)).consistencyGroupId).toBe(128);
    expect((await view(c)).consistencyGroupId).toBe(129);
    expect((await view(a)).isConsistencyGroup).toBe(true);

    const split = await t.job("POST", `${groupUrl("cg1")}/actions/split/invoke`);
    expectSucceeded(split);
    expect(split.body.affectedResources).toEqual(["/ConfigurationManager/v1/objects/snapshot-groups/cg1"]);
    const [va, vb] = [await view(a), await view(b)];
    expect([va.status, vb.status]).toEqual(["PSUS", "PSUS"]);
    expect(va.splitTime).toBe(vb.splitTime);
    expect(await status(t, c)).toBe("PAIR"); // another group: untouched
    await write(t, 1, 0, fill(0xf1));
    await write(t, 3, 0, fill(0xf3));
    expect(await read(t, 2, 0, 64 * 1024)).toEqual(fill(0x01));
    expect(await read(t, 4, 0, 64 * 1024)).toEqual(fill(0x03));
  });

  it("refuses mixing: a non-CTG pair into a CTG group, and a CTG pair into a plain group", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3, 4, 5, 6]);
    await create(t, ctgBody(1, 2, "cg"));
    expectFailed(
      await t.job("POST", snapshotsUrl(t), snapBody(3, 4, { snapshotGroupName: "cg" })),
      SSB.TI_GROUP_MODE_MISMATCH,
    );
    await create(t, snapBody(3, 4, { snapshotGroupName: "plain" }));
    expectFailed(await t.job("POST", snapshotsUrl(t), ctgBody(5, 6, "plain")), SSB.TI_GROUP_MODE_MISMATCH);
  });

  it("skips CTG ids that ShadowImage uses and refuses when all 2,048 are taken", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3, 4]);
    const core = t.sim.core;
    core.state.siCopyGroups.push({
      copyGroupName: "si",
      pvolDeviceGroupName: "p",
      svolDeviceGroupName: "s",
      isConsistencyGroup: true,
      consistencyGroupId: 128,
    });
    core.store.save();
    const first = await create(t, ctgBody(1, 2, "cg"));
    expect((await t.req("GET", snapshotsUrl(t, first))).body.consistencyGroupId).toBe(129);

    // Every other id taken by (empty) groups put straight into state.
    for (let id = 0; id < 2048; id++) {
      if (id === 128 || id === 129) continue;
      core.state.snapshotGroups.push({
        snapshotGroupName: `x${id}`,
        isConsistencyGroup: true,
        consistencyGroupId: id,
      });
    }
    core.store.save();
    expectFailed(await t.job("POST", snapshotsUrl(t), ctgBody(3, 4, "one-too-many")), SSB.MAX_CTG_EXCEEDED);
    // 2,048 groups is the array's limit for plain groups too (D-TI-GROUPS).
    await create(t, snapBody(3, 4, { snapshotGroupName: "plain-2048" }));
    expect(core.state.snapshotGroups).toHaveLength(2048);
    expectFailed(
      await t.job("POST", snapshotsUrl(t), snapBody(3, undefined, { snapshotGroupName: "plain" })),
      SSB.MAX_CTG_EXCEEDED,
    );
  });
});

describe("GET /snapshot-groups", () => {
  it("lists groups by name (= id), with pairs on detailInfoType=pair", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3]);
    await create(t, snapBody(1, 2, { snapshotGroupName: "b-group" }));
    await create(t, snapBody(3, undefined, { snapshotGroupName: "a-group" }));
    const list = await t.req("GET", `${t.scoped}/snapshot-groups`);
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([
      { snapshotGroupName: "a-group", snapshotGroupId: "a-group" },
      { snapshotGroupName: "b-group", snapshotGroupId: "b-group" },
    ]);
    const one = await t.req("GET", `${groupUrl("b-group")}?detailInfoType=pair`);
    expect(one.body.snapshotGroupId).toBe("b-group");
    expect(one.body.snapshots.map((p: { snapshotId: string }) => p.snapshotId)).toEqual(["1,0"]);
    expect(one.body.snapshots[0].status).toBe("PSUS");
    const bare = await t.req("GET", groupUrl("b-group"));
    expect(bare.body.snapshots).toBeUndefined();
    const filtered = await t.req(
      "GET",
      `${t.short}/snapshot-groups?snapshotGroupName=a-group&detailInfoType=pair`,
    );
    expect(filtered.body.data).toHaveLength(1);
    expect(filtered.body.data[0].snapshots).toHaveLength(1);
    const missing = await t.req("GET", groupUrl("nope"));
    expect(missing.status).toBe(404);
    expect(missing.body.messageId).toBe("KART30013-E");
  });
});

describe("group actions", () => {
  it("applies to every pair: split executes on PAIR pairs, leaves PSUS ones (YN)", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3, 4]);
    await write(t, 3, 0, fill(0x77));
    const split = await create(t, snapBody(1, 2, { snapshotGroupName: "g" }));
    const paired = await create(t, snapBody(3, 4, { snapshotGroupName: "g", autoSplit: false }));
    const before = (await t.req("GET", snapshotsUrl(t, split))).body.splitTime;
    expectSucceeded(await t.job("POST", `${groupUrl("g")}/actions/split/invoke`));
    expect(await status(t, paired)).toBe("PSUS");
    expect(await read(t, 4, 0, 64 * 1024)).toEqual(fill(0x77));
    expect((await t.req("GET", snapshotsUrl(t, split))).body.splitTime).toBe(before);
  });

  it("refuses the whole group (412, nothing changes) when one pair forbids the operation", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3, 4]);
    const ok = await create(t, snapBody(1, 2, { snapshotGroupName: "g" }));
    const bad = await create(t, snapBody(3, 4, { snapshotGroupName: "g", snapshotPoolId: TI_POOL }));
    await t.admin("PUT", "/simulator/faults", { poolFull: [TI_POOL] });
    expect(await status(t, bad)).toBe("PSUE");
    await t.admin("DELETE", "/simulator/faults");
    const template = await t.req("GET", `${groupUrl("g")}/actions/restore`);
    expect(template.status).toBe(412);
    const restore = await t.req("POST", `${groupUrl("g")}/actions/restore/invoke`, {
      parameters: { autoSplit: true },
    });
    expect(restore.status).toBe(412);
    expect(restore.body.message).toContain(`${bad}=PSUE`);
    expect(await status(t, ok)).toBe("PSUS");
    // Resync is allowed for both (PSUS and PSUE).
    expectSucceeded(
      await t.job("PUT", `${groupUrl("g")}/actions/resync/invoke`, { parameters: { autoSplit: true } }),
    );
    expect([await status(t, ok), await status(t, bad)]).toEqual(["PSUS", "PSUS"]);
  });

  it("clones every clone pair of the group", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3, 4]);
    await write(t, 1, 0, fill(0x21));
    await write(t, 3, 0, fill(0x23));
    const manual = { snapshotGroupName: "clones", clonesAutomation: false, copySpeed: undefined };
    await create(t, cloneBody(1, 2, manual));
    await create(t, cloneBody(3, 4, manual));
    expectSucceeded(
      await t.job("POST", `${groupUrl("clones")}/actions/clone/invoke`, {
        parameters: { copySpeed: "faster" },
      }),
    );
    expect(await read(t, 2, 0, 64 * 1024)).toEqual(fill(0x21));
    expect(await read(t, 4, 0, 64 * 1024)).toEqual(fill(0x23));
    expect((await t.req("GET", groupUrl("clones"))).status).toBe(404); // both pairs done, group gone
  });

  it("DELETE deletes every pair and the group; the job waits for cascade pairs to go", async () => {
    t = await startTiSim({ pairDeleteMs: 80 });
    await volumes(t, [1, 2, 3, 4]);
    const a = await create(t, snapBody(1, 2, { snapshotGroupName: "g" }));
    const b = await create(t, snapBody(3, 4, { snapshotGroupName: "g" }));
    const res = await t.job("DELETE", `${t.scoped}/snapshot-groups/g`);
    expectSucceeded(res);
    expect(res.body.affectedResources).toEqual([
      `/ConfigurationManager/v1/objects/storages/${t.sim.core.config.storageDeviceId}/snapshot-groups/g`,
    ]);
    expect([await status(t, a), await status(t, b)]).toEqual([undefined, undefined]);
    expect((await t.req("GET", groupUrl("g"))).status).toBe(404);
  });

  it("refuses DELETE of a group with a pair in COPY (412)", async () => {
    t = await startTiSim({ tiPairCreateMs: 60_000 });
    await volumes(t, [1, 2]);
    const id = await create(t, snapBody(1, 2, { snapshotGroupName: "g" }), NO_WAIT);
    const res = await t.req("DELETE", groupUrl("g"));
    expect(res.status).toBe(412);
    expect(await status(t, id)).toBe("COPY");
  });
});
