import { stat } from "node:fs/promises";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { GIB, MIB } from "../../config.js";
import { basicAuth, startTestSim } from "../../test-support/harness.js";
import type { TestSim } from "../../test-support/harness.js";
import { tiPairState } from "../../test-support/seed.js";
import type { TiStatus } from "../../state.js";

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
  const res = await t.job("POST", `${t.short}/ldevs`, { poolId: 0, byteFormatCapacity: "1G", ldevId: 1 });
  expect(res.body.state).toBe("Succeeded");
});
afterEach(async () => {
  await t.stop();
});

/** The LDEV as GET shows it (JSON under test). */
const get = async (id = 1): Promise<Record<string, unknown>> =>
  (await t.req("GET", `${t.short}/ldevs/${id}`)).body as Record<string, unknown>;

/** Host-side data access through the admin endpoint (binary bodies, so a raw fetch). */
async function write(ldevId: number, offset: number, data: Uint8Array): Promise<void> {
  const res = await fetch(`${t.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}`, {
    method: "PUT",
    headers: { Authorization: basicAuth, "Content-Type": "application/octet-stream" },
    body: data,
  });
  expect(res.status).toBe(200);
}

async function read(ldevId: number, offset: number, length: number): Promise<Buffer> {
  const res = await fetch(
    `${t.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}&length=${length}`,
    {
      headers: { Authorization: basicAuth },
    },
  );
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

function pushTiPair(status: TiStatus): void {
  t.sim.core.state.tiPairs.push(
    tiPairState({
      pvolLdevId: 1,
      muNumber: 0,
      snapshotGroupName: "g",
      status,
      hasSnapshotData: status === "PSUS",
    }),
  );
}

describe("PATCH /ldevs/{id}", () => {
  it("sets the label with PATCH, and with the legacy PUT Cinder sends", async () => {
    const patched = await t.job("PATCH", `${t.short}/ldevs/1`, { label: "vol-a" });
    expect(patched.body).toMatchObject({
      state: "Succeeded",
      affectedResources: ["/ConfigurationManager/v1/objects/ldevs/1"],
    });
    expect((await get()).label).toBe("vol-a");
    const put = await t.job("PUT", `${t.scoped}/ldevs/1`, { label: "0123456789abcdef0123456789abcdef" });
    expect(put.body.state).toBe("Succeeded");
    expect((await get()).label).toBe("0123456789abcdef0123456789abcdef");
    await t.job("PATCH", `${t.short}/ldevs/1`, { label: "" });
    expect(await get()).not.toHaveProperty("label");
  });

  it.each([
    ["33 characters", "a".repeat(33)],
    ["a leading dash", "-vol"],
    ["a space", "my vol"],
    ["a slash", "a/b"],
    ["a non-string", 12],
  ])("refuses a label with %s (400, unchanged)", async (_name, label) => {
    await t.job("PATCH", `${t.short}/ldevs/1`, { label: "before" });
    const res = await t.job("PATCH", `${t.short}/ldevs/1`, { label });
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe("KART20003-E");
    expect(res.body.message).toContain("label");
    expect((await get()).label).toBe("before");
  });

  it("accepts every character the attribute rule allows, up to 32", async () => {
    const label = "Az09,-.:@_".padEnd(32, "x");
    expect((await t.job("PATCH", `${t.short}/ldevs/1`, { label })).body.state).toBe("Succeeded");
    expect((await get()).label).toBe(label);
  });

  it("changes capacity saving, its process mode (alone) and ALUA", async () => {
    await t.job("PATCH", `${t.short}/ldevs/1`, { dataReductionMode: "compression", isAluaEnabled: true });
    expect(await get()).toMatchObject({
      dataReductionMode: "compression",
      dataReductionStatus: "ENABLED",
      dataReductionProcessMode: "inline",
      isAluaEnabled: true,
    });
    await t.job("PATCH", `${t.short}/ldevs/1`, { dataReductionProcessMode: "post_process" });
    expect((await get()).dataReductionProcessMode).toBe("post_process");
    const mixed = await t.job("PATCH", `${t.short}/ldevs/1`, {
      dataReductionProcessMode: "inline",
      label: "x",
    });
    expect(mixed.status).toBe(400);
    await t.job("PATCH", `${t.short}/ldevs/1`, { dataReductionMode: "disabled" });
    const off = await get();
    expect(off.dataReductionStatus).toBe("DISABLED");
    expect(off).not.toHaveProperty("dataReductionProcessMode");
    const refused = await t.job("PATCH", `${t.short}/ldevs/1`, { dataReductionProcessMode: "inline" });
    expect(refused.status).toBe(412);
  });

  it.each([
    ["an empty body", {}],
    ["an unknown attribute", { size: 5 }],
    ["a bad capacity saving mode", { dataReductionMode: "zip" }],
    ["a non-boolean flag", { isAluaEnabled: "yes" }],
  ])("refuses %s with 400", async (_name, body) => {
    const res = await t.job("PATCH", `${t.short}/ldevs/1`, body);
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe("KART20003-E");
  });

  it("answers 404 KART30013-E for an undefined LDEV", async () => {
    const res = await t.job("PATCH", `${t.short}/ldevs/9`, { label: "x" });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ messageId: "KART30013-E", errorCode: { errorCode: "EX_ENOOBJ" } });
  });

  it("turns on full allocation only when the pool has the pages", async () => {
    await t.job("POST", `${t.short}/ldevs`, { poolId: 1, byteFormatCapacity: "2T", ldevId: 2 });
    const res = await t.job("PATCH", `${t.short}/ldevs/2`, { isFullAllocationEnabled: true });
    expect(res.body.state).toBe("Failed");
    expect(res.body.error.errorCode).toEqual({ SSB1: "2E30", SSB2: "0007" });
    expect((await get(2)).isFullAllocationEnabled).toBe(false);
    expect((await t.job("PATCH", `${t.short}/ldevs/1`, { isFullAllocationEnabled: true })).body.state).toBe(
      "Succeeded",
    );
    // A full-allocation volume holds every page of its capacity: ceil(1024 MiB / 42 MiB) = 25.
    expect((await get(1)).numOfUsedBlock).toBe((25 * 42 * MIB) / 512);
  });
});

