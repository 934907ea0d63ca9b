import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import { iqnFor } from "../../state.js";
import { affectedId, startTestSim } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";
import { seedLdev } from "../../test-support/seed.js";
import {
  createGroup,
  expectFailedJob,
  expectNotFound,
  expectRejected,
  mapLun,
} from "./test-support/fixtures.js";

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
});
afterEach(async () => {
  await t.stop();
});

describe("POST /host-groups", () => {
  it("creates an FC host group at the lowest free number, ending affectedResources with port,number", async () => {
    const res = await t.job("POST", `${t.scoped}/host-groups`, { portId: "CL1-A", hostGroupName: "HBSD-a" });
    expect(res.body.state).toBe("Succeeded");
    expect(res.body.affectedResources).toEqual([
      `/ConfigurationManager/v1/objects/storages/886000123456/host-groups/CL1-A,1`,
    ]);
    const second = await createGroup(t, { portId: "CL1-A", hostGroupName: "HBSD-b" });
    expect(second).toBe(2);
    const got = await t.req("GET", `${t.short}/host-groups/CL1-A,1`);
    expect(got.body).toEqual({
      hostGroupId: "CL1-A,1",
      portId: "CL1-A",
      hostGroupNumber: 1,
      hostGroupName: "HBSD-a",
      hostMode: "LINUX/IRIX",
      hostModeOptions: [],
    });
  });

  it("takes an explicit number, host mode and options", async () => {
    const n = await createGroup(t, {
      portId: "CL2-A",
      hostGroupName: "win-hosts",
      hostGroupNumber: 200,
      hostMode: "WIN_EX",
      hostModeOptions: [91, 2, 91],
    });
    expect(n).toBe(200);
    const got = await t.req("GET", `${t.scoped}/host-groups/CL2-A%2C200`);
    expect(got.body).toMatchObject({ hostGroupNumber: 200, hostMode: "WIN_EX", hostModeOptions: [2, 91] });
  });

  it("fills the gap left by a deleted group", async () => {
    await createGroup(t, { portId: "CL1-A", hostGroupName: "a" });
    await createGroup(t, { portId: "CL1-A", hostGroupName: "b" });
    expect((await t.job("DELETE", `${t.short}/host-groups/CL1-A,1`)).body.state).toBe("Succeeded");
    expect(await createGroup(t, { portId: "CL1-A", hostGroupName: "c" })).toBe(1);
  });

  it("gives an iSCSI target the array's own IQN when none is given", async () => {
    const n = await createGroup(t, { portId: "CL3-A", hostGroupName: "HBSD-10.0.0.1" });
    const got = await t.req("GET", `${t.short}/host-groups/CL3-A,${n}`);
    expect(got.body).toMatchObject({
      iscsiName: iqnFor("886000123456", "CL3-A", n),
      authenticationMode: "NONE",
      iscsiTargetDirection: "S",
    });
  });

  it("keeps the target IQN Cinder gives (initiator + suffix)", async () => {
    const iqn = "iqn.1993-08.org.debian:01:abcdef.hbsd-target";
    const n = await createGroup(t, { portId: "CL4-A", hostGroupName: "HBSD-10.0.0.2", iscsiName: iqn });
    expect((await t.req("GET", `${t.short}/host-groups/CL4-A,${n}`)).body.iscsiName).toBe(iqn);
  });

  it("accepts TF's iscsiName: null on an FC port", async () => {
    await createGroup(t, { portId: "CL1-A", hostGroupName: "tf", iscsiName: null });
  });

  it.each([
    [
      "a used number",
      { portId: "CL1-A", hostGroupName: "dup-n", hostGroupNumber: 1 },
      SSB.HOST_GROUP_NUMBER_IN_USE,
    ],
    [
      "group number 0",
      { portId: "CL1-A", hostGroupName: "zero", hostGroupNumber: 0 },
      SSB.HOST_GROUP_NUMBER_IN_USE,
    ],
    ["a used name on the same port", { portId: "CL1-A", hostGroupName: "first" }, SSB.HOST_GROUP_NAME_IN_USE],
  ])("fails the job for %s", async (_what, body, ssb) => {
    await createGroup(t, { portId: "CL1-A", hostGroupName: "first" });
    expectFailedJob(await t.job("POST", `${t.scoped}/host-groups`, body), ssb);
    const list = await t.req("GET", `${t.short}/host-groups?portId=CL1-A`);
    expect(list.body.data).toHaveLength(2);
  });

  it("allows the same name on another port", async () => {
    await createGroup(t, { portId: "CL1-A", hostGroupName: "same" });
    expect(await createGroup(t, { portId: "CL2-A", hostGroupName: "same" })).toBe(1);
  });

  it("fails the job when a target IQN is already used on the port", async () => {
    const iqn = "iqn.2000-01.com.example:t1";
    await createGroup(t, { portId: "CL3-A", hostGroupName: "t1", iscsiName: iqn });
    const res = await t.job("POST", `${t.short}/host-groups`, {
      portId: "CL3-A",
      hostGroupName: "t2",
      iscsiName: iqn,
    });
    expectFailedJob(res, SSB.TARGET_ISCSI_NAME_IN_USE);
    // Another port may use the same target name (Cinder does, one per port).
    await createGroup(t, { portId: "CL4-A", hostGroupName: "t1", iscsiName: iqn });
  });

  it("fails with NO_FREE_HOST_GROUP_NUMBER when all 255 numbers are used", async () => {
    const state = t.sim.core.state;
    for (let n = 1; n <= 254; n++) {
      state.hostGroups.push({
        portId: "CL2-A",
        hostGroupNumber: n,
        hostGroupName: `g${n}`,
        hostMode: "LINUX/IRIX",
        hostModeOptions: [],
      });
    }
    const res = await t.job("POST", `${t.short}/host-groups`, {
      portId: "CL2-A",
      hostGroupName: "one-too-many",
    });
    expectFailedJob(res, SSB.NO_FREE_HOST_GROUP_NUMBER);
  });

  it.each([
    ["no portId", { hostGroupName: "x" }, "KART20008-E"],
    ["no name", { portId: "CL1-A" }, "KART20008-E"],
    ["a 65-character FC name", { portId: "CL1-A", hostGroupName: "a".repeat(65) }, "KART20003-E"],
    ["a 33-character iSCSI name", { portId: "CL3-A", hostGroupName: "a".repeat(33) }, "KART20003-E"],
    ["a name starting with -", { portId: "CL1-A", hostGroupName: "-x" }, "KART20003-E"],
    ["an unknown host mode", { portId: "CL1-A", hostGroupName: "x", hostMode: "LINUX" }, "KART20003-E"],
    ["number 255", { portId: "CL1-A", hostGroupName: "x", hostGroupNumber: 255 }, "KART20003-E"],
    [
      "an iscsiName on an FC port",
      { portId: "CL1-A", hostGroupName: "x", iscsiName: "iqn.2000-01.com.a:b" },
      "KART20003-E",
    ],
    ["a malformed target IQN", { portId: "CL3-A", hostGroupName: "x", iscsiName: "target-1" }, "KART20003-E"],
  ])("rejects %s with 400 and no job", async (_what, body, messageId) => {
    expectRejected(await t.req("POST", `${t.short}/host-groups`, body), 400, messageId);
  });

  it("rejects an unknown port with 404 KART30013-E", async () => {
    expectNotFound(await t.req("POST", `${t.short}/host-groups`, { portId: "CL5-A", hostGroupName: "x" }));
  });
});

