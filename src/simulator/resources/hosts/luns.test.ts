import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
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

const MIB = 1024 * 1024;

let t: TestSim;
let g1: number;
let g2: number;
beforeEach(async () => {
  t = await startTestSim();
  await seedLdev(t.sim.core, 100, MIB);
  await seedLdev(t.sim.core, 101, MIB);
  await seedLdev(t.sim.core, 102, MIB, { isAluaEnabled: true });
  g1 = await createGroup(t, { portId: "CL1-A", hostGroupName: "h1", hostModeOptions: [91] });
  g2 = await createGroup(t, { portId: "CL2-A", hostGroupName: "h1" });
});
afterEach(async () => {
  await t.stop();
});

function addLun(body: Record<string, unknown>) {
  return t.job("POST", `${t.scoped}/luns`, body);
}

describe("POST /luns", () => {
  it("assigns the lowest free LUN and answers port,gid,lun", async () => {
    const res = await addLun({ portId: "CL1-A", hostGroupNumber: g1, ldevId: 100 });
    expect(res.body.state).toBe("Succeeded");
    expect(affectedId(res.body)).toBe(`CL1-A,${g1},0`);
    expect(await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 101 })).toBe(1);
    await t.job("DELETE", `${t.short}/luns/CL1-A,${g1},0`);
    expect(await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 102 })).toBe(0);
  });

  it("takes an explicit LUN", async () => {
    expect(await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 100, lun: 2047 })).toBe(2047);
  });

  it("maps one LDEV on up to six ports at one LUN with portIds, one affected resource per path", async () => {
    await mapLun(t, { portId: "CL2-A", hostGroupNumber: g2, ldevId: 101 }); // LUN 0 taken on CL2-A
    const res = await addLun({ portIds: ["CL1-A", "CL2-A"], hostGroupNumber: g1, ldevId: 100 });
    expect(res.body.state).toBe("Succeeded");
    expect(res.body.affectedResources).toEqual([
      `/ConfigurationManager/v1/objects/storages/886000123456/luns/CL1-A,${g1},1`,
      `/ConfigurationManager/v1/objects/storages/886000123456/luns/CL2-A,${g2},1`,
    ]);
  });

  it("fails with B958/015A when the LDEV is already mapped in the host group", async () => {
    await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 100 });
    expectFailedJob(
      await addLun({ portId: "CL1-A", hostGroupNumber: g1, ldevId: 100 }),
      SSB.LU_PATH_ALREADY_DEFINED,
    );
    expectFailedJob(
      await addLun({ portId: "CL1-A", hostGroupNumber: g1, ldevId: 100, lun: 5 }),
      SSB.LU_PATH_ALREADY_DEFINED,
    );
    expect(t.sim.core.state.luns).toHaveLength(1);
  });

  it("fails with B958/0947 when another LDEV holds the LUN", async () => {
    await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 100, lun: 3 });
    const res = await addLun({ portId: "CL1-A", hostGroupNumber: g1, ldevId: 101, lun: 3 });
    expectFailedJob(res, SSB.ANOTHER_LDEV_AT_LUN);
    expect(res.body.error.cause).toContain("LDEV 100");
  });

  it("creates no path at all when one of several ports refuses", async () => {
    await mapLun(t, { portId: "CL2-A", hostGroupNumber: g2, ldevId: 101, lun: 4 });
    expectFailedJob(
      await addLun({ portIds: ["CL1-A", "CL2-A"], hostGroupNumber: g1, ldevId: 100, lun: 4 }),
      SSB.ANOTHER_LDEV_AT_LUN,
    );
    expect((await t.req("GET", `${t.short}/luns?portId=CL1-A&hostGroupNumber=${g1}`)).body.data).toEqual([]);
  });

  it("fails the job for an LDEV id that is not defined", async () => {
    expectFailedJob(
      await addLun({ portId: "CL1-A", hostGroupNumber: g1, ldevId: 555 }),
      SSB.LU_PATH_LDEV_UNDEFINED,
    );
  });

  it("fails with LUN_OUT_OF_RANGE when every LUN of the group is used", async () => {
    for (let lun = 0; lun <= 2047; lun++) {
      t.sim.core.state.luns.push({ portId: "CL1-A", hostGroupNumber: g1, lun, ldevId: 101 + (lun % 2) });
    }
    expectFailedJob(
      await addLun({ portId: "CL1-A", hostGroupNumber: g1, ldevId: 100 }),
      SSB.LUN_OUT_OF_RANGE,
    );
  });

  it.each([
    ["no port", { hostGroupNumber: 1, ldevId: 100 }, 400, "KART20008-E"],
    [
      "portId and portIds",
      { portId: "CL1-A", portIds: ["CL2-A"], hostGroupNumber: 1, ldevId: 100 },
      400,
      "KART20003-E",
    ],
    [
      "seven ports",
      { portIds: ["a", "b", "c", "d", "e", "f", "g"], hostGroupNumber: 1, ldevId: 100 },
      400,
      "KART20003-E",
    ],
    ["a port twice", { portIds: ["CL1-A", "CL1-A"], hostGroupNumber: 1, ldevId: 100 }, 400, "KART20003-E"],
    ["LUN 2048", { portId: "CL1-A", hostGroupNumber: 1, ldevId: 100, lun: 2048 }, 400, "KART20003-E"],
    [
      "an LDEV id beyond the array's range",
      { portId: "CL1-A", hostGroupNumber: 1, ldevId: 70000 },
      400,
      "KART20003-E",
    ],
    ["no ldevId", { portId: "CL1-A", hostGroupNumber: 1 }, 400, "KART20008-E"],
    ["an unknown port", { portId: "CL6-A", hostGroupNumber: 1, ldevId: 100 }, 404, "KART30013-E"],
    ["an undefined host group", { portId: "CL1-A", hostGroupNumber: 200, ldevId: 100 }, 404, "KART30013-E"],
  ])("rejects %s without a job", async (_what, body, status, messageId) => {
    expectRejected(await t.req("POST", `${t.short}/luns`, body), status, messageId);
    expect(t.sim.core.state.luns).toEqual([]);
  });
});

