import { stat } from "node:fs/promises";

import { afterEach, describe, expect, it } from "vitest";

import { GIB, MIB } from "../../config.js";
import { affectedId, startTestSim } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";

let t: TestSim | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function sim(options: Parameters<typeof startTestSim>[0] = {}): Promise<TestSim> {
  t = await startTestSim(options);
  return t;
}

describe("POST /ldevs", () => {
  it("creates a DP-VOL the way Cinder asks, answering its URL in the request's style", async () => {
    const s = await sim();
    const res = await s.job("POST", `${s.scoped}/ldevs`, {
      byteFormatCapacity: "10G",
      poolId: 0,
      isParallelExecutionEnabled: true,
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "Completed", state: "Succeeded" });
    expect(res.body.affectedResources).toEqual([
      `/ConfigurationManager/v1/objects/storages/886000123456/ldevs/0`,
    ]);

    const got = await s.req("GET", `${s.short}/ldevs/${affectedId(res.body)}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      ldevId: 0,
      emulationType: "OPEN-V-CVS",
      byteFormatCapacity: "10.00 G",
      blockCapacity: 20_971_520,
      attributes: ["CVS", "HDP"],
      status: "NML",
      poolId: 0,
      numOfUsedBlock: 0,
      isFullAllocationEnabled: false,
      resourceGroupId: 0,
      dataReductionStatus: "DISABLED",
      dataReductionMode: "disabled",
      isAluaEnabled: false,
    });
    // Unlabelled and unmapped: no label, no ports, no naaId (present only when LU-mapped).
    expect(got.body).not.toHaveProperty("label");
    expect(got.body).not.toHaveProperty("ports");
    expect(got.body).not.toHaveProperty("naaId");
    // The data is a sparse file of exactly the capacity, holding nothing yet.
    const file = await stat(s.sim.core.blocks.ldevPath(0));
    expect(file.size).toBe(10 * GIB);
    expect(file.blocks).toBe(0);
  });

  it.each([
    [{ byteFormatCapacity: "512M" }, 1_048_576, "512.00 M"],
    [{ byteFormatCapacity: "1T" }, 2_147_483_648, "1.00 T"],
    [{ byteFormatCapacity: "1.5G" }, 3_145_728, "1.50 G"],
    [{ byteFormatCapacity: "3K" }, 6, "3.00 K"],
    [{ blockCapacity: 1 }, 1, "0.50 K"],
    [{ blockCapacity: 2_097_153 }, 2_097_153, "1.00 G"],
  ])("keeps the exact capacity of %j (base 1024, whole blocks)", async (capacity, blocks, shown) => {
    const s = await sim();
    const res = await s.job("POST", `${s.short}/ldevs`, { poolId: 1, ...capacity });
    expect(res.body.state).toBe("Succeeded");
    const got = await s.req("GET", `${s.short}/ldevs/${affectedId(res.body)}`);
    expect(got.body.blockCapacity).toBe(blocks);
    expect(got.body.byteFormatCapacity).toBe(shown);
    expect((await stat(s.sim.core.blocks.ldevPath(Number(affectedId(res.body))))).size).toBe(blocks * 512);
  });

  it("uses an explicit ldevId, and refuses it once defined with SSB 2E22/0001", async () => {
    const s = await sim();
    const first = await s.job("POST", `${s.short}/ldevs`, { poolId: 0, blockCapacity: 2048, ldevId: 300 });
    expect(first.body.affectedResources).toEqual(["/ConfigurationManager/v1/objects/ldevs/300"]);
    const again = await s.job("POST", `${s.short}/ldevs`, { poolId: 0, blockCapacity: 4096, ldevId: 300 });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ status: "Completed", state: "Failed", affectedResources: [] });
    expect(again.body.error).toMatchObject({
      messageId: "KART30000-E",
      errorCode: { SSB1: "2E22", SSB2: "0001" },
    });
    // The failed job changed nothing.
    expect((await s.req("GET", `${s.short}/ldevs/300`)).body.blockCapacity).toBe(2048);
  });

  it("assigns the lowest free id of startLdevId..endLdevId, then fails with 2E11/2209", async () => {
    const s = await sim();
    await s.job("POST", `${s.short}/ldevs`, { poolId: 0, blockCapacity: 2048, ldevId: 11 });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await s.job("POST", `${s.short}/ldevs`, {
        poolId: 0,
        byteFormatCapacity: "1G",
        isParallelExecutionEnabled: true,
        startLdevId: 10,
        endLdevId: 12,
      });
      ids.push(affectedId(res.body));
    }
    expect(ids).toEqual(["10", "12"]);
    const full = await s.job("POST", `${s.short}/ldevs`, {
      poolId: 0,
      byteFormatCapacity: "1G",
      startLdevId: 10,
      endLdevId: 12,
    });
    expect(full.body.state).toBe("Failed");
    expect(full.body.error.errorCode).toEqual({ SSB1: "2E11", SSB2: "2209" });
  });

  it("takes the lowest free id of the whole array when no id or range is given", async () => {
    const s = await sim();
    await s.job("POST", `${s.short}/ldevs`, { poolId: 0, blockCapacity: 2048, ldevId: 0 });
    const res = await s.job("POST", `${s.short}/ldevs`, { poolId: 0, blockCapacity: 2048 });
    expect(affectedId(res.body)).toBe("1");
  });

  it("records capacity saving, DRS and full allocation, and ignores options sent as null", async () => {
    const s = await sim();
    const res = await s.job("POST", `${s.short}/ldevs`, {
      poolId: 0,
      byteFormatCapacity: "1G",
      dataReductionMode: "compression_deduplication",
      isDataReductionSharedVolumeEnabled: true,
      isFullAllocationEnabled: true,
      isCompressionAccelerationEnabled: null,
    });
    expect(res.body.state).toBe("Succeeded");
    const got = await s.req("GET", `${s.short}/ldevs/${affectedId(res.body)}`);
    expect(got.body).toMatchObject({
      attributes: ["CVS", "HDP", "DRS"],
      dataReductionMode: "compression_deduplication",
      dataReductionStatus: "ENABLED",
      dataReductionProcessMode: "inline",
      isFullAllocationEnabled: true,
    });
  });

  it.each([
    ["no poolId", { byteFormatCapacity: "10G" }, "KART20008-E", "poolId"],
    ["no capacity", { poolId: 0 }, "KART20008-E", "byteFormatCapacity"],
    ["a capacity without unit", { poolId: 0, byteFormatCapacity: "10" }, "KART20003-E", "byteFormatCapacity"],
    ["a capacity in GB", { poolId: 0, byteFormatCapacity: "10GB" }, "KART20003-E", "byteFormatCapacity"],
    ["a zero capacity", { poolId: 0, byteFormatCapacity: "0G" }, "KART20003-E", "byteFormatCapacity"],
    ["a zero blockCapacity", { poolId: 0, blockCapacity: 0 }, "KART20003-E", "blockCapacity"],
    [
      "both capacities",
      { poolId: 0, byteFormatCapacity: "1G", blockCapacity: 8 },
      "KART20003-E",
      "blockCapacity",
    ],
    ["an id above the range", { poolId: 0, blockCapacity: 8, ldevId: 65_280 }, "KART20003-E", "ldevId"],
    [
      "ldevId with parallel execution",
      { poolId: 0, blockCapacity: 8, ldevId: 5, isParallelExecutionEnabled: true },
      "KART20003-E",
      "isParallelExecutionEnabled",
    ],
    [
      "an empty range",
      { poolId: 0, blockCapacity: 8, startLdevId: 9, endLdevId: 3 },
      "KART20003-E",
      "endLdevId",
    ],
    ["a label (mainframe only)", { poolId: 0, blockCapacity: 8, label: "x" }, "KART20003-E", "label"],
    ["a parity group", { parityGroupId: "1-1", blockCapacity: 8 }, "KART20003-E", "parityGroupId"],
    ["a Thin Image V-VOL", { poolId: -1, blockCapacity: 8 }, "KART20003-E", "poolId"],
    ["an unknown field", { poolId: 0, blockCapacity: 8, colour: "red" }, "KART20003-E", ""],
    ["a non-OPEN-V emulation", { poolId: 0, blockCapacity: 8, emulationType: "3390-A" }, "KART20003-E", ""],
  ])("rejects %s with 400 and no job", async (_name, body, messageId, parameter) => {
    const s = await sim();
    const res = await s.job("POST", `${s.scoped}/ldevs`, body);
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe(messageId);
    expect(res.body.message).toContain(parameter);
    expect(res.body).not.toHaveProperty("jobId");
    expect((await s.req("GET", `${s.short}/jobs`)).body.data).toEqual([]);
  });

  it.each([
    ["an unknown pool", { poolId: 9, byteFormatCapacity: "1G" }, ["2E30", "000E"]],
    ["a Thin Image pool", { poolId: 2, byteFormatCapacity: "1G" }, ["2E30", "000E"]],
    ["more than 256 TiB", { poolId: 0, byteFormatCapacity: "300T" }, ["2E11", "8500"]],
    [
      "a full-allocation volume larger than the free pages",
      { poolId: 1, byteFormatCapacity: "2T", isFullAllocationEnabled: true },
      ["2E30", "0007"],
    ],
  ])("fails the job for %s, creating nothing", async (_name, body, [ssb1, ssb2]) => {
    const s = await sim();
    const res = await s.job("POST", `${s.short}/ldevs`, { ...body, ldevId: 7 });
    expect(res.body).toMatchObject({ status: "Completed", state: "Failed" });
    expect(res.body.error.errorCode).toEqual({ SSB1: ssb1, SSB2: ssb2 });
    expect((await s.req("GET", `${s.short}/ldevs/7`)).body.emulationType).toBe("NOT DEFINED");
  });

  it("over-provisions thin volumes: 2 TiB in a 1 TiB pool is fine until pages are needed", async () => {
    const s = await sim();
    const res = await s.job("POST", `${s.short}/ldevs`, { poolId: 1, byteFormatCapacity: "2T" });
    expect(res.body.state).toBe("Succeeded");
    const pool = await s.req("GET", `${s.short}/pools/1`);
    expect(pool.body.totalLocatedCapacity).toBe(2 * 1024 * 1024);
    expect(pool.body.availableVolumeCapacity).toBe(pool.body.totalPoolCapacity);
  });

  it("fails with CAPACITY_INVALID when the data directory cannot hold the file, leaving none", async () => {
    const s = await sim();
    // ext4 caps a file at 16 TiB: the 20 TiB volume is valid for the array but not for the disk.
    const res = await s.job("POST", `${s.short}/ldevs`, { poolId: 0, byteFormatCapacity: "20T", ldevId: 4 });
    if (res.body.state === "Succeeded") {
      // A filesystem with larger files (xfs, btrfs) holds it: then it must really be 20 TiB.
      expect((await stat(s.sim.core.blocks.ldevPath(4))).size).toBe(20 * 1024 * GIB);
      return;
    }
    expect(res.body.error.errorCode).toEqual({ SSB1: "2E11", SSB2: "8500" });
    await expect(stat(s.sim.core.blocks.ldevPath(4))).rejects.toThrow(/ENOENT/);
  });

  it("fails every creation in a pool the poolFull fault marks as full", async () => {
    const s = await sim();
    await s.admin("PUT", "/simulator/faults", { poolFull: [0] });
    const full = await s.job("POST", `${s.short}/ldevs`, { poolId: 0, byteFormatCapacity: "1G" });
    expect(full.body.state).toBe("Failed");
    expect(full.body.error.errorCode).toEqual({ SSB1: "2E30", SSB2: "0007" });
    const other = await s.job("POST", `${s.short}/ldevs`, { poolId: 1, byteFormatCapacity: "1G" });
    expect(other.body.state).toBe("Succeeded");
  });

  it("gives a re-created id a new NAA identity", async () => {
    const s = await sim({ pageSizeBytes: MIB });
    const naaOf = async (): Promise<string> => {
      s.sim.core.state.luns.push({ portId: "CL1-A", hostGroupNumber: 0, lun: 0, ldevId: 5 });
      const naa = String((await s.req("GET", `${s.short}/ldevs/5`)).body.naaId);
      s.sim.core.state.luns = [];
      return naa;
    };
    await s.job("POST", `${s.short}/ldevs`, { poolId: 0, byteFormatCapacity: "1G", ldevId: 5 });
    const first = await naaOf();
    expect((await s.job("DELETE", `${s.short}/ldevs/5`)).body.state).toBe("Succeeded");
    await s.job("POST", `${s.short}/ldevs`, { poolId: 0, byteFormatCapacity: "1G", ldevId: 5 });
    const second = await naaOf();
    expect(first).toMatch(/^60060e80[0-9a-f]{24}$/);
    expect(second).toMatch(/^60060e80[0-9a-f]{24}$/);
    expect(second).not.toBe(first);
  });
});