describe("GET /host-groups", () => {
  it("lists a port's groups including group 0, with iscsiName on iSCSI targets", async () => {
    await createGroup(t, { portId: "CL3-A", hostGroupName: "HBSD-1.2.3.4" });
    const res = await t.req("GET", `${t.scoped}/host-groups?portId=CL3-A`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((g: { hostGroupId: string }) => g.hostGroupId)).toEqual(["CL3-A,0", "CL3-A,1"]);
    expect(res.body.data[0].hostGroupName).toBe("CL3-A-G00");
    for (const g of res.body.data) expect(g.iscsiName).toMatch(/^iqn\./);
  });

  it("lists every port's groups without a portId (TF GetAllHostGroups)", async () => {
    const res = await t.req("GET", `${t.short}/host-groups`);
    expect(res.body.data.map((g: { hostGroupId: string }) => g.hostGroupId)).toEqual([
      "CL1-A,0",
      "CL2-A,0",
      "CL3-A,0",
      "CL4-A,0",
    ]);
  });

  it("adds resourceGroupId with detailInfoType=resourceGroup", async () => {
    const res = await t.req("GET", `${t.short}/host-groups?portId=CL1-A&detailInfoType=resourceGroup`);
    expect(res.body.data[0].resourceGroupId).toBe(0);
  });

  it("lists the free numbers with isUndefined=true", async () => {
    await createGroup(t, { portId: "CL1-A", hostGroupName: "a" });
    const res = await t.req("GET", `${t.short}/host-groups?portId=CL1-A&isUndefined=true`);
    expect(res.body.data).toHaveLength(253);
    expect(res.body.data[0]).toEqual({
      hostGroupId: "CL1-A,2",
      portId: "CL1-A",
      hostGroupNumber: 2,
      isDefined: false,
      resourceGroupId: 0,
    });
  });

  it.each([
    ["an unknown port", `host-groups?portId=CL9-A`, 404, "KART30013-E"],
    ["an undefined group", `host-groups/CL1-A,7`, 404, "KART30013-E"],
    ["a malformed id", `host-groups/CL1-A`, 400, "KART20005-E"],
    ["a group number out of range", `host-groups/CL1-A,300`, 400, "KART20005-E"],
  ])("answers %s with the array's error", async (_what, path, status, messageId) => {
    expectRejected(await t.req("GET", `${t.short}/${path}`), status, messageId);
  });
});

