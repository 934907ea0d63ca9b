/**
 * The bytes: what hosts read from P-VOLs and S-VOLs through snapshot, restore, resync, clone,
 * cascade and delete — checked through the admin data endpoint, as a host would see them.
 */
import { afterEach, describe, expect, it } from "vitest";

import { MIB } from "../../config.js";
import { SSB } from "../../errors.js";
import type { TestSim } from "../../test-support/harness.js";
import {
  DP_POOL,
  NO_WAIT,
  VOLUME_BYTES,
  action,
  cloneBody,
  create,
  expectFailed,
  expectSucceeded,
  fill,
  read,
  sha256,
  sleep,
  snapBody,
  snapshotsUrl,
  startTiSim,
  status,
  volumes,
  waitStatus,
  write,
} from "./test-support/kit.js";

const A = fill(0xaa);
const B = fill(0xbb);
const ZERO = fill(0);

let t: TestSim;
afterEach(async () => {
  await t.stop();
});

describe("snapshot and restore", () => {
  it("keeps the point-in-time image on the S-VOL and restores it onto the P-VOL (autoSplit → PSUS)", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2]);
    await write(t, 1, 0, A);
    await write(t, 1, MIB, A);
    const id = await create(t, snapBody(1, 2));
    await write(t, 1, 0, B);
    await write(t, 1, 2 * MIB, B);
    expect(await read(t, 2, 0, A.length)).toEqual(A);
    expect(await read(t, 2, MIB, A.length)).toEqual(A);
    expect(await read(t, 2, 2 * MIB, B.length)).toEqual(ZERO);

    const restore = await action(t, id, "restore", { autoSplit: true });
    expectSucceeded(restore);
    expect(await status(t, id)).toBe("PSUS");
    expect(await read(t, 1, 0, A.length)).toEqual(A);
    expect(await read(t, 1, 2 * MIB, B.length)).toEqual(ZERO); // written after the snapshot: gone
    expect(await sha256(t, 1)).toBe(await sha256(t, 2));
    // The image is kept: the P-VOL can be changed and restored again.
    await write(t, 1, 0, B);
    expectSucceeded(await action(t, id, "restore", { autoSplit: true }));
    expect(await read(t, 1, 0, A.length)).toEqual(A);
  });

  it("restores a floating snapshot (no S-VOL) and ends in PAIR without autoSplit", async () => {
    t = await startTiSim();
    await volumes(t, [1]);
    await write(t, 1, 0, A);
    const id = await create(t, snapBody(1, undefined, { canCascade: false }));
    await write(t, 1, 0, B);
    expectSucceeded(await action(t, id, "restore", { autoSplit: false }));
    expect(await read(t, 1, 0, A.length)).toEqual(A);
    const got = await t.req("GET", snapshotsUrl(t, id));
    expect(got.body.status).toBe("PAIR");
    expect(got.body.splitTime).toBeUndefined();
    // No snapshot data any more: a restore in PAIR is accepted and does nothing (matrix YN).
    await write(t, 1, 0, B);
    expectSucceeded(await action(t, id, "restore", { autoSplit: true }));
    expect(await read(t, 1, 0, B.length)).toEqual(B);
    expect(await status(t, id)).toBe("PAIR");
  });

  it("reports host writes to the S-VOL (isWrittenInSvol) and restores what the S-VOL holds", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2]);
    await write(t, 1, 0, A);
    const id = await create(t, snapBody(1, 2));
    expect((await t.req("GET", snapshotsUrl(t, id))).body.isWrittenInSvol).toBe(false);
    await sleep(5);
    await write(t, 2, MIB, B);
    expect((await t.req("GET", snapshotsUrl(t, id))).body.isWrittenInSvol).toBe(true);
    expectSucceeded(await action(t, id, "restore", { autoSplit: true }));
    expect(await read(t, 1, 0, A.length)).toEqual(A);
    expect(await read(t, 1, MIB, B.length)).toEqual(B);
  });

  it("resync discards the image and a new split takes the P-VOL as it is then", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2]);
    await write(t, 1, 0, A);
    const id = await create(t, snapBody(1, 2));
    await write(t, 1, 0, B);
    expectSucceeded(await action(t, id, "resync", { autoSplit: true }));
    expect(await status(t, id)).toBe("PSUS");
    expect(await read(t, 2, 0, B.length)).toEqual(B);
    expectSucceeded(await action(t, id, "resync"));
    expect(await status(t, id)).toBe("PAIR");
    await write(t, 1, 0, A);
    expectSucceeded(await action(t, id, "split"));
    expect(await read(t, 2, 0, A.length)).toEqual(A);
  });

  it("counts the stored images in the snapshot pool's usage", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2]);
    await write(t, 1, 0, fill(0x5a, 2 * MIB));
    const id = await create(t, snapBody(1, undefined, { canCascade: false }));
    const pool = await t.req("GET", `${t.short}/pools/${DP_POOL}`);
    expect(pool.body.snapshotCount).toBe(1);
    expect(pool.body.snapshotUsedCapacity).toBe(2);
    expectSucceeded(await action(t, id, "resync"));
    expect((await t.req("GET", `${t.short}/pools/${DP_POOL}`)).body.snapshotUsedCapacity).toBe(0);
  });
});

