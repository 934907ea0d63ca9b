import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import { affectedId, startTestSim } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";
import { createGroup, expectFailedJob, expectNotFound, expectRejected } from "./test-support/fixtures.js";

let t: TestSim;
let gid: number;
beforeEach(async () => {
  t = await startTestSim();
  gid = await createGroup(t, { portId: "CL1-A", hostGroupName: "HBSD-21000024ff8f5296" });
});
afterEach(async () => {
  await t.stop();
});

const WWN = "21000024FF8F5296";

async function addWwn(hostWwn: string, portId = "CL1-A", hostGroupNumber = gid) {
  return t.job("POST", `${t.scoped}/host-wwns`, { hostWwn, portId, hostGroupNumber });
}

describe("POST /host-wwns", () => {
  it("registers a WWN in lower case, id port,gid,wwn", async () => {
    const res = await addWwn(WWN);
    expect(res.body.state).toBe("Succeeded");
    expect(affectedId(res.body)).toBe(`CL1-A,${gid},21000024ff8f5296`);
    const got = await t.req("GET", `${t.short}/host-wwns/CL1-A,${gid},21000024ff8f5296`);
    expect(got.body).toEqual({
      hostWwnId: `CL1-A,${gid},21000024ff8f5296`,
      portId: "CL1-A",
      hostGroupNumber: gid,
      hostGroupName: "HBSD-21000024ff8f5296",
      hostWwn: "21000024ff8f5296",
      wwnNickname: "",
    });
  });

  it("refuses the same WWN in a second host group of the port, allows it on another port", async () => {
    await addWwn(WWN);
    const other = await createGroup(t, { portId: "CL1-A", hostGroupName: "other" });
    expectFailedJob(await addWwn(WWN.toLowerCase(), "CL1-A", other), SSB.HOST_WWN_IN_USE);
    expectFailedJob(await addWwn(WWN), SSB.HOST_WWN_IN_USE);
    const elsewhere = await createGroup(t, { portId: "CL2-A", hostGroupName: "HBSD-21000024ff8f5296" });
    expect((await addWwn(WWN, "CL2-A", elsewhere)).body.state).toBe("Succeeded");
  });

  it("fails with B957/4184 past the WWN limit of a host group", async () => {
    for (let i = 0; i < 255; i++) {
      t.sim.core.state.hostWwns.push({
        portId: "CL1-A",
        hostGroupNumber: gid,
        hostWwn: (0x1000000000000000n + BigInt(i)).toString(16),
        wwnNickname: "",
      });
    }
    expectFailedJob(await addWwn("2000000000000000"), SSB.MAX_WWNS_EXCEEDED);
  });

  it.each([
    [
      "a 15-digit WWN",
      { hostWwn: "21000024ff8f529", portId: "CL1-A", hostGroupNumber: 0 },
      400,
      "KART20003-E",
    ],
    [
      "a non-hex WWN",
      { hostWwn: "21000024ff8f529g", portId: "CL1-A", hostGroupNumber: 0 },
      400,
      "KART20003-E",
    ],
    [
      "a WWN with colons",
      { hostWwn: "21:00:00:24:ff:8f:52:96", portId: "CL1-A", hostGroupNumber: 0 },
      400,
      "KART20003-E",
    ],
    ["no hostGroupNumber", { hostWwn: WWN, portId: "CL1-A" }, 400, "KART20008-E"],
    ["an iSCSI port", { hostWwn: WWN, portId: "CL3-A", hostGroupNumber: 0 }, 400, "KART20003-E"],
    ["an undefined host group", { hostWwn: WWN, portId: "CL1-A", hostGroupNumber: 77 }, 404, "KART30013-E"],
    ["an unknown port", { hostWwn: WWN, portId: "CL8-A", hostGroupNumber: 0 }, 404, "KART30013-E"],
  ])("rejects %s without a job", async (_what, body, status, messageId) => {
    expectRejected(await t.req("POST", `${t.short}/host-wwns`, body), status, messageId);
    expect(t.sim.core.state.hostWwns).toEqual([]);
  });
});

