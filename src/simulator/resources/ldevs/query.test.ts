import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { MIB } from "../../config.js";
import { startTestSim } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";
import { seedLdev } from "../../test-support/seed.js";

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
});
afterEach(async () => {
  await t.stop();
});

async function create(ldevId: number, poolId = 0): Promise<void> {
  const res = await t.job("POST", `${t.short}/ldevs`, { poolId, byteFormatCapacity: "1G", ldevId });
  expect(res.body.state).toBe("Succeeded");
}

function ids(body: { data: { ldevId: number }[] }): number[] {
  return body.data.map((l) => l.ldevId);
}

describe("GET /ldevs/{id}", () => {
  it.each(["scoped", "short"] as const)("answers 200 NOT DEFINED for a free id (%s URL)", async (style) => {
    const res = await t.req("GET", `${t[style]}/ldevs/42`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ldevId: 42, emulationType: "NOT DEFINED" });
    expect(res.body).not.toHaveProperty("poolId");
  });

  it.each(["65280", "-1", "abc", "1.5"])("rejects the id %s with 400", async (id) => {
    const res = await t.req("GET", `${t.short}/ldevs/${id}`);
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe("KART20003-E");
  });

  it("lists LU paths with their host group names, and shows naaId once mapped", async () => {
    await create(3);
    const state = t.sim.core.state;
    state.hostGroups.push({
      portId: "CL1-A",
      hostGroupNumber: 5,
      hostGroupName: "HBSD-0123456789abcdef",
      hostMode: "LINUX/IRIX",
      hostModeOptions: [],
    });
    state.luns.push(
      { portId: "CL2-A", hostGroupNumber: 0, lun: 9, ldevId: 3 },
      { portId: "CL1-A", hostGroupNumber: 5, lun: 1, ldevId: 3 },
    );
    t.sim.core.store.save();
    const res = await t.req("GET", `${t.scoped}/ldevs/3`);
    expect(res.body.numOfPorts).toBe(2);
    expect(res.body.ports).toEqual([
      { portId: "CL1-A", hostGroupNumber: 5, hostGroupName: "HBSD-0123456789abcdef", lun: 1 },
      { portId: "CL2-A", hostGroupNumber: 0, hostGroupName: "CL2-A-G00", lun: 9 },
    ]);
    expect(res.body.naaId).toBe(state.ldevs["3"]!.naaId);
  });

  it("adds HTI while the LDEV is in a Thin Image pair, MRCF in a ShadowImage pair, and the S-VOL's snapshot pool", async () => {
    await create(1);
    await create(2);
    await create(3);
    const state = t.sim.core.state;
    state.tiPairs.push({
      pvolLdevId: 1,
      muNumber: 0,
      svolLdevId: 2,
      snapshotGroupName: "HBSD-snap0",
      snapshotPoolId: 0,
      isConsistencyGroup: false,
      isClone: false,
      canCascade: true,
      clonesAutomation: false,
      copySpeed: "medium",
      status: "PSUS",
      isWrittenInSvol: false,
      hasSnapshotData: true,
      createdTime: "2026-01-01T00:00:00Z",
    });
    state.ldevs["2"]!.snapshotPoolId = 0;
    state.siPairs.push({
      copyGroupName: "cg",
      pvolDeviceGroupName: "p",
      svolDeviceGroupName: "s",
      copyPairName: "pair",
      pvolLdevId: 3,
      svolLdevId: 40,
      pvolMuNumber: 0,
      copyPace: 3,
      status: "PAIR",
      createdTime: "2026-01-01T00:00:00Z",
    });
    const get = async (id: number): Promise<Record<string, unknown>> =>
      (await t.req("GET", `${t.short}/ldevs/${id}`)).body as Record<string, unknown>;
    expect((await get(1)).attributes).toEqual(["CVS", "HDP", "HTI"]);
    expect(await get(2)).toMatchObject({ attributes: ["CVS", "HDP", "HTI"], snapshotPoolId: 0 });
    expect((await get(3)).attributes).toEqual(["CVS", "HDP", "MRCF"]);
    expect(await get(1)).not.toHaveProperty("snapshotPoolId");
    state.tiPairs = [];
    expect((await get(1)).attributes).toEqual(["CVS", "HDP"]);
  });
});