describe("GET /luns", () => {
  it("lists a host group's paths with the full fields, or basic ones (Python's False/True accepted)", async () => {
    await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 101, lun: 1 });
    await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 100, lun: 0 });
    const full = await t.req(
      "GET",
      `${t.scoped}/luns?portId=CL1-A&hostGroupNumber=${g1}&isBasicLunInformation=False`,
    );
    expect(full.body.data).toEqual([
      {
        lunId: `CL1-A,${g1},0`,
        portId: "CL1-A",
        hostGroupNumber: g1,
        hostMode: "LINUX/IRIX",
        lun: 0,
        ldevId: 100,
        isCommandDevice: false,
        luHostReserve: {
          openSystem: false,
          persistent: false,
          pgrKey: false,
          mainframe: false,
          acaReserve: false,
        },
        hostModeOptions: [91],
      },
      expect.objectContaining({ lun: 1, ldevId: 101 }),
    ]);
    const basic = await t.req(
      "GET",
      `${t.short}/luns?portId=CL1-A&hostGroupNumber=${g1}&isBasicLunInformation=True`,
    );
    expect(basic.body.data[0]).toEqual({
      lunId: `CL1-A,${g1},0`,
      portId: "CL1-A",
      hostGroupNumber: g1,
      hostMode: "LINUX/IRIX",
      lun: 0,
      ldevId: 100,
    });
  });

  it("adds the ALUA state with lunOption=ALUA", async () => {
    await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 102 });
    const res = await t.req("GET", `${t.short}/luns?portId=CL1-A&hostGroupNumber=${g1}&lunOption=ALUA`);
    expect(res.body.data[0]).toMatchObject({
      isAluaEnabled: true,
      asymmetricAccessState: "Active/Optimized",
    });
  });

  it("answers one path by id, raw or percent-encoded", async () => {
    await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 100, lun: 7 });
    const raw = await t.req("GET", `${t.short}/luns/CL1-A,${g1},7`);
    const encoded = await t.req("GET", `${t.scoped}/luns/CL1-A%2C${g1}%2C7`);
    expect(raw.body).toMatchObject({ lunId: `CL1-A,${g1},7`, ldevId: 100 });
    expect(encoded.body).toEqual(raw.body);
  });

  it.each([
    ["no hostGroupNumber", "luns?portId=CL1-A", 400, "KART20008-E"],
    ["no portId", "luns?hostGroupNumber=0", 400, "KART20008-E"],
    ["a bad flag", "luns?portId=CL1-A&hostGroupNumber=0&isBasicLunInformation=maybe", 400, "KART20003-E"],
    ["an undefined group", "luns?portId=CL1-A&hostGroupNumber=99", 404, "KART30013-E"],
    ["an undefined path", "luns/CL1-A,0,5", 404, "KART30013-E"],
    ["a LUN beyond 2047", "luns/CL1-A,0,4096", 400, "KART20005-E"],
  ])("answers %s with the array's error", async (_what, path, status, messageId) => {
    expectRejected(await t.req("GET", `${t.short}/${path}`), status, messageId);
  });
});

describe("DELETE /luns/{id}", () => {
  it("removes the path; the LDEV itself stays", async () => {
    await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 100 });
    const res = await t.job("DELETE", `${t.scoped}/luns/CL1-A,${g1},0`);
    expect(res.body.state).toBe("Succeeded");
    expect(affectedId(res.body)).toBe(`CL1-A,${g1},0`);
    expect(t.sim.core.state.luns).toEqual([]);
    expect(t.sim.core.state.ldevs["100"]).toBeDefined();
  });

  it("answers an undefined path with 404 KART30013-E / EX_ENOOBJ and no job (Cinder ignores it on unmap)", async () => {
    expectNotFound(await t.job("DELETE", `${t.scoped}/luns/CL1-A,${g1},0`));
    expectNotFound(await t.req("DELETE", `${t.short}/luns/CL2-A,250,0`));
  });
});

describe("release-lu-host-reserve", () => {
  it("runs as a job on a defined path and 404s on an undefined one", async () => {
    await mapLun(t, { portId: "CL1-A", hostGroupNumber: g1, ldevId: 100 });
    const template = await t.req("GET", `${t.short}/luns/CL1-A,${g1},0/actions/release-lu-host-reserve`);
    expect(template.status).toBe(200);
    const res = await t.job("PUT", `${t.scoped}/luns/CL1-A,${g1},0/actions/release-lu-host-reserve/invoke`);
    expect(res.body.state).toBe("Succeeded");
    expectNotFound(
      await t.req("POST", `${t.short}/luns/CL1-A,${g1},9/actions/release-lu-host-reserve/invoke`),
    );
  });
});
