import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { MIB } from "../config.js";
import type { SimCore } from "../core.js";
import { basicAuth, startTestSim } from "../test-support/harness.js";
import type { TestSim } from "../test-support/harness.js";
import { tiPairState } from "../test-support/seed.js";
import { registerSnapshotUsage } from "./pool-usage.js";

const PAGE = 42 * MIB;
const PAGE_MB = 42;
const PAGE_BLOCKS = PAGE / 512;

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
});
afterEach(async () => {
  snapshotBytes.clear();
  await t.stop();
});

/** What the test's stand-in for the Thin Image module reports, per pool. */
const snapshotBytes = new Map<number, number>();
const testSnapshotUsage = (_sim: SimCore, poolId: number): Promise<number> =>
  Promise.resolve(snapshotBytes.get(poolId) ?? 0);

async function write(ldevId: number, offset: number, length: number): Promise<void> {
  const res = await fetch(`${t.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}`, {
    method: "PUT",
    headers: { Authorization: basicAuth, "Content-Type": "application/octet-stream" },
    body: new Uint8Array(length).fill(0xa5),
  });
  expect(res.status).toBe(200);
}

/** The pool and LDEV fields these tests do arithmetic on (the rest is checked with toMatchObject). */
interface PoolFigures {
  availableVolumeCapacity: number;
  totalPoolCapacity: number;
  snapshotUsedCapacity: number;
}
const pool = async (id = 0): Promise<PoolFigures> =>
  (await t.req("GET", `${t.short}/pools/${id}`)).body as PoolFigures;
const ldev = async (id: number): Promise<{ numOfUsedBlock: number }> =>
  (await t.req("GET", `${t.scoped}/ldevs/${id}`)).body as { numOfUsedBlock: number };

describe("thin provisioning, as the pool and the LDEV report it", () => {
  it("charges pages only for written data, and gives them back when the LDEV goes", async () => {
    const empty = await pool();
    const created = await t.job("POST", `${t.short}/ldevs`, {
      poolId: 0,
      byteFormatCapacity: "100G",
      ldevId: 1,
    });
    expect(created.body.state).toBe("Succeeded");

    // A new 100 GiB volume: provisioned, but no page used.
    const fresh = await pool();
    expect(fresh).toMatchObject({
      availableVolumeCapacity: empty.availableVolumeCapacity,
      totalLocatedCapacity: 100 * 1024,
      locatedVolumeCount: 1,
      usedCapacityRate: 0,
    });
    expect((await ldev(1)).numOfUsedBlock).toBe(0);

    // 1 MiB at offset 0: one 42 MiB page.
    await write(1, 0, MIB);
    expect((await pool()).availableVolumeCapacity).toBe(empty.availableVolumeCapacity - PAGE_MB);
    expect((await ldev(1)).numOfUsedBlock).toBe(PAGE_BLOCKS);

    // 42 MiB more: 43 MiB written take two pages.
    await write(1, MIB, PAGE);
    expect((await pool()).availableVolumeCapacity).toBe(empty.availableVolumeCapacity - 2 * PAGE_MB);
    expect((await ldev(1)).numOfUsedBlock).toBe(2 * PAGE_BLOCKS);

    // Rewriting data already there takes nothing more.
    await write(1, 0, MIB);
    expect((await ldev(1)).numOfUsedBlock).toBe(2 * PAGE_BLOCKS);

    expect((await t.job("DELETE", `${t.short}/ldevs/1`)).body.state).toBe("Succeeded");
    expect(await pool()).toMatchObject({
      availableVolumeCapacity: empty.availableVolumeCapacity,
      totalLocatedCapacity: 0,
      locatedVolumeCount: 0,
    });
  });

  it("charges a full-allocation volume all its pages from the start, as reserved capacity", async () => {
    const empty = await pool(1);
    await t.job("POST", `${t.short}/ldevs`, {
      poolId: 1,
      byteFormatCapacity: "1G",
      isFullAllocationEnabled: true,
    });
    const after = await pool(1);
    const pages = Math.ceil(1024 / 42);
    expect(after).toMatchObject({
      availableVolumeCapacity: empty.availableVolumeCapacity - pages * PAGE_MB,
      totalReservedCapacity: pages * PAGE_MB,
      reservedVolumeCount: 1,
    });
    // The other pool is untouched.
    expect((await pool(0)).availableVolumeCapacity).toBe((await pool(0)).totalPoolCapacity);
  });

  it("counts snapshot data its providers report, in the pair's snapshot pool", async () => {
    registerSnapshotUsage(testSnapshotUsage);
    registerSnapshotUsage(testSnapshotUsage); // a second registration is the same provider
    const before = await pool(2);
    snapshotBytes.set(2, 100 * MIB);
    t.sim.core.state.tiPairs.push(
      tiPairState({
        pvolLdevId: 1,
        muNumber: 0,
        snapshotGroupName: "g",
        snapshotPoolId: 2,
        hasSnapshotData: true,
      }),
    );
    const after = await pool(2);
    expect(after).toMatchObject({
      snapshotCount: 1,
      snapshotUsedCapacity: 100,
      // 100 MiB of snapshot data occupies 3 pages.
      availableVolumeCapacity: before.availableVolumeCapacity - 3 * PAGE_MB,
    });
    expect((await pool(0)).snapshotUsedCapacity).toBe(0);
  });

  it("reports usage as a truncated percentage", async () => {
    // A 7-page pool: one page is 14.28...% → 14.
    await t.stop();
    t = await startTestSim({
      pageSizeBytes: MIB,
      pools: [{ poolId: 0, poolName: "tiny", poolType: "HDP", capacityBytes: 7 * MIB }],
    });
    await t.job("POST", `${t.short}/ldevs`, { poolId: 0, byteFormatCapacity: "1G", ldevId: 0 });
    await write(0, 0, MIB);
    expect(await pool()).toMatchObject({
      usedCapacityRate: 14,
      totalPoolCapacity: 7,
      availableVolumeCapacity: 6,
    });
    // A full-allocation volume bigger than what is left is refused.
    const big = await t.job("POST", `${t.short}/ldevs`, {
      poolId: 0,
      byteFormatCapacity: "7M",
      isFullAllocationEnabled: true,
    });
    expect(big.body.error.errorCode).toEqual({ SSB1: "2E30", SSB2: "0007" });
    const fits = await t.job("POST", `${t.short}/ldevs`, {
      poolId: 0,
      byteFormatCapacity: "6M",
      isFullAllocationEnabled: true,
    });
    expect(fits.body.state).toBe("Succeeded");
    expect(await pool()).toMatchObject({
      usedCapacityRate: 100,
      availableVolumeCapacity: 0,
      poolStatus: "POLF",
    });
  });
});