describe("GET /ldevs", () => {
  beforeEach(async () => {
    for (const id of [0, 2, 5, 6]) await create(id, id === 6 ? 1 : 0);
    t.sim.core.state.luns.push({ portId: "CL1-A", hostGroupNumber: 0, lun: 0, ldevId: 5 });
  });

  it.each([
    ["", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    ["&ldevOption=defined", [0, 2, 5, 6]],
    ["&ldevOption=dpVolume", [0, 2, 5, 6]],
    ["&ldevOption=undefined", [1, 3, 4, 7, 8, 9, 10, 11, 12, 13]],
    ["&ldevOption=luMapped", [5]],
    ["&ldevOption=luUnmapped", [0, 2, 6]],
    ["&ldevOption=externalVolume", []],
    ["&poolId=1", [6]],
    ["&poolId=0&ldevOption=defined", [0, 2, 5]],
    ["&resourceGroupId=0&ldevOption=defined", [0, 2, 5, 6]],
    ["&resourceGroupId=3", []],
  ])("count=10%s lists the matching ids in order", async (query, expected) => {
    const res = await t.req("GET", `${t.short}/ldevs?count=10${query}`);
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual(expected);
  });

  it("pages from headLdevId: count limits matching LDEVs, not ids scanned", async () => {
    const first = await t.req("GET", `${t.scoped}/ldevs?headLdevId=1&count=2&ldevOption=defined`);
    expect(ids(first.body)).toEqual([2, 5]);
    const next = await t.req("GET", `${t.scoped}/ldevs?headLdevId=6&count=2&ldevOption=defined`);
    expect(ids(next.body)).toEqual([6]);
    // Ansible's "first free id at or after N".
    const free = await t.req("GET", `${t.short}/ldevs?ldevOption=undefined&count=1&headLdevId=5`);
    expect(ids(free.body)).toEqual([7]);
    // Cinder's label search: a 16384-id window with dpVolume, items carry their labels.
    await t.job("PATCH", `${t.short}/ldevs/2`, { label: "0123456789abcdef0123456789abcdef" });
    const page = await t.req("GET", `${t.short}/ldevs?headLdevId=0&ldevOption=dpVolume&count=16384`);
    expect(page.body.data.find((l: { label?: string }) => l.label !== undefined)).toMatchObject({
      ldevId: 2,
      label: "0123456789abcdef0123456789abcdef",
    });
  });

  it("answers 100 entries by default, as full objects for defined ids", async () => {
    const res = await t.req("GET", `${t.short}/ldevs`);
    expect(res.body.data).toHaveLength(100);
    expect(res.body.data[0]).toMatchObject({
      ldevId: 0,
      emulationType: "OPEN-V-CVS",
      blockCapacity: 2_097_152,
    });
    expect(res.body.data[1]).toMatchObject({ ldevId: 1, emulationType: "NOT DEFINED" });
    expect(res.body.data[5]).toMatchObject({ ldevId: 5, numOfPorts: 1 });
  });

  it("stops at the array's last id", async () => {
    const res = await t.req("GET", `${t.short}/ldevs?headLdevId=65270&count=100`);
    expect(ids(res.body)).toEqual([...Array(10).keys()].map((i) => 65_270 + i));
  });

  it.each([
    ["count=0", "count"],
    ["count=16385", "count"],
    ["headLdevId=65280", "headLdevId"],
    ["headLdevId=x", "headLdevId"],
    ["ldevOption=all", "ldevOption"],
    ["poolId=200", "poolId"],
  ])("rejects %s with 400", async (query, parameter) => {
    const res = await t.req("GET", `${t.short}/ldevs?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe("KART20003-E");
    expect(res.body.message).toContain(parameter);
  });

  it("adds the qos object with detailInfoType=qos (Cinder's QoS read)", async () => {
    await seedLdev(t.sim.core, 20, 64 * MIB, { qos: { upperIops: 1000 } });
    const res = await t.req("GET", `${t.short}/ldevs?detailInfoType=qos&headLdevId=20&count=1`);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0]).toMatchObject({ ldevId: 20, qos: { upperIops: 1000 } });
    const plain = await t.req("GET", `${t.short}/ldevs/20`);
    expect(plain.body).not.toHaveProperty("qos");
    const single = await t.req("GET", `${t.short}/ldevs/20?detailInfoType=qos`);
    expect(single.body.qos).toEqual({ upperIops: 1000 });
  });
});
