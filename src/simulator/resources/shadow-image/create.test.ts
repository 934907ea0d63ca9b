import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import { affectedId } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";
import { seedLdev } from "../../test-support/seed.js";
import {
  createPair,
  expectFailed,
  getPair,
  groupIdFor,
  groupUrl,
  pairBody,
  pairIdFor,
  startSiSim,
  volumes,
  VOLUME_BYTES,
} from "./test-support/kit.js";

let t: TestSim;
beforeEach(async () => {
  t = await startSiSim();
  await volumes(t, [10, 11, 12, 13, 14, 15, 16]);
});
afterEach(async () => {
  await t.stop();
});

const post = (body: unknown) => t.job("POST", `${t.scoped}/local-clone-copypairs`, body);

describe("POST /local-clone-copypairs", () => {
  it("creates the pair and its new copy group, and answers the pair URL", async () => {
    const body = pairBody(10, 11);
    const res = await post(body);
    expect(res.body.state).toBe("Succeeded");
    const url = res.body.affectedResources[0] as string;
    expect(url).toContain("/objects/storages/886000123456/local-clone-copypairs/");
    expect(affectedId(res.body)).toBe("CG_10_11,CG_10_11P_,CG_10_11S_,CP_10_11");

    const pair = await getPair(t, pairIdFor(body));
    expect(pair).toEqual({
      localCloneCopypairId: "CG_10_11,CG_10_11P_,CG_10_11S_,CP_10_11",
      copyGroupName: "CG_10_11",
      copyPairName: "CP_10_11",
      replicationType: "SI",
      pvolLdevId: 10,
      svolLdevId: 11,
      pvolDeviceGroupName: "CG_10_11P_",
      svolDeviceGroupName: "CG_10_11S_",
      pvolStatus: "PAIR",
      svolStatus: "PAIR",
      pvolMuNumber: 0,
      copyPace: 3,
      copyProgressRate: 100,
      isConsistencyGroup: false,
    });

    const groups = await t.req("GET", `${t.short}/local-clone-copygroups`);
    expect(groups.body.data).toEqual([
      {
        localCloneCopygroupId: "CG_10_11,CG_10_11P_,CG_10_11S_",
        copyGroupName: "CG_10_11",
        pvolDeviceGroupName: "CG_10_11P_",
        svolDeviceGroupName: "CG_10_11S_",
      },
    ]);
    const group = await t.req("GET", groupUrl(t, groupIdFor(body)));
    expect(group.body.copyPairs.map((p: { copyPairName: string }) => p.copyPairName)).toEqual(["CP_10_11"]);
  });

  it("adds a pair to an existing group and lists both by group id", async () => {
    const first = pairBody(10, 11);
    await createPair(t, first);
    const second = {
      ...first,
      copyPairName: "CP_12_13",
      pvolLdevId: 12,
      svolLdevId: 13,
      isNewGroupCreation: false,
    };
    await createPair(t, second);

    const id = groupIdFor(first);
    const list = await t.req(
      "GET",
      `${t.scoped}/local-clone-copypairs?localCloneCopyGroupId=${id}&refresh=true`,
    );
    expect(list.status).toBe(200);
    expect(list.body.data.map((p: { svolLdevId: number }) => p.svolLdevId)).toEqual([11, 13]);
    const detailed = await t.req("GET", `${t.short}/local-clone-copygroups?detailInfoType=pair`);
    expect(detailed.body.data[0].copyPairs).toHaveLength(2);
  });

  it("refuses a new group whose name exists and an existing group that does not", async () => {
    await createPair(t, pairBody(10, 11));
    expectFailed(await post({ ...pairBody(12, 13), copyGroupName: "CG_10_11" }), SSB.SI_GROUP_EXISTS);
    expectFailed(await post(pairBody(12, 13, { isNewGroupCreation: false })), SSB.SI_GROUP_NOT_FOUND);
    // Same group name, other device groups: not the group that exists.
    const other = { ...pairBody(12, 13), copyGroupName: "CG_10_11", isNewGroupCreation: false };
    expectFailed(await post(other), SSB.SI_GROUP_NOT_FOUND);
    const dup = { ...pairBody(10, 11), svolLdevId: 12, isNewGroupCreation: false };
    expectFailed(await post(dup), SSB.SI_PAIR_NAME_IN_USE);
    const list = await t.req("GET", `${t.short}/local-clone-copygroups`);
    expect(list.body.data).toHaveLength(1);
  });

  const long = "x".repeat(32);
  it.each([
    ["a missing copyGroupName", { copyGroupName: undefined }, "KART20008-E", "copyGroupName"],
    ["a missing svolLdevId", { svolLdevId: undefined }, "KART20008-E", "svolLdevId"],
    ["a 32-character copy group name", { copyGroupName: long }, "KART20003-E", "copyGroupName"],
    ["a 32-character pair name", { copyPairName: long }, "KART20003-E", "copyPairName"],
    ["a 32-character device group name", { svolDeviceGroupName: long }, "KART20003-E", "svolDeviceGroupName"],
    ["a comma in a name", { copyPairName: "a,b" }, "KART20003-E", "copyPairName"],
    ["a name starting with -", { copyGroupName: "-x" }, "KART20003-E", "copyGroupName"],
    ["replicationType TC", { replicationType: "TC" }, "KART20003-E", "replicationType"],
    ["copyPace 0", { copyPace: 0 }, "KART20003-E", "copyPace"],
    ["copyPace 16", { copyPace: 16 }, "KART20003-E", "copyPace"],
    ["pvolMuNumber 3", { pvolMuNumber: 3 }, "KART20003-E", "pvolMuNumber"],
    ["consistencyGroupId 128", { consistencyGroupId: 128 }, "KART20003-E", "consistencyGroupId"],
    ["the same P-VOL and S-VOL", { svolLdevId: 10 }, "KART20003-E", "svolLdevId"],
    ["an LDEV id beyond the array's range", { svolLdevId: 70_000 }, "KART20003-E", "svolLdevId"],
    ["an unknown copyMode", { copyMode: "Fast" }, "KART20003-E", "copyMode"],
    ["an unknown key", { colour: "blue" }, "KART20003-E", "body"],
  ])("answers 400 for %s", async (_what, change, messageId, parameter) => {
    const res = await post({ ...pairBody(10, 11), ...change });
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe(messageId);
    expect(res.body.message).toContain(`parameter name = ${parameter}`);
    expect(t.sim.core.state.siPairs).toHaveLength(0);
  });

  it("accepts the names at exactly 31 characters and explicit nulls for unset options", async () => {
    const n = "n".repeat(31);
    const body = {
      ...pairBody(10, 11),
      copyGroupName: n,
      copyPairName: n,
      pvolDeviceGroupName: `${"p".repeat(30)}_`,
      svolDeviceGroupName: `${"s".repeat(30)}_`,
      copyPace: null,
    };
    await createPair(t, body);
    expect((await getPair(t, pairIdFor(body))).copyPace).toBe(3);
  });

  it("refuses volumes that are undefined, of different sizes or already paired", async () => {
    await seedLdev(t.sim.core, 20, VOLUME_BYTES * 2);
    expectFailed(await post(pairBody(10, 99)), SSB.SI_LDEV_UNDEFINED);
    expectFailed(await post(pairBody(99, 10)), SSB.SI_LDEV_UNDEFINED);
    expectFailed(await post(pairBody(10, 20)), SSB.SI_CAPACITY_MISMATCH);
    await createPair(t, pairBody(10, 11));
    // 11 is an S-VOL already; 10 is a P-VOL; 11 as a P-VOL would be a cascade.
    expectFailed(await post(pairBody(12, 11)), SSB.LDEV_IN_PAIR);
    expectFailed(await post(pairBody(12, 10)), SSB.LDEV_IN_PAIR);
    expectFailed(await post(pairBody(11, 12)), SSB.LDEV_IN_PAIR);
    expect(t.sim.core.state.siPairs).toHaveLength(1);
    expect(t.sim.core.state.siCopyGroups).toHaveLength(1);
  });

  it("gives a P-VOL at most three pairs, MU 0-2, and refuses an MU in use", async () => {
    await createPair(t, pairBody(10, 11, { pvolMuNumber: 1 }));
    await createPair(t, pairBody(10, 12));
    expectFailed(await post(pairBody(10, 13, { pvolMuNumber: 0 })), SSB.MU_IN_USE);
    await createPair(t, pairBody(10, 13));
    expectFailed(await post(pairBody(10, 14)), SSB.MU_IN_USE);
    const mus = await Promise.all(
      [11, 12, 13].map(async (s) => (await getPair(t, pairIdFor(pairBody(10, s)))).pvolMuNumber as number),
    );
    expect(mus).toEqual([1, 0, 2]);
  });

  it("requires isDataReductionForceCopy for capacity-saving volumes", async () => {
    await seedLdev(t.sim.core, 30, VOLUME_BYTES, { dataReductionMode: "compression" });
    expectFailed(await post(pairBody(30, 11)), SSB.SI_FORCE_COPY_REQUIRED);
    await createPair(t, pairBody(30, 11, { isDataReductionForceCopy: true }));
  });

  it("refuses a pair whose S-VOL pool is full", async () => {
    await t.admin("PUT", "/simulator/faults", { poolFull: [0] });
    expectFailed(await post(pairBody(10, 11)), SSB.POOL_FULL);
  });

  it("makes consistency groups with free CTG ids (0-127) and keeps them per group", async () => {
    await createPair(t, pairBody(10, 11, { isConsistencyGroup: true }));
    await createPair(t, pairBody(12, 13, { consistencyGroupId: 5 }));
    await createPair(t, pairBody(14, 15, { isConsistencyGroup: true }));
    const ctg = async (p: number, s: number): Promise<unknown[]> => {
      const pair = await getPair(t, pairIdFor(pairBody(p, s)));
      return [pair.isConsistencyGroup as boolean, pair.consistencyGroupId as number];
    };
    expect(await ctg(10, 11)).toEqual([true, 0]);
    expect(await ctg(12, 13)).toEqual([true, 5]);
    expect(await ctg(14, 15)).toEqual([true, 1]);
    await seedLdev(t.sim.core, 17, VOLUME_BYTES);
    expectFailed(await post(pairBody(16, 17, { consistencyGroupId: 5 })), SSB.SI_CTG_CONFLICT);

    const joined = { ...pairBody(12, 13), copyPairName: "second", pvolLdevId: 16, svolLdevId: 17 };
    expectFailed(
      await post({ ...joined, isNewGroupCreation: false, isConsistencyGroup: false }),
      SSB.SI_CTG_CONFLICT,
    );
    // Joining the group without CTG settings puts the pair in the group's consistency group.
    await createPair(t, { ...joined, isNewGroupCreation: false });
    const list = await t.req(
      "GET",
      `${t.short}/local-clone-copypairs?localCloneCopyGroupId=${groupIdFor(joined)}`,
    );
    expect(list.body.data.map((p: { consistencyGroupId: number }) => p.consistencyGroupId)).toEqual([5, 5]);
  });

  it("answers 400 for consistencyGroupId with isConsistencyGroup false", async () => {
    const res = await post(pairBody(10, 11, { isConsistencyGroup: false, consistencyGroupId: 3 }));
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe("KART20003-E");
  });
});

