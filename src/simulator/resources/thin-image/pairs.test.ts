import { afterEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import type { TestSim } from "../../test-support/harness.js";
import { seedLdev } from "../../test-support/seed.js";
import type { TiPairState } from "../../state.js";
import {
  DP_POOL,
  NO_WAIT,
  TI_POOL,
  VOLUME_BYTES,
  cloneBody,
  create,
  expectFailed,
  snapBody,
  snapshotsUrl,
  startTiSim,
  volumes,
  waitStatus,
} from "./test-support/kit.js";

let t: TestSim;
afterEach(async () => {
  await t.stop();
});

describe("POST /snapshots", () => {
  it("creates a pair whose id `pvol,mu` ends affectedResources[0], in both URL styles", async () => {
    t = await startTiSim();
    await volumes(t, [10, 11, 12]);
    const scoped = await t.job("POST", `${t.scoped}/snapshots`, snapBody(10, 11));
    expect(scoped.body.state).toBe("Succeeded");
    expect(scoped.body.affectedResources).toEqual([
      `/ConfigurationManager/v1/objects/storages/${t.sim.core.config.storageDeviceId}/snapshots/10,0`,
    ]);
    const short = await t.job("POST", `${t.short}/snapshots`, snapBody(10, 12));
    expect(short.body.affectedResources).toEqual(["/ConfigurationManager/v1/objects/snapshots/10,1"]);

    const got = await t.req("GET", `${t.scoped}/snapshots/10%2C0`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      snapshotGroupName: "HBSD-snap0",
      primaryOrSecondary: "P-VOL",
      status: "PSUS",
      pvolLdevId: 10,
      muNumber: 0,
      svolLdevId: 11,
      snapshotPoolId: DP_POOL,
      snapshotId: "10,0",
      isConsistencyGroup: false,
      isWrittenInSvol: false,
      isClone: false,
      canCascade: true,
      isRedirectOnWrite: false,
      concordanceRate: 100,
      pvolProcessingStatus: "N",
    });
    expect(got.body.splitTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(got.body.consistencyGroupId).toBeUndefined();
    expect(got.body.progressRate).toBeUndefined();

    // The S-VOL reports the snapshot pool and both volumes carry the HTI attribute (§4).
    const svol = await t.req("GET", `${t.short}/ldevs/11`);
    expect(svol.body.snapshotPoolId).toBe(DP_POOL);
    expect(svol.body.attributes).toContain("HTI");
    const pvol = await t.req("GET", `${t.short}/ldevs/10`);
    expect(pvol.body.snapshotPoolId).toBeUndefined();
    expect(pvol.body.attributes).toContain("HTI");
  });

  it("creates a floating snapshot (no S-VOL) in the HTI pool, with svolLdevId left out", async () => {
    t = await startTiSim();
    await volumes(t, [1]);
    const id = await create(t, {
      snapshotGroupName: "g",
      snapshotPoolId: TI_POOL,
      pvolLdevId: 1,
      muNumber: 7,
    });
    expect(id).toBe("1,7");
    const got = await t.req("GET", snapshotsUrl(t, id));
    expect(got.body.status).toBe("PAIR");
    expect("svolLdevId" in got.body).toBe(false);
    expect(got.body.canCascade).toBe(false);
    expect(got.body.splitTime).toBeUndefined();
  });

  it("answers the lowest free MU when none is given", async () => {
    t = await startTiSim();
    await volumes(t, [1]);
    await create(t, { snapshotGroupName: "g", snapshotPoolId: TI_POOL, pvolLdevId: 1, muNumber: 0 });
    await create(t, { snapshotGroupName: "g", snapshotPoolId: TI_POOL, pvolLdevId: 1, muNumber: 2 });
    expect(await create(t, { snapshotGroupName: "g", snapshotPoolId: TI_POOL, pvolLdevId: 1 })).toBe("1,1");
    expect(await create(t, { snapshotGroupName: "g", snapshotPoolId: TI_POOL, pvolLdevId: 1 })).toBe("1,3");
  });

  describe("refuses bad requests with 400 and no job", () => {
    const base = { snapshotGroupName: "g", snapshotPoolId: DP_POOL, pvolLdevId: 1 };
    const cases: [string, Record<string, unknown>, string, string][] = [
      ["no group name", { snapshotPoolId: 0, pvolLdevId: 1 }, "KART20008-E", "snapshotGroupName"],
      ["no pool", { snapshotGroupName: "g", pvolLdevId: 1 }, "KART20008-E", "snapshotPoolId"],
      ["no P-VOL", { snapshotGroupName: "g", snapshotPoolId: 0 }, "KART20008-E", "pvolLdevId"],
      ["empty group name", { ...base, snapshotGroupName: "" }, "KART20003-E", "snapshotGroupName"],
      [
        "33-char group name",
        { ...base, snapshotGroupName: "a".repeat(33) },
        "KART20003-E",
        "snapshotGroupName",
      ],
      ["MU 1024", { ...base, muNumber: 1024 }, "KART20003-E", "muNumber"],
      ["MU -1", { ...base, muNumber: -1 }, "KART20003-E", "muNumber"],
      [
        "autoSplit with isClone",
        { ...base, svolLdevId: 2, isClone: true, autoSplit: true },
        "KART20003-E",
        "autoSplit",
      ],
      [
        "isClone without cascade",
        { ...base, svolLdevId: 2, isClone: true, canCascade: false },
        "KART20003-E",
        "canCascade",
      ],
      [
        "clonesAutomation alone",
        { ...base, svolLdevId: 2, clonesAutomation: true },
        "KART20003-E",
        "clonesAutomation",
      ],
      [
        "copySpeed without automation",
        { ...base, svolLdevId: 2, isClone: true, copySpeed: "faster" },
        "KART20003-E",
        "copySpeed",
      ],
      [
        "bad copySpeed",
        { ...base, svolLdevId: 2, isClone: true, clonesAutomation: true, copySpeed: "warp" },
        "KART20003-E",
        "copySpeed",
      ],
      ["isClone without S-VOL", { ...base, isClone: true }, "KART20008-E", "svolLdevId"],
    ];
    it.each(cases)("%s", async (_name, body, messageId, parameter) => {
      t = await startTiSim();
      await volumes(t, [1, 2]);
      const res = await t.req("POST", snapshotsUrl(t), body);
      expect(res.status).toBe(400);
      expect(res.body.messageId).toBe(messageId);
      expect(res.body.message).toContain(parameter);
      expect(t.sim.core.state.tiPairs).toHaveLength(0);
      expect(t.sim.core.state.snapshotGroups).toHaveLength(0);
    });
  });

  it("accepts a 32-character group name and a copySpeed in any case", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2]);
    const name = "A".repeat(32);
    await create(t, cloneBody(1, 2, { snapshotGroupName: name, copySpeed: "FASTER" }));
    const groups = await t.req("GET", `${t.short}/snapshot-groups`);
    expect(groups.body.data).toEqual([]); // the clone finished at once and took its group with it
  });

  it("answers 404 KART30013-E for an undefined P-VOL or S-VOL", async () => {
    t = await startTiSim();
    await volumes(t, [1]);
    for (const body of [snapBody(5, undefined), snapBody(1, 9)]) {
      const res = await t.req("POST", snapshotsUrl(t), body);
      expect(res.status).toBe(404);
      expect(res.body.messageId).toBe("KART30013-E");
    }
  });

  describe("fails the job with the storage's SSB codes", () => {
    const cases: [string, (t: TestSim) => Promise<Record<string, unknown>>, keyof typeof SSB][] = [
      [
        "unknown snapshot pool",
        () => Promise.resolve(snapBody(1, 2, { snapshotPoolId: 9 })),
        "INVALID_SNAPSHOT_POOL",
      ],
      [
        "S-VOL of another size",
        async (t) => {
          await seedLdev(t.sim.core, 3, VOLUME_BYTES * 2);
          return snapBody(1, 3);
        },
        "INVALID_SVOL",
      ],
      ["S-VOL = P-VOL", () => Promise.resolve(snapBody(1, 1)), "INVALID_SVOL"],
      [
        "S-VOL already an S-VOL",
        async (t) => {
          await create(t, snapBody(1, 2));
          return snapBody(1, 2);
        },
        "LDEV_IN_PAIR",
      ],
      [
        "S-VOL not a DP-VOL (in the HTI pool) for a cascade pair",
        async (t) => {
          await seedLdev(t.sim.core, 4, VOLUME_BYTES, { poolId: TI_POOL });
          return snapBody(1, 4);
        },
        "INVALID_SVOL",
      ],
      [
        "MU in use",
        async (t) => {
          await create(t, snapBody(1, 2, { muNumber: 3 }));
          return snapBody(1, undefined, { muNumber: 3, canCascade: false });
        },
        "MU_IN_USE",
      ],
      [
        "capacity-saving P-VOL without isDataReductionForceCopy",
        async (t) => {
          await seedLdev(t.sim.core, 5, VOLUME_BYTES, { dataReductionMode: "compression" });
          return snapBody(5, undefined, { isDataReductionForceCopy: false, canCascade: false });
        },
        "TI_FORCE_COPY_REQUIRED",
      ],
    ];
    it.each(cases)("%s", async (_name, prepare, ssb) => {
      t = await startTiSim();
      await volumes(t, [1, 2]);
      const body = await prepare(t);
      const before = t.sim.core.state.tiPairs.length;
      const res = await t.job("POST", snapshotsUrl(t), body);
      expectFailed(res, SSB[ssb]);
      expect(res.body.affectedResources).toEqual([]);
      expect(t.sim.core.state.tiPairs).toHaveLength(before);
    });
  });

  it("answers a repeated create of a pair still in COPY with success and changes nothing (matrix YN)", async () => {
    t = await startTiSim({ tiPairCreateMs: 60_000 });
    await volumes(t, [1, 2]);
    const body = snapBody(1, 2, { muNumber: 4 });
    await create(t, body, NO_WAIT);
    const again = await t.job("POST", snapshotsUrl(t), body);
    expect(again.body.state).toBe("Succeeded");
    expect(again.body.affectedResources).toEqual(["/ConfigurationManager/v1/objects/snapshots/1,4"]);
    expect(t.sim.core.state.tiPairs).toHaveLength(1);
    // A different request on that MU is still refused.
    expectFailed(
      await t.job("POST", snapshotsUrl(t), { ...body, snapshotGroupName: "other" }),
      SSB.MU_IN_USE,
    );
  });

  it("allows 1,024 snapshots per P-VOL and refuses the 1,025th", async () => {
    t = await startTiSim();
    await volumes(t, [1]);
    // 1,023 pairs put straight into state (creating them one by one over HTTP only costs time).
    const core = t.sim.core;
    for (let mu = 0; mu < 1023; mu++) core.state.tiPairs.push(floating(1, mu === 500 ? 1023 : mu));
    core.state.snapshotGroups.push({ snapshotGroupName: "bulk", isConsistencyGroup: false });
    core.store.save();
    // MU 500 is the only free one: the 1,024th pair gets it.
    expect(await create(t, { snapshotGroupName: "g", snapshotPoolId: TI_POOL, pvolLdevId: 1 })).toBe("1,500");
    const over = await t.job("POST", snapshotsUrl(t), {
      snapshotGroupName: "g",
      snapshotPoolId: TI_POOL,
      pvolLdevId: 1,
    });
    expectFailed(over, SSB.MAX_SNAPSHOTS_PER_PVOL);
    const list = await t.req("GET", `${snapshotsUrl(t)}?pvolLdevId=1`);
    expect(list.body.data).toHaveLength(1024);
  });

  it("allows 8,192 pairs per snapshot group and refuses the next", async () => {
    t = await startTiSim();
    const core = t.sim.core;
    for (let pvol = 0; pvol < 9; pvol++) await seedLdev(core, pvol, 1024 * 1024);
    for (let pvol = 0; pvol < 8; pvol++) {
      for (let mu = 0; mu < 1024; mu++)
        core.state.tiPairs.push({ ...floating(pvol, mu), snapshotGroupName: "big" });
    }
    core.state.snapshotGroups.push({ snapshotGroupName: "big", isConsistencyGroup: false });
    core.store.save();
    const res = await t.job("POST", snapshotsUrl(t), {
      snapshotGroupName: "big",
      snapshotPoolId: TI_POOL,
      pvolLdevId: 8,
    });
    expectFailed(res, SSB.MAX_PAIRS_IN_CTG);
    await create(t, { snapshotGroupName: "small", snapshotPoolId: TI_POOL, pvolLdevId: 8 });
  });
});