describe("PATCH /host-groups/{id}", () => {
  it("sets host mode and options with Cinder's legacy PUT", async () => {
    const n = await createGroup(t, { portId: "CL1-A", hostGroupName: "HBSD-x" });
    const res = await t.job("PUT", `${t.scoped}/host-groups/CL1-A,${n}`, {
      hostMode: "LINUX/IRIX",
      hostModeOptions: [91],
    });
    expect(res.body.state).toBe("Succeeded");
    expect(affectedId(res.body)).toBe(`CL1-A,${n}`);
    expect((await t.req("GET", `${t.short}/host-groups/CL1-A,${n}`)).body.hostModeOptions).toEqual([91]);
  });

  it("replaces the options, and [-1] clears them", async () => {
    const n = await createGroup(t, { portId: "CL3-A", hostGroupName: "t", hostModeOptions: [83, 91] });
    await t.job("PATCH", `${t.short}/host-groups/CL3-A,${n}`, { hostModeOptions: [2] });
    expect((await t.req("GET", `${t.short}/host-groups/CL3-A,${n}`)).body.hostModeOptions).toEqual([2]);
    await t.job("PATCH", `${t.short}/host-groups/CL3-A,${n}`, { hostModeOptions: [-1] });
    expect((await t.req("GET", `${t.short}/host-groups/CL3-A,${n}`)).body.hostModeOptions).toEqual([]);
  });

  it("renames a group, but not onto another group's name", async () => {
    await createGroup(t, { portId: "CL1-A", hostGroupName: "a" });
    await createGroup(t, { portId: "CL1-A", hostGroupName: "b" });
    expectFailedJob(
      await t.job("PATCH", `${t.short}/host-groups/CL1-A,2`, { hostGroupName: "a" }),
      SSB.HOST_GROUP_NAME_IN_USE,
    );
    expect((await t.job("PATCH", `${t.short}/host-groups/CL1-A,2`, { hostGroupName: "c" })).body.state).toBe(
      "Succeeded",
    );
    expect((await t.req("GET", `${t.short}/host-groups/CL1-A,2`)).body.hostGroupName).toBe("c");
  });

  it("sets CHAP authentication on an iSCSI target but not on an FC group", async () => {
    const n = await createGroup(t, { portId: "CL3-A", hostGroupName: "t" });
    await t.job("PATCH", `${t.short}/host-groups/CL3-A,${n}`, {
      authenticationMode: "CHAP",
      iscsiTargetDirection: "D",
    });
    const got = await t.req("GET", `${t.short}/host-groups/CL3-A,${n}`);
    expect(got.body).toMatchObject({ authenticationMode: "CHAP", iscsiTargetDirection: "D" });
    expectRejected(
      await t.req("PATCH", `${t.short}/host-groups/CL1-A,0`, { authenticationMode: "CHAP" }),
      400,
      "KART20003-E",
    );
  });

  it.each([
    ["an unknown host mode", { hostMode: "BEOS" }, 400, "KART20003-E"],
    ["an option out of range", { hostModeOptions: [999] }, 400, "KART20003-E"],
    ["an empty body", {}, 400, "KART20008-E"],
  ])("rejects %s", async (_what, body, status, messageId) => {
    expectRejected(await t.req("PATCH", `${t.short}/host-groups/CL1-A,0`, body), status, messageId);
  });

  it("answers 404 for an undefined group", async () => {
    expectNotFound(await t.req("PATCH", `${t.short}/host-groups/CL1-A,9`, { hostMode: "WIN" }));
  });
});