describe("GET pairs and groups", () => {
  it("requires the copy group id to list pairs and answers 404 for unknown objects", async () => {
    const noFilter = await t.req("GET", `${t.short}/local-clone-copypairs`);
    expect(noFilter.status).toBe(400);
    expect(noFilter.body.messageId).toBe("KART20008-E");
    const unknown = await t.req("GET", `${t.short}/local-clone-copypairs?localCloneCopyGroupId=a,b,c`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.messageId).toBe("KART30013-E");
    const badRefresh = await t.req(
      "GET",
      `${t.short}/local-clone-copypairs?localCloneCopyGroupId=a,b,c&refresh=yes`,
    );
    expect(badRefresh.status).toBe(400);

    for (const url of [
      `${t.short}/local-clone-copypairs/a,b,c,d`,
      `${t.scoped}/local-clone-copygroups/a,b,c`,
    ]) {
      const res = await t.req("GET", url);
      expect(res.status).toBe(404);
      expect(res.body.messageId).toBe("KART30013-E");
    }
    const malformed = await t.req("GET", `${t.short}/local-clone-copypairs/a,b`);
    expect(malformed.status).toBe(400);
    expect(malformed.body.messageId).toBe("KART20005-E");
  });

  it("finds a pair by its percent-encoded id as well as by the raw one", async () => {
    const id = await createPair(t, pairBody(10, 11));
    const res = await t.req("GET", `${t.scoped}/local-clone-copypairs/${encodeURIComponent(id)}`);
    expect(res.status).toBe(200);
    expect(res.body.localCloneCopypairId).toBe(id);
  });
});
