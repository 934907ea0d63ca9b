import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { startTestSim } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";
import { expectNotFound, expectRejected } from "./test-support/fixtures.js";

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
});
afterEach(async () => {
  await t.stop();
});

describe("GET /ports", () => {
  it("lists every port with the fields Cinder's FC connector checks", async () => {
    const res = await t.req("GET", `${t.scoped}/ports`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((p: { portId: string }) => p.portId)).toEqual([
      "CL1-A",
      "CL2-A",
      "CL3-A",
      "CL4-A",
    ]);
    const fc = res.body.data[0];
    expect(fc).toMatchObject({
      portId: "CL1-A",
      portType: "FIBRE",
      lunSecuritySetting: true,
      fabricMode: true,
      portConnection: "PtoP",
      wwn: "50060e8012345600",
    });
    expect(fc.portAttributes).toContain("TAR");
    // The portal is only on the single-port GET of an iSCSI port.
    expect(res.body.data[2].ipv4Address).toBeUndefined();
  });

  it.each([
    ["portType=ISCSI", ["CL3-A", "CL4-A"]],
    ["portType=FIBRE", ["CL1-A", "CL2-A"]],
    ["portType=FCoE", []],
    ["portType=ISCSI&portAttributes=TAR", ["CL3-A", "CL4-A"]],
    ["portAttributes=ELUN", []],
  ])("filters by %s", async (query, expected) => {
    const res = await t.req("GET", `${t.short}/ports?${query}`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((p: { portId: string }) => p.portId)).toEqual(expected);
  });

  it("adds portMode and logins when asked with detailInfoType", async () => {
    const res = await t.req("GET", `${t.short}/ports?detailInfoType=portMode,logins`);
    expect(res.body.data[0].portMode).toBe("SCSI");
    expect(res.body.data[0].logins).toEqual([]);
    const plain = await t.req("GET", `${t.short}/ports`);
    expect(plain.body.data[0].portMode).toBeUndefined();
  });
});

describe("GET /ports/{portId}", () => {
  it("answers the iSCSI portal address and TCP port (Cinder's target portal)", async () => {
    const res = await t.req("GET", `${t.scoped}/ports/CL3-A`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      portId: "CL3-A",
      portType: "ISCSI",
      ipv4Address: "127.0.0.1",
      tcpPort: 3260,
    });
    expect(res.body.wwn).toBeUndefined();
  });

  it("answers the target WWN of an FC port", async () => {
    const res = await t.req("GET", `${t.short}/ports/CL2-A`);
    expect(res.body.wwn).toBe("50060e8012345610");
    expect(res.body.tcpPort).toBeUndefined();
  });

  it("answers 404 KART30013-E for an unknown port", async () => {
    expectNotFound(await t.req("GET", `${t.short}/ports/CL9-Z`));
  });
});

describe("PATCH /ports/{portId}", () => {
  it("changes LUN security, and a later GET shows it", async () => {
    const res = await t.job("PATCH", `${t.short}/ports/CL1-A`, { lunSecuritySetting: false });
    expect(res.body.state).toBe("Succeeded");
    expect(res.body.affectedResources).toEqual(["/ConfigurationManager/v1/objects/ports/CL1-A"]);
    expect((await t.req("GET", `${t.short}/ports/CL1-A`)).body.lunSecuritySetting).toBe(false);
  });

  it("changes the iSCSI portal with the legacy PUT", async () => {
    const res = await t.job("PUT", `${t.scoped}/ports/CL4-A`, { ipv4Address: "10.0.0.7", tcpPort: 3270 });
    expect(res.body.state).toBe("Succeeded");
    const got = await t.req("GET", `${t.scoped}/ports/CL4-A`);
    expect(got.body).toMatchObject({ ipv4Address: "10.0.0.7", tcpPort: 3270 });
  });

  it.each([
    ["fabric settings on an iSCSI port", "CL3-A", { fabricMode: false }, "KART20003-E"],
    ["a portal on an FC port", "CL1-A", { tcpPort: 3260 }, "KART20003-E"],
    ["a bad address", "CL3-A", { ipv4Address: "999.1.1.1" }, "KART20003-E"],
    ["nothing to change", "CL1-A", {}, "KART20008-E"],
  ])("rejects %s with 400", async (_what, port, body, messageId) => {
    expectRejected(await t.req("PATCH", `${t.short}/ports/${port}`, body), 400, messageId);
  });

  it("answers 404 for an unknown port", async () => {
    expectNotFound(await t.req("PATCH", `${t.short}/ports/CL7-B`, { lunSecuritySetting: true }));
  });
});