describe("DELETE /host-groups/{id}", () => {
  it("deletes the group with its WWNs and LU paths, leaving the LDEV and other paths", async () => {
    await seedLdev(t.sim.core, 10, 1024 * 1024);
    const n = await createGroup(t, { portId: "CL1-A", hostGroupName: "gone" });
    const keep = await createGroup(t, { portId: "CL2-A", hostGroupName: "kept" });
    await t.job("POST", `${t.short}/host-wwns`, {
      hostWwn: "1000000000000001",
      portId: "CL1-A",
      hostGroupNumber: n,
    });
    await mapLun(t, { portId: "CL1-A", hostGroupNumber: n, ldevId: 10 });
    await mapLun(t, { portId: "CL2-A", hostGroupNumber: keep, ldevId: 10 });

    const res = await t.job("DELETE", `${t.scoped}/host-groups/CL1-A,${n}`);
    expect(res.body.state).toBe("Succeeded");
    expect(affectedId(res.body)).toBe(`CL1-A,${n}`);
    expectNotFound(await t.req("GET", `${t.short}/host-groups/CL1-A,${n}`));
    const state = t.sim.core.state;
    expect(state.luns).toEqual([{ portId: "CL2-A", hostGroupNumber: keep, lun: 0, ldevId: 10 }]);
    expect(state.hostWwns).toEqual([]);
    expect(state.ldevs["10"]).toBeDefined();
    // The freed WWN may now go into another group of the port.
    const again = await t.job("POST", `${t.short}/host-wwns`, {
      hostWwn: "1000000000000001",
      portId: "CL1-A",
      hostGroupNumber: 0,
    });
    expect(again.body.state).toBe("Succeeded");
  });

  it("refuses to delete group 0 with a Failed job", async () => {
    expectFailedJob(await t.job("DELETE", `${t.short}/host-groups/CL1-A,0`), SSB.HOST_GROUP_0_UNDELETABLE);
    expect((await t.req("GET", `${t.short}/host-groups/CL1-A,0`)).status).toBe(200);
  });

  it("answers 404 for an undefined group", async () => {
    expectNotFound(await t.req("DELETE", `${t.short}/host-groups/CL1-A,3`));
  });
});

describe("release-lu-host-reserves", () => {
  it("answers a template and runs as a job on a defined group", async () => {
    const template = await t.req("GET", `${t.short}/host-groups/CL1-A,0/actions/release-lu-host-reserves`);
    expect(template.status).toBe(200);
    const res = await t.job("POST", `${t.short}/host-groups/CL1-A,0/actions/release-lu-host-reserves/invoke`);
    expect(res.body.state).toBe("Succeeded");
    expectNotFound(
      await t.req("POST", `${t.short}/host-groups/CL1-A,5/actions/release-lu-host-reserves/invoke`),
    );
  });
});

describe("persistence", () => {
  it("keeps host groups, WWNs, iSCSI names and LU paths across a restart on the same data dir", async () => {
    await seedLdev(t.sim.core, 3, 1024 * 1024);
    const fc = await createGroup(t, { portId: "CL1-A", hostGroupName: "HBSD-p", hostModeOptions: [91] });
    const iscsi = await createGroup(t, { portId: "CL3-A", hostGroupName: "HBSD-q" });
    await t.job("POST", `${t.short}/host-wwns`, {
      hostWwn: "2000000000000002",
      portId: "CL1-A",
      hostGroupNumber: fc,
    });
    await t.job("POST", `${t.short}/host-iscsis`, {
      iscsiName: "iqn.2000-01.com.h:q",
      portId: "CL3-A",
      hostGroupNumber: iscsi,
    });
    const lun = await mapLun(t, { portIds: ["CL1-A"], hostGroupNumber: fc, ldevId: 3 });
    const before = await t.req("GET", `${t.short}/host-groups?portId=CL3-A`);

    const dataDir = t.dataDir;
    await t.stop(false);
    t = await startTestSim({ dataDir });

    expect((await t.req("GET", `${t.short}/host-groups?portId=CL3-A`)).body).toEqual(before.body);
    const group = await t.req("GET", `${t.short}/host-groups/CL1-A,${fc}`);
    expect(group.body).toMatchObject({ hostGroupName: "HBSD-p", hostModeOptions: [91] });
    const wwns = await t.req("GET", `${t.short}/host-wwns?portId=CL1-A&hostGroupName=HBSD-p`);
    expect(wwns.body.data.map((w: { hostWwn: string }) => w.hostWwn)).toEqual(["2000000000000002"]);
    const iqns = await t.req("GET", `${t.short}/host-iscsis?portId=CL3-A&hostGroupNumber=${iscsi}`);
    expect(iqns.body.data[0].iscsiName).toBe("iqn.2000-01.com.h:q");
    const luns = await t.req("GET", `${t.short}/luns?portId=CL1-A&hostGroupNumber=${fc}`);
    expect(luns.body.data.map((l: { lun: number; ldevId: number }) => [l.lun, l.ldevId])).toEqual([[lun, 3]]);
  });
});
