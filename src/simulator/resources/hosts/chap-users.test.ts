import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import { affectedId, startTestSim } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";
import { createGroup, expectFailedJob, expectNotFound, expectRejected } from "./test-support/fixtures.js";

let t: TestSim;
let tid: number;
beforeEach(async () => {
  t = await startTestSim();
  tid = await createGroup(t, { portId: "CL4-A", hostGroupName: "chap-target" });
});
afterEach(async () => {
  await t.stop();
});

const USER = "iqn.1994-05.com.redhat:node7";

function addUser(body: Record<string, unknown>) {
  return t.job("POST", `${t.scoped}/chap-users`, { portId: "CL4-A", hostGroupNumber: tid, ...body });
}

describe("CHAP users", () => {
  it("creates a user, then sets its secret with PATCH on the id from affectedResources (Ansible's flow)", async () => {
    const res = await addUser({ chapUserName: USER, wayOfChapUser: "INI" });
    expect(res.body.state).toBe("Succeeded");
    const id = affectedId(res.body);
    expect(id).toBe(`CL4-A,${tid},INI,${USER}`);
    const patched = await t.job("PATCH", `${t.short}/chap-users/${id}`, { chapPassword: "secret-123456" });
    expect(patched.body.state).toBe("Succeeded");
    expect(
      t.sim.core.state.hostGroups.find((g) => g.hostGroupNumber === tid && g.portId === "CL4-A")?.chapUsers,
    ).toEqual([{ chapUserName: USER, wayOfChapUser: "INI", chapSecret: "secret-123456" }]);
  });

  it("never shows the secret", async () => {
    await addUser({ chapUserName: USER, wayOfChapUser: "INI", chapPassword: "secret-123456" });
    const list = await t.req("GET", `${t.short}/chap-users?portId=CL4-A&hostGroupNumber=${tid}`);
    expect(list.body.data).toEqual([
      {
        chapUserId: `CL4-A,${tid},INI,${USER}`,
        portId: "CL4-A",
        hostGroupNumber: tid,
        hostGroupName: "chap-target",
        chapUserName: USER,
        wayOfChapUser: "INI",
      },
    ]);
    const one = await t.req("GET", `${t.scoped}/chap-users/CL4-A,${tid},INI,${USER}`);
    expect(JSON.stringify(one.body)).not.toContain("secret-123456");
  });

  it("allows several initiator users but one target user; refuses duplicates", async () => {
    await addUser({ chapUserName: "a", wayOfChapUser: "INI" });
    await addUser({ chapUserName: "b", wayOfChapUser: "INI" });
    expectFailedJob(await addUser({ chapUserName: "a", wayOfChapUser: "INI" }), SSB.CHAP_USER_IN_USE);
    expect((await addUser({ chapUserName: "a", wayOfChapUser: "TAR" })).body.state).toBe("Succeeded");
    expectFailedJob(await addUser({ chapUserName: "tgt2", wayOfChapUser: "TAR" }), SSB.CHAP_USER_IN_USE);
    const list = await t.req("GET", `${t.short}/chap-users?portId=CL4-A`);
    expect(list.body.data).toHaveLength(3);
  });

  it("deletes a user; deleting it again is 404", async () => {
    await addUser({ chapUserName: USER, wayOfChapUser: "INI" });
    const res = await t.job("DELETE", `${t.short}/chap-users/CL4-A,${tid},INI,${USER}`);
    expect(res.body.state).toBe("Succeeded");
    expectNotFound(await t.req("GET", `${t.short}/chap-users/CL4-A,${tid},INI,${USER}`));
    expectNotFound(await t.req("DELETE", `${t.short}/chap-users/CL4-A,${tid},INI,${USER}`));
  });

  it("goes with its target when the target is deleted", async () => {
    await addUser({ chapUserName: USER, wayOfChapUser: "INI" });
    await t.job("DELETE", `${t.short}/host-groups/CL4-A,${tid}`);
    const again = await createGroup(t, { portId: "CL4-A", hostGroupName: "chap-target" });
    expect(
      (await t.req("GET", `${t.short}/chap-users?portId=CL4-A&hostGroupNumber=${again}`)).body.data,
    ).toEqual([]);
  });

  it.each([
    [
      "a secret shorter than 12 characters",
      { chapUserName: "u", wayOfChapUser: "INI", chapPassword: "short" },
      400,
      "KART20003-E",
    ],
    ["an unknown way", { chapUserName: "u", wayOfChapUser: "BOTH" }, 400, "KART20003-E"],
    ["no user name", { wayOfChapUser: "INI" }, 400, "KART20008-E"],
    [
      "an FC port",
      { portId: "CL1-A", hostGroupNumber: 0, chapUserName: "u", wayOfChapUser: "INI" },
      400,
      "KART20003-E",
    ],
    [
      "an undefined target",
      { hostGroupNumber: 42, chapUserName: "u", wayOfChapUser: "INI" },
      404,
      "KART30013-E",
    ],
  ])("rejects %s without a job", async (_what, body, status, messageId) => {
    expectRejected(
      await t.req("POST", `${t.short}/chap-users`, { portId: "CL4-A", hostGroupNumber: tid, ...body }),
      status,
      messageId,
    );
  });

  it("rejects a malformed id with 400", async () => {
    expectRejected(await t.req("GET", `${t.short}/chap-users/CL4-A,${tid},XYZ,u`), 400, "KART20005-E");
  });
});
