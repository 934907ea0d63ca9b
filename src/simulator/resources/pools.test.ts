import { afterEach, describe, expect, it } from "vitest";

import { MIB } from "../config.js";
import { basicAuth, startTestSim } from "../test-support/harness.js";
import type { TestSim } from "../test-support/harness.js";

let t: TestSim | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function sim(options: Parameters<typeof startTestSim>[0] = {}): Promise<TestSim> {
  t = await startTestSim(options);
  return t;
}

/** 4 TiB in 42 MiB pages: 99,864 whole pages = 4,194,288 MB. */
const POOL0_MB = Math.floor((4 * 1024 * 1024) / 42) * 42;

describe("GET /pools", () => {
  it.each([
    ["", [0, 1, 2]],
    ["?poolType=DP", [0, 1]],
    ["?poolType=HTI", [2]],
  ])("lists pools%s", async (query, expected) => {
    const s = await sim();
    const res = await s.req("GET", `${s.scoped}/pools${query}`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((p: { poolId: number }) => p.poolId)).toEqual(expected);
  });

  it("rejects an unknown poolType filter", async () => {
    const s = await sim();
    const res = await s.req("GET", `${s.short}/pools?poolType=HDP`);
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe("KART20003-E");
  });

  it.each(["scoped", "short"] as const)("answers one pool with its figures in MB (%s URL)", async (style) => {
    const s = await sim();
    const res = await s.req("GET", `${s[style]}/pools/0`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      poolId: 0,
      poolName: "dp-pool-0",
      poolType: "HDP",
      poolStatus: "POLN",
      usedCapacityRate: 0,
      totalPoolCapacity: POOL0_MB,
      availableVolumeCapacity: POOL0_MB,
      totalLocatedCapacity: 0,
      locatedVolumeCount: 0,
      warningThreshold: 70,
      depletionThreshold: 80,
      virtualVolumeCapacityRate: -1,
      snapshotCount: 0,
      snapshotUsedCapacity: 0,
    });
    const ti = await s.req("GET", `${s[style]}/pools/2`);
    expect(ti.body).toMatchObject({
      poolId: 2,
      poolType: "HTI",
      totalPoolCapacity: Math.floor((1024 * 1024) / 42) * 42,
    });
  });

  it("answers an unknown pool with 404 KART30013-E (Cinder's get_pool_info) and a bad id with 400", async () => {
    const s = await sim();
    const missing = await s.req("GET", `${s.scoped}/pools/5`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      messageId: "KART30013-E",
      errorSource: expect.stringContaining("/pools/5"),
    });
    expect((await s.req("GET", `${s.short}/pools/128`)).status).toBe(400);
    expect((await s.req("GET", `${s.short}/pools/x`)).status).toBe(400);
  });

  it("reports POLF while the poolFull fault is set", async () => {
    const s = await sim();
    await s.admin("PUT", "/simulator/faults", { poolFull: [1] });
    const pools = (await s.req("GET", `${s.short}/pools`)).body.data;
    expect(pools.map((p: { poolStatus: string }) => p.poolStatus)).toEqual(["POLN", "POLF", "POLN"]);
  });

  it("reports POLF once written data reaches the depletion threshold", async () => {
    // A 10-page pool of 1 MiB pages, so a few MiB of data move the figures.
    const s = await sim({
      pageSizeBytes: MIB,
      pools: [{ poolId: 0, poolName: "small", poolType: "HDP", capacityBytes: 10 * MIB }],
    });
    await s.job("POST", `${s.short}/ldevs`, { poolId: 0, byteFormatCapacity: "1G", ldevId: 0 });
    const put = await fetch(`${s.running.url}/simulator/ldevs/0/data?offset=0`, {
      method: "PUT",
      headers: { Authorization: basicAuth, "Content-Type": "application/octet-stream" },
      body: new Uint8Array(8 * MIB).fill(1),
    });
    expect(put.status).toBe(200);
    const full = (await s.req("GET", `${s.short}/pools/0`)).body;
    expect(full).toMatchObject({ poolStatus: "POLF", usedCapacityRate: 80, availableVolumeCapacity: 2 });
    await s.job("PATCH", `${s.short}/pools/0`, { depletionThreshold: 90 });
    expect((await s.req("GET", `${s.short}/pools/0`)).body.poolStatus).toBe("POLN");
  });
});

describe("PATCH /pools/{id}", () => {
  it("changes thresholds and name as a job, with PATCH or the legacy PUT, and keeps them across a restart", async () => {
    const s = await sim();
    const res = await s.job("PATCH", `${s.scoped}/pools/1`, { warningThreshold: 60, depletionThreshold: 75 });
    expect(res.body).toMatchObject({
      state: "Succeeded",
      affectedResources: ["/ConfigurationManager/v1/objects/storages/886000123456/pools/1"],
    });
    const put = await s.job("PUT", `${s.short}/pools/1`, { poolName: "gold" });
    expect(put.body.state).toBe("Succeeded");
    const { dataDir } = s;
    await s.stop(false);
    const again = await sim({ dataDir });
    expect((await again.req("GET", `${again.short}/pools/1`)).body).toMatchObject({
      poolName: "gold",
      warningThreshold: 60,
      depletionThreshold: 75,
    });
  });

  it.each([
    ["warning above depletion", { warningThreshold: 90 }, "warningThreshold"],
    ["a threshold of 0", { depletionThreshold: 0 }, "depletionThreshold"],
    ["a threshold above 100", { warningThreshold: 101 }, "warningThreshold"],
    ["an empty body", {}, "body"],
    ["an unknown attribute", { suspendSnapshot: false }, "suspendSnapshot"],
    ["a name taken by another pool", { poolName: "ti-pool-2" }, "poolName"],
    ["a name with a space", { poolName: "my pool" }, "poolName"],
  ])("refuses %s with 400 and changes nothing", async (_name, body, parameter) => {
    const s = await sim();
    const res = await s.job("PATCH", `${s.short}/pools/0`, body);
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe("KART20003-E");
    expect(res.body.message).toContain(parameter);
    expect((await s.req("GET", `${s.short}/pools/0`)).body).toMatchObject({
      poolName: "dp-pool-0",
      warningThreshold: 70,
      depletionThreshold: 80,
    });
  });

  it("answers 404 for an unknown pool", async () => {
    const s = await sim();
    const res = await s.job("PATCH", `${s.short}/pools/9`, { warningThreshold: 10 });
    expect(res.status).toBe(404);
    expect(res.body.messageId).toBe("KART30013-E");
  });
});