describe("LDEV actions", () => {
  const action = (name: string, id = 1) => `${t.short}/ldevs/${id}/actions/${name}`;

  it("expands by bytes or blocks, growing the data file and keeping its data", async () => {
    await write(1, 0, Buffer.from("keep me"));
    const templ = await t.req("GET", action("expand"));
    expect(templ.status).toBe(200);
    expect(templ.body.parameters).toHaveProperty("additionalByteFormatCapacity");
    const byBytes = await t.job("POST", `${action("expand")}/invoke`, {
      parameters: { additionalByteFormatCapacity: "1G" },
    });
    expect(byBytes.body).toMatchObject({
      state: "Succeeded",
      affectedResources: ["/ConfigurationManager/v1/objects/ldevs/1"],
    });
    // Cinder's legacy spelling: PUT on /invoke.
    const byBlocks = await t.job("PUT", `${t.scoped}/ldevs/1/actions/expand/invoke`, {
      parameters: { additionalBlockCapacity: 2048 },
    });
    expect(byBlocks.body.state).toBe("Succeeded");
    const got = await get();
    expect(got.blockCapacity).toBe(2 * 2_097_152 + 2048);
    expect(got.byteFormatCapacity).toBe("2.00 G");
    expect((await stat(t.sim.core.blocks.ldevPath(1))).size).toBe(2 * GIB + MIB);
    expect((await read(1, 0, 7)).toString()).toBe("keep me");
  });

  it.each([
    ["no capacity", {}],
    ["both capacities", { additionalByteFormatCapacity: "1G", additionalBlockCapacity: 8 }],
    ["a bad capacity", { additionalByteFormatCapacity: "1 G" }],
    ["a negative capacity", { additionalBlockCapacity: -8 }],
  ])("refuses an expansion with %s (400)", async (_name, parameters) => {
    const res = await t.job("POST", `${action("expand")}/invoke`, { parameters });
    expect(res.status).toBe(400);
    expect((await get()).blockCapacity).toBe(2_097_152);
  });

  it("refuses to expand beyond 256 TiB", async () => {
    const res = await t.job("POST", `${action("expand")}/invoke`, {
      parameters: { additionalByteFormatCapacity: "256T" },
    });
    expect(res.body.error.errorCode).toEqual({ SSB1: "2E11", SSB2: "8500" });
  });

  it.each([
    ["PAIR, no enhancedExpansion", "PAIR", false, "Failed"],
    ["PAIR, enhancedExpansion", "PAIR", true, "Failed"],
    ["PSUS, no enhancedExpansion", "PSUS", false, "Failed"],
    ["PSUS, enhancedExpansion", "PSUS", true, "Succeeded"],
  ] as const)(
    "expands a Thin Image P-VOL only when split and asked to (%s)",
    async (_n, status, enhanced, state) => {
      pushTiPair(status);
      const res = await t.job("POST", `${action("expand")}/invoke`, {
        parameters: { additionalByteFormatCapacity: "1G", enhancedExpansion: enhanced },
      });
      expect(res.body.state).toBe(state);
      if (state === "Failed") expect(res.body.error.errorCode).toEqual({ SSB1: "2E10", SSB2: "9705" });
      expect((await get()).blockCapacity).toBe(state === "Failed" ? 2_097_152 : 4_194_304);
    },
  );

  it("answers 404 for actions on an undefined LDEV, template and invoke alike", async () => {
    expect((await t.req("GET", action("expand", 8))).status).toBe(404);
    const res = await t.job("POST", `${action("expand", 8)}/invoke`, {
      parameters: { additionalBlockCapacity: 8 },
    });
    expect(res.status).toBe(404);
    expect(res.body.messageId).toBe("KART30013-E");
  });

  it("sets QoS one key per call, 0 removing it, lower never above upper", async () => {
    const qos = async (): Promise<unknown> =>
      (await t.req("GET", `${t.short}/ldevs/1?detailInfoType=qos`)).body.qos as unknown;
    const set = (parameters: Record<string, number>) =>
      t.job("POST", `${action("set-qos")}/invoke`, { parameters });
    expect((await set({ upperIops: 5000 })).body.state).toBe("Succeeded");
    expect((await set({ lowerIops: 100 })).body.state).toBe("Succeeded");
    expect(await qos()).toEqual({ upperIops: 5000, lowerIops: 100 });
    expect((await set({ upperIops: 5000, lowerIops: 100 })).status).toBe(400);
    expect((await set({})).status).toBe(400);
    expect((await set({ upperIops: 50 })).status).toBe(400);
    expect((await set({ responsePriority: 4 })).status).toBe(400);
    expect((await set({ upperIops: 99 })).status).toBe(400);
    expect((await set({ lowerIops: 6000 })).status).toBe(400);
    expect((await set({ upperIops: 0 })).body.state).toBe("Succeeded");
    expect(await qos()).toEqual({ lowerIops: 100 });
  });

  it("formats a volume back to zeros and no pages, in place", async () => {
    await write(1, 5 * MIB, new Uint8Array(MIB).fill(7));
    const before = await stat(t.sim.core.blocks.ldevPath(1));
    expect((await get()).numOfUsedBlock).toBeGreaterThan(0);
    const res = await t.job("POST", `${action("format")}/invoke`, { parameters: { operationType: "FMT" } });
    expect(res.body.state).toBe("Succeeded");
    expect((await read(1, 5 * MIB, 16)).every((b) => b === 0)).toBe(true);
    const after = await stat(t.sim.core.blocks.ldevPath(1));
    expect(after.ino).toBe(before.ino);
    expect(after.size).toBe(GIB);
    expect((await get()).numOfUsedBlock).toBe(0);
    expect((await t.job("POST", `${action("format")}/invoke`, { parameters: {} })).status).toBe(400);
  });

  it("refuses to format a volume in a pair", async () => {
    pushTiPair("PAIR");
    await write(1, 0, Buffer.from("data"));
    const res = await t.job("POST", `${action("format")}/invoke`, { parameters: { operationType: "QFMT" } });
    expect(res.body.error.errorCode).toEqual({ SSB1: "2E10", SSB2: "9705" });
    expect((await read(1, 0, 4)).toString()).toBe("data");
  });

  it("runs discard-zero-page as a succeeding job", async () => {
    const res = await t.job("POST", `${action("discard-zero-page")}/invoke`);
    expect(res.body).toMatchObject({
      state: "Succeeded",
      affectedResources: ["/ConfigurationManager/v1/objects/ldevs/1"],
    });
  });

  it("blocks and unblocks the volume with change-status", async () => {
    expect((await t.req("GET", action("change-status"))).body).toEqual({ parameters: { status: null } });
    await t.job("POST", `${action("change-status")}/invoke`, { parameters: { status: "blk" } });
    expect((await get()).status).toBe("BLK");
    await t.job("POST", `${action("change-status")}/invoke`, { parameters: { status: "nml" } });
    expect((await get()).status).toBe("NML");
    expect(
      (await t.job("POST", `${action("change-status")}/invoke`, { parameters: { status: "off" } })).status,
    ).toBe(400);
  });
});