describe("GET /host-wwns", () => {
  it("lists by host group number and by host group name", async () => {
    await addWwn(WWN);
    await addWwn("21000024ff8f5297");
    const byNumber = await t.req("GET", `${t.scoped}/host-wwns?portId=CL1-A&hostGroupNumber=${gid}`);
    expect(byNumber.body.data.map((w: { hostWwn: string }) => w.hostWwn)).toEqual([
      "21000024ff8f5296",
      "21000024ff8f5297",
    ]);
    const byName = await t.req(
      "GET",
      `${t.short}/host-wwns?portId=CL1-A&hostGroupName=HBSD-21000024ff8f5296`,
    );
    expect(byName.body.data).toEqual(byNumber.body.data);
    expect(byName.body.data[0].hostGroupNumber).toBe(gid);
  });

  it("answers an empty list for a host group name not on the port (Cinder's first probe)", async () => {
    const res = await t.req("GET", `${t.short}/host-wwns?portId=CL2-A&hostGroupName=HBSD-21000024ff8f5296`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
  });

  it("answers the same empty list for a group that holds no WWN yet", async () => {
    // The group exists (beforeEach) but nothing is registered: a client cannot tell it from a
    // missing group by this query, and must learn it from the name conflict on create.
    const res = await t.req("GET", `${t.short}/host-wwns?portId=CL1-A&hostGroupName=HBSD-21000024ff8f5296`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
  });

  it("matches the host group name exactly", async () => {
    await addWwn(WWN);
    const longer = await createGroup(t, { portId: "CL1-A", hostGroupName: "HBSD-21000024ff8f5296x" });
    await addWwn("21000024ff8f5297", "CL1-A", longer);
    const res = await t.req("GET", `${t.short}/host-wwns?portId=CL1-A&hostGroupName=HBSD-21000024ff8f5296`);
    expect(res.body.data.map((w: { hostGroupNumber: number }) => w.hostGroupNumber)).toEqual([gid]);
    const prefix = await t.req("GET", `${t.short}/host-wwns?portId=CL1-A&hostGroupName=HBSD-21000024`);
    expect(prefix.body.data).toEqual([]);
  });

  it("lists a whole port without a group filter", async () => {
    await addWwn(WWN);
    await t.job("POST", `${t.short}/host-wwns`, {
      hostWwn: "1111111111111111",
      portId: "CL1-A",
      hostGroupNumber: 0,
    });
    const res = await t.req("GET", `${t.short}/host-wwns?portId=CL1-A`);
    expect(res.body.data.map((w: { hostWwnId: string }) => w.hostWwnId)).toEqual([
      "CL1-A,0,1111111111111111",
      `CL1-A,${gid},21000024ff8f5296`,
    ]);
  });

  it.each([
    ["no portId", "host-wwns?hostGroupNumber=0", 400, "KART20008-E"],
    ["an undefined group number", "host-wwns?portId=CL1-A&hostGroupNumber=50", 404, "KART30013-E"],
    ["an unregistered WWN", "host-wwns/CL1-A,0,21000024ff8f5296", 404, "KART30013-E"],
    ["a malformed WWN id", "host-wwns/CL1-A,0,xyz", 400, "KART20005-E"],
  ])("answers %s with the array's error", async (_what, path, status, messageId) => {
    expectRejected(await t.req("GET", `${t.short}/${path}`), status, messageId);
  });
});

describe("PATCH and DELETE /host-wwns/{id}", () => {
  it("sets a nickname, accepting the id in upper case", async () => {
    await addWwn(WWN);
    const res = await t.job("PATCH", `${t.short}/host-wwns/CL1-A,${gid},${WWN}`, {
      wwnNickname: "node-1 hba0",
    });
    expect(res.body.state).toBe("Succeeded");
    const got = await t.req("GET", `${t.short}/host-wwns?portId=CL1-A&hostGroupNumber=${gid}`);
    expect(got.body.data[0].wwnNickname).toBe("node-1 hba0");
    expectRejected(
      await t.req("PATCH", `${t.short}/host-wwns/CL1-A,${gid},${WWN}`, { wwnNickname: "x".repeat(65) }),
      400,
      "KART20003-E",
    );
  });

  it("deletes a WWN; deleting it again is 404", async () => {
    await addWwn(WWN);
    const res = await t.job("DELETE", `${t.scoped}/host-wwns/CL1-A%2C${gid}%2C21000024ff8f5296`);
    expect(res.body.state).toBe("Succeeded");
    expect(
      (await t.req("GET", `${t.short}/host-wwns?portId=CL1-A&hostGroupNumber=${gid}`)).body.data,
    ).toEqual([]);
    expectNotFound(await t.req("DELETE", `${t.short}/host-wwns/CL1-A,${gid},21000024ff8f5296`));
  });
});