/** A floating snapshot pair in PAIR, for seeding limits. */
function floating(pvol: number, mu: number): TiPairState {
  return {
    pvolLdevId: pvol,
    muNumber: mu,
    snapshotGroupName: "bulk",
    snapshotPoolId: TI_POOL,
    isConsistencyGroup: false,
    isClone: false,
    canCascade: false,
    clonesAutomation: false,
    copySpeed: "medium",
    status: "PAIR",
    isWrittenInSvol: false,
    hasSnapshotData: false,
    createdTime: "2026-01-01T00:00:00Z",
  };
}

describe("waiting for the pair", () => {
  it("with autoSplit, answers after PSUS by default, and at once while COPY with NoWait", async () => {
    t = await startTiSim({ tiPairCreateMs: 250 });
    await volumes(t, [1, 2, 3]);
    const started = Date.now();
    const waited = await t.job("POST", snapshotsUrl(t), snapBody(1, 2));
    expect(waited.body.state).toBe("Succeeded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    const afterWait = await t.req("GET", snapshotsUrl(t, "1,0"));
    expect(afterWait.body.status).toBe("PSUS");

    const quick = await t.job("POST", snapshotsUrl(t), snapBody(1, 3), NO_WAIT);
    expect(quick.body.state).toBe("Succeeded");
    const during = await t.req("GET", snapshotsUrl(t, "1,1"));
    expect(during.body.status).toBe("COPY");
    expect(during.body.progressRate).toBeGreaterThanOrEqual(0);
    expect(during.body.progressRate).toBeLessThan(100);
    await waitStatus(t, "1,1", "PSUS");
  });

  it("resumes a timed COPY after a restart of the simulator", async () => {
    t = await startTiSim({ tiPairCreateMs: 300 });
    await volumes(t, [1, 2]);
    await create(t, snapBody(1, 2), NO_WAIT);
    expect((await t.req("GET", snapshotsUrl(t, "1,0"))).body.status).toBe("COPY");
    const dataDir = t.dataDir;
    await t.stop(false);

    t = await startTiSim({ tiPairCreateMs: 300 }, dataDir);
    const after = await t.req("GET", snapshotsUrl(t, "1,0"));
    expect(["COPY", "PSUS"]).toContain(after.body.status);
    // The autoSplit split (which copies data) runs after the restart too.
    await waitStatus(t, "1,0", "PSUS");
    const pair = t.sim.core.state.tiPairs[0];
    expect(pair?.hasSnapshotData).toBe(true);
    expect(pair?.pending).toBeUndefined();
  });
});
