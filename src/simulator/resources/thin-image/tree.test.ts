/**
 * Snapshot-tree services (D-TI-TREE, §5) and deleting inside a cascade.
 */
import { afterEach, describe, expect, it } from "vitest";

import { MIB } from "../../config.js";
import { SSB } from "../../errors.js";
import type { TestSim } from "../../test-support/harness.js";
import {
  action,
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

const treeDelete = (ldevId: unknown, scoped = false) =>
  t.job(
    "POST",
    `${t.base}${scoped ? `/${t.sim.core.config.storageDeviceId}` : ""}/services/snapshot-tree/actions/delete/invoke`,
    { parameters: { ldevId } },
  );

/**
 * Root 1 with: snapshot A (1 → 2, cascade) and below it B (2 → 3); clone C (1 → 4) copying, and
 * below its S-VOL a snapshot D (4, floating). An unrelated pair E on volume 5.
 */
async function buildTree(): Promise<Record<"A" | "B" | "C" | "D" | "E", string>> {
  // 128 KiB at 0.001 MiB/s: the clone copies for two minutes.
  t = await startTiSim({ cloneMiBPerSecond: 0.001 });
  await volumes(t, [1, 2, 3, 4, 5, 6]);
  await write(t, 1, 0, fill(0x10));
  await write(t, 1, 3 * MIB, fill(0x10));
  const A = await create(t, snapBody(1, 2));
  const B = await create(t, snapBody(2, 3, { snapshotGroupName: "lower" }));
  const C = await create(t, cloneBody(1, 4));
  expect(await status(t, C)).toBe("PSUP");
  const D = await create(t, snapBody(4, undefined, { snapshotGroupName: "under-clone" }));
  const E = await create(t, snapBody(5, 6, { snapshotGroupName: "other" }));
  return { A, B, C, D, E };
}

describe("snapshot-tree delete", () => {
  it("force-deletes the tree; pairs below a clone's S-VOL go PSUE; other trees stay", async () => {
    const { A, B, C, D, E } = await buildTree();
    // A normal delete of A is refused while B cascades from A's S-VOL.
    expectFailed(await t.job("DELETE", snapshotsUrl(t, A)), SSB.LDEV_IN_PAIR);

    const res = await treeDelete(1, true);
    expectSucceeded(res);
    expect(res.body.affectedResources).toEqual([
      `/ConfigurationManager/v1/objects/storages/${t.sim.core.config.storageDeviceId}/ldevs/1`,
    ]);
    expect([await status(t, A), await status(t, B), await status(t, C)]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(await status(t, D)).toBe("PSUE");
    expect(await status(t, E)).toBe("PSUS");
    // The clone was stopped early: its S-VOL content is not guaranteed (zeros where not copied).
    expect(await read(t, 4, 3 * MIB, 64 * 1024)).toEqual(fill(0));
    expect(await read(t, 1, 3 * MIB, 64 * 1024)).toEqual(fill(0x10));
    for (const ldev of [2, 3]) {
      expect((await t.req("GET", `${t.short}/ldevs/${ldev}`)).body.snapshotPoolId).toBeUndefined();
    }
    // D in PSUE can be deleted.
    expectSucceeded(await t.job("DELETE", snapshotsUrl(t, D)));
  });

  it("succeeds without change for an LDEV with no pairs, and refuses bad input", async () => {
    t = await startTiSim();
    await volumes(t, [1]);
    expectSucceeded(await treeDelete(1));
    const missing = await treeDelete(7);
    expect(missing.status).toBe(404);
    expect(missing.body.messageId).toBe("KART30013-E");
    const noId = await t.req("POST", `${t.base}/services/snapshot-tree/actions/delete/invoke`, {
      parameters: {},
    });
    expect(noId.status).toBe(400);
    expect(noId.body.messageId).toBe("KART20008-E");
  });
});

describe("delete-garbage-data", () => {
  const url = () => `${t.base}/services/snapshot-tree/actions/delete-garbage-data/invoke`;

  it("runs as a job that changes nothing", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2]);
    await write(t, 1, 0, fill(0x99));
    const id = await create(t, snapBody(1, 2));
    for (const operationType of ["start", "stop"]) {
      expectSucceeded(await t.job("POST", url(), { parameters: { ldevId: 1, operationType } }));
    }
    expect(await status(t, id)).toBe("PSUS");
    expect(await read(t, 2, 0, 64 * 1024)).toEqual(fill(0x99));
  });

  it.each([
    [{ ldevId: 1, operationType: "pause" }, 400, "KART20003-E"],
    [{ ldevId: 1 }, 400, "KART20008-E"],
    [{ ldevId: 8, operationType: "start" }, 404, "KART30013-E"],
  ])("refuses %j with %i %s", async (parameters, code, messageId) => {
    t = await startTiSim();
    await volumes(t, [1]);
    const res = await t.req("POST", url(), { parameters });
    expect(res.status).toBe(code);
    expect(res.body.messageId).toBe(messageId);
  });
});

describe("unassign-volume in a cascade", () => {
  it("is refused while the S-VOL is the P-VOL of a lower pair, and keeps S-VOL writes as snapshot data", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3, 4]);
    await write(t, 1, 0, fill(0x01));
    const a = await create(t, snapBody(1, 2));
    const b = await create(t, snapBody(2, undefined, { snapshotGroupName: "lower" }));
    expectFailed(await action(t, a, "unassign-volume"), SSB.LDEV_IN_PAIR);
    expectSucceeded(await t.job("DELETE", snapshotsUrl(t, b)));

    await write(t, 2, 0, fill(0x02)); // a host writes the snapshot through its S-VOL
    expectSucceeded(await action(t, a, "unassign-volume"));
    expect((await t.req("GET", snapshotsUrl(t, a))).body.svolLdevId).toBeUndefined();
    expect(await read(t, 2, 0, 64 * 1024)).toEqual(fill(0));
    expectSucceeded(await action(t, a, "assign-volume", { svolLdevId: 3 }));
    expect(await read(t, 3, 0, 64 * 1024)).toEqual(fill(0x02));
    // assign-volume on a pair that has an S-VOL: 412.
    expect((await action(t, a, "assign-volume", { svolLdevId: 4 })).status).toBe(412);
  });
});