describe("clones", () => {
  it("makes an independent copy: later writes to the source do not reach it", async () => {
    t = await startTiSim();
    await volumes(t, [1, 9]);
    await write(t, 1, 0, A);
    await write(t, 1, 3 * MIB, A);
    const before = await sha256(t, 1);
    const id = await create(t, cloneBody(1, 9));
    expect(await status(t, id)).toBeUndefined(); // copy done, pair dissolved
    await write(t, 1, 0, B);
    expect(await sha256(t, 9)).toBe(before);
    expect(await read(t, 9, 0, A.length)).toEqual(A);
    const ldev = await t.req("GET", `${t.short}/ldevs/9`);
    expect(ldev.body.snapshotPoolId).toBeUndefined();
    expect(ldev.body.attributes).not.toContain("HTI");
    expect((await t.req("GET", `${snapshotsUrl(t)}?svolLdevId=9`)).body.data).toEqual([]);
  });

  it("restores a snapshot into a new volume: split → assign-volume → cascade clone", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3]);
    await write(t, 1, 0, A);
    await write(t, 1, 2 * MIB, A);
    const imageSha = await sha256(t, 1);
    const snap = await create(t, snapBody(1, undefined)); // floating, cascade-capable, PSUS
    await write(t, 1, 0, B);

    expectSucceeded(await action(t, snap, "assign-volume", { svolLdevId: 2 }));
    expect(await sha256(t, 2)).toBe(imageSha);
    expect((await t.req("GET", `${t.short}/ldevs/2`)).body.snapshotPoolId).toBe(DP_POOL);

    const clone = await create(t, cloneBody(2, 3));
    expect(await status(t, clone)).toBeUndefined();
    expect(await sha256(t, 3)).toBe(imageSha);

    // The snapshot can go now; the new volume keeps its data, the P-VOL keeps the newer data.
    expectSucceeded(await action(t, snap, "unassign-volume"));
    expectSucceeded(await t.job("DELETE", snapshotsUrl(t, snap)));
    expect(await sha256(t, 3)).toBe(imageSha);
    expect(await read(t, 1, 0, B.length)).toEqual(B);
    expect((await t.req("GET", snapshotsUrl(t, snap))).status).toBe(404);
  });

  it("refuses a cascade pair on an S-VOL that is not split yet", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3]);
    const snap = await create(t, snapBody(1, 2, { autoSplit: false }));
    expect(await status(t, snap)).toBe("PAIR");
    expectFailed(await t.job("POST", snapshotsUrl(t), cloneBody(2, 3)), SSB.PAIR_STATUS_FORBIDS);
    // ...and on the S-VOL of a pair that cannot cascade.
    await volumes(t, [4, 5, 6]);
    await create(t, snapBody(4, 5, { canCascade: false, snapshotGroupName: "plain" }));
    expectFailed(await t.job("POST", snapshotsUrl(t), cloneBody(5, 6)), SSB.LDEV_IN_PAIR);
  });

  it("leaves the part of the S-VOL the copy had not reached zeroed when deleted during PSUP", async () => {
    // 4 MiB of data at 0.4 MiB/s (medium): the copy takes 10 s; we delete at about 10 %.
    t = await startTiSim({ cloneMiBPerSecond: 0.4 });
    await volumes(t, [1, 9]);
    await write(t, 1, 0, fill(0xab, VOLUME_BYTES));
    const id = await create(t, cloneBody(1, 9));
    for (;;) {
      const copying = await t.req("GET", snapshotsUrl(t, id));
      expect(copying.body.status).toBe("PSUP");
      if (copying.body.progressRate >= 10) break;
      await sleep(20);
    }
    const deleted = await t.job("DELETE", snapshotsUrl(t, id));
    expectSucceeded(deleted);
    expect(deleted.body.affectedResources).toEqual([`/ConfigurationManager/v1/objects/snapshots/${id}`]);
    expect(await status(t, id)).toBeUndefined();
    // Within the first 10 %: copied. The last 64 KiB: not reached.
    expect(await read(t, 9, 0, 64 * 1024)).toEqual(fill(0xab));
    expect(await read(t, 9, VOLUME_BYTES - 64 * 1024, 64 * 1024)).toEqual(ZERO);
    expect(await sha256(t, 9)).not.toBe(await sha256(t, 1));
  });

  it("copies for allocated bytes / rate: slower takes twice as long as medium", async () => {
    t = await startTiSim({ cloneMiBPerSecond: 16 });
    await volumes(t, [1, 8, 9]);
    await write(t, 1, 0, fill(0x42, 2 * MIB));
    const slow = await create(t, cloneBody(1, 8, { copySpeed: "slower", snapshotGroupName: "c1" }));
    const pending = t.sim.core.state.tiPairs.find((p) => `${p.pvolLdevId},${p.muNumber}` === slow)?.pending;
    expect(pending && pending.at - pending.from).toBe(250); // 2 MiB at 8 MiB/s
    const fast = await create(t, cloneBody(1, 9, { copySpeed: "faster", snapshotGroupName: "c2" }));
    const fastPending = t.sim.core.state.tiPairs.find(
      (p) => `${p.pvolLdevId},${p.muNumber}` === fast,
    )?.pending;
    expect(fastPending && fastPending.at - fastPending.from).toBe(63); // 2 MiB at 32 MiB/s, rounded up
    await waitStatus(t, slow, undefined);
    expect(await read(t, 8, 0, 64 * 1024)).toEqual(fill(0x42));
  });

  it("refuses to delete snapshot A while a cascade clone copies from its S-VOL, and allows it after", async () => {
    t = await startTiSim({ cloneMiBPerSecond: 2 });
    await volumes(t, [1, 2, 3]);
    await write(t, 1, 0, fill(0xcd, 2 * MIB)); // 1 s of copy
    const snap = await create(t, snapBody(1, 2));
    const clone = await create(t, cloneBody(2, 3), NO_WAIT);
    expect(await status(t, clone)).toBe("PSUP");
    const refusedDelete = await t.req("DELETE", snapshotsUrl(t, snap));
    expect(refusedDelete.status).toBe(412);
    expect(refusedDelete.body.message).toContain("is copying from its S-VOL");
    const refusedResync = await action(t, snap, "resync");
    expect(refusedResync.status).toBe(412);
    expect(await read(t, 2, 0, 64 * 1024)).toEqual(fill(0xcd));

    await waitStatus(t, clone, undefined, 10_000);
    expectSucceeded(await t.job("DELETE", snapshotsUrl(t, snap)));
    expect(await read(t, 3, 0, 64 * 1024)).toEqual(fill(0xcd));
    // The snapshot's S-VOL held no data of its own: it reads zeros now.
    expect(await read(t, 2, 0, 64 * 1024)).toEqual(ZERO);
  });
});
