import { stat } from "node:fs/promises";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { basicAuth, startTestSim } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
  for (const ldevId of [1, 2]) {
    const res = await t.job("POST", `${t.short}/ldevs`, { poolId: 0, byteFormatCapacity: "1G", ldevId });
    expect(res.body.state).toBe("Succeeded");
  }
});
afterEach(async () => {
  await t.stop();
});

const emulation = async (id: number): Promise<string> =>
  String((await t.req("GET", `${t.short}/ldevs/${id}`)).body.emulationType);

describe("DELETE /ldevs/{id}", () => {
  it.each(["scoped", "short"] as const)("deletes the LDEV and its data file (%s URL)", async (style) => {
    const res = await t.job("DELETE", `${t[style]}/ldevs/1`);
    expect(res.body).toMatchObject({ status: "Completed", state: "Succeeded" });
    expect(res.body.affectedResources[0]).toMatch(/\/ldevs\/1$/);
    expect(await emulation(1)).toBe("NOT DEFINED");
    await expect(stat(t.sim.core.blocks.ldevPath(1))).rejects.toThrow(/ENOENT/);
    expect(await emulation(2)).toBe("OPEN-V-CVS");
  });

  it("accepts isDataReductionDeleteForceExecute, as Cinder sends for capacity-saving volumes", async () => {
    await t.job("PATCH", `${t.short}/ldevs/1`, { dataReductionMode: "compression" });
    const res = await t.job("DELETE", `${t.short}/ldevs/1`, { isDataReductionDeleteForceExecute: true });
    expect(res.body.state).toBe("Succeeded");
    expect(await emulation(1)).toBe("NOT DEFINED");
    expect((await t.job("DELETE", `${t.short}/ldevs/2`, { force: true })).status).toBe(400);
  });

  it("refuses while an LU path exists (Failed job B958/015E), then deletes once unmapped", async () => {
    const state = t.sim.core.state;
    state.luns.push({ portId: "CL1-A", hostGroupNumber: 0, lun: 3, ldevId: 1 });
    t.sim.core.store.save();
    const res = await t.job("DELETE", `${t.short}/ldevs/1`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "Completed", state: "Failed" });
    expect(res.body.error).toMatchObject({
      messageId: "KART30000-E",
      errorCode: { SSB1: "B958", SSB2: "015E" },
    });
    expect(res.body.error.cause).toContain("CL1-A,0,3");
    expect(await emulation(1)).toBe("OPEN-V-CVS");
    await expect(stat(t.sim.core.blocks.ldevPath(1))).resolves.toBeDefined();
    // A failed job rolls the state back to a copy: reach the current state afresh.
    t.sim.core.state.luns = [];
    expect((await t.job("DELETE", `${t.short}/ldevs/1`)).body.state).toBe("Succeeded");
  });

  it.each(["P-VOL", "S-VOL"] as const)(
    "refuses while the LDEV is a Thin Image %s (2E10/9705)",
    async (role) => {
      t.sim.core.state.tiPairs.push({
        pvolLdevId: 1,
        muNumber: 3,
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
      const id = role === "P-VOL" ? 1 : 2;
      const res = await t.job("DELETE", `${t.scoped}/ldevs/${id}`);
      expect(res.body.state).toBe("Failed");
      expect(res.body.error.errorCode).toEqual({ SSB1: "2E10", SSB2: "9705" });
      expect(await emulation(id)).toBe("OPEN-V-CVS");
    },
  );

  it("refuses while the LDEV is in a ShadowImage pair", async () => {
    t.sim.core.state.siPairs.push({
      copyGroupName: "cg",
      pvolDeviceGroupName: "p",
      svolDeviceGroupName: "s",
      copyPairName: "pair",
      pvolLdevId: 2,
      svolLdevId: 1,
      pvolMuNumber: 0,
      copyPace: 3,
      status: "PSUS",
      createdTime: "2026-01-01T00:00:00Z",
    });
    const res = await t.job("DELETE", `${t.short}/ldevs/1`);
    expect(res.body.error.errorCode).toEqual({ SSB1: "2E10", SSB2: "9705" });
  });

  it("answers 404 KART30013-E for an undefined id, and 400 for an id out of range", async () => {
    const res = await t.job("DELETE", `${t.short}/ldevs/7`);
    expect(res.status).toBe(404);
    expect(res.body.messageId).toBe("KART30013-E");
    expect((await t.job("DELETE", `${t.short}/ldevs/70000`)).status).toBe(400);
  });
});

describe("persistence", () => {
  it("brings LDEVs, labels, settings and data back after a restart on the same data directory", async () => {
    await t.job("PATCH", `${t.short}/ldevs/1`, { label: "persisted-1" });
    await t.job("POST", `${t.short}/ldevs/2/actions/set-qos/invoke`, { parameters: { upperIops: 1000 } });
    const put = await fetch(`${t.running.url}/simulator/ldevs/1/data?offset=4096`, {
      method: "PUT",
      headers: { Authorization: basicAuth, "Content-Type": "application/octet-stream" },
      body: Buffer.from("still here"),
    });
    expect(put.status).toBe(200);
    const before = (await t.req("GET", `${t.short}/ldevs?ldevOption=defined`)).body;
    const { dataDir } = t;
    await t.stop(false);

    t = await startTestSim({ dataDir });
    const after = (await t.req("GET", `${t.short}/ldevs?ldevOption=defined`)).body;
    expect(after).toEqual(before);
    expect(after.data.map((l: { ldevId: number; label?: string }) => [l.ldevId, l.label])).toEqual([
      [1, "persisted-1"],
      [2, undefined],
    ]);
    const qos = await t.req("GET", `${t.short}/ldevs/2?detailInfoType=qos`);
    expect(qos.body.qos).toEqual({ upperIops: 1000 });
    const data = await fetch(`${t.running.url}/simulator/ldevs/1/data?offset=4096&length=10`, {
      headers: { Authorization: basicAuth },
    });
    expect(Buffer.from(await data.arrayBuffer()).toString()).toBe("still here");
    // The restarted array knows which ids are taken: a new LDEV gets the lowest free one.
    const next = await t.job("POST", `${t.short}/ldevs`, { poolId: 0, blockCapacity: 8 });
    expect(next.body.affectedResources[0]).toMatch(/\/ldevs\/0$/);
  });
});
