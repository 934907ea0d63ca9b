import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import { affectedId, startTestSim } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";
import { createGroup, expectFailedJob, expectNotFound, expectRejected } from "./test-support/fixtures.js";

let t: TestSim;
let tid: number;
beforeEach(async () => {
  t = await startTestSim();
  tid = await createGroup(t, { portId: "CL3-A", hostGroupName: "HBSD-10.1.1.1" });
});
afterEach(async () => {
  await t.stop();
});

const IQN = "iqn.1994-05.com.redhat:9a8b7c6d5e4f";

async function addIqn(iscsiName: string, hostGroupNumber = tid, portId = "CL3-A") {
  return t.job("POST", `${t.scoped}/host-iscsis`, { iscsiName, portId, hostGroupNumber });
}

describe("POST /host-iscsis", () => {
  it("registers an initiator IQN, id port,gid,iqn", async () => {
    const res = await addIqn(IQN);
    expect(res.body.state).toBe("Succeeded");
    expect(affectedId(res.body)).toBe(`CL3-A,${tid},${IQN}`);
    const got = await t.req("GET", `${t.short}/host-iscsis/CL3-A,${tid},${IQN}`);
    expect(got.body).toEqual({
      hostIscsiId: `CL3-A,${tid},${IQN}`,
      portId: "CL3-A",
      hostGroupNumber: tid,
      hostGroupName: "HBSD-10.1.1.1",
      iscsiName: IQN,
      iscsiNickname: "",
    });
  });

  it("accepts an eui. name", async () => {
    expect((await addIqn("eui.02004567A425678D")).body.state).toBe("Succeeded");
  });

  it("refuses the same initiator twice in one target (case-insensitively), allows it in another target", async () => {
    await addIqn(IQN);
    expectFailedJob(await addIqn(IQN.toUpperCase().replace("IQN.", "iqn.")), SSB.HOST_ISCSI_NAME_IN_USE);
    const other = await createGroup(t, { portId: "CL3-A", hostGroupName: "second" });
    expect((await addIqn(IQN, other)).body.state).toBe("Succeeded");
  });

  it("fails past the iSCSI name limit of a target", async () => {
    for (let i = 0; i < 255; i++) {
      t.sim.core.state.hostIscsis.push({
        portId: "CL3-A",
        hostGroupNumber: tid,
        iscsiName: `iqn.2000-01.com.x:h${i}`,
        iscsiNickname: "",
      });
    }
    expectFailedJob(await addIqn(IQN), SSB.MAX_ISCSI_NAMES_EXCEEDED);
  });

  it.each([
    [
      "a name that is not iqn./eui.",
      { iscsiName: "node1", portId: "CL3-A", hostGroupNumber: 0 },
      400,
      "KART20003-E",
    ],
    ["a short eui.", { iscsiName: "eui.1234", portId: "CL3-A", hostGroupNumber: 0 }, 400, "KART20003-E"],
    [
      "an over-long name",
      { iscsiName: `iqn.2000-01.com.x:${"a".repeat(220)}`, portId: "CL3-A", hostGroupNumber: 0 },
      400,
      "KART20003-E",
    ],
    ["an FC port", { iscsiName: IQN, portId: "CL1-A", hostGroupNumber: 0 }, 400, "KART20003-E"],
    ["an undefined target", { iscsiName: IQN, portId: "CL3-A", hostGroupNumber: 99 }, 404, "KART30013-E"],
  ])("rejects %s without a job", async (_what, body, status, messageId) => {
    expectRejected(await t.req("POST", `${t.short}/host-iscsis`, body), status, messageId);
    expect(t.sim.core.state.hostIscsis).toEqual([]);
  });
});

describe("GET /host-iscsis", () => {
  it("lists by number and by name; an unknown name gives an empty list", async () => {
    await addIqn(IQN);
    const byNumber = await t.req("GET", `${t.short}/host-iscsis?portId=CL3-A&hostGroupNumber=${tid}`);
    expect(byNumber.body.data.map((i: { iscsiName: string }) => i.iscsiName)).toEqual([IQN]);
    const byName = await t.req("GET", `${t.scoped}/host-iscsis?portId=CL3-A&hostGroupName=HBSD-10.1.1.1`);
    expect(byName.body.data).toEqual(byNumber.body.data);
    const none = await t.req("GET", `${t.short}/host-iscsis?portId=CL4-A&hostGroupName=HBSD-10.1.1.1`);
    expect(none.body.data).toEqual([]);
  });

  it("answers 404 for an unregistered name", async () => {
    expectNotFound(await t.req("GET", `${t.short}/host-iscsis/CL3-A,${tid},${IQN}`));
  });
});

describe("PATCH and DELETE /host-iscsis/{id}", () => {
  it("sets a nickname and deletes the name", async () => {
    await addIqn(IQN);
    const patched = await t.job("PATCH", `${t.short}/host-iscsis/CL3-A,${tid},${IQN}`, {
      iscsiNickname: "worker-3",
    });
    expect(patched.body.state).toBe("Succeeded");
    expect((await t.req("GET", `${t.short}/host-iscsis/CL3-A,${tid},${IQN}`)).body.iscsiNickname).toBe(
      "worker-3",
    );
    const deleted = await t.job(
      "DELETE",
      `${t.scoped}/host-iscsis/${encodeURIComponent(`CL3-A,${tid},${IQN}`)}`,
    );
    expect(deleted.body.state).toBe("Succeeded");
    expectNotFound(await t.req("DELETE", `${t.short}/host-iscsis/CL3-A,${tid},${IQN}`));
  });
});
