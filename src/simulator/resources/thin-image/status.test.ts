/**
 * The status machine in time (§6), with small timings: what a client polling GET sees between the
 * job's acceptance and the end of the array's background work, and when jobs complete.
 */
import { afterEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import type { TestSim } from "../../test-support/harness.js";
import {
  DP_POOL,
  NO_WAIT,
  TI_POOL,
  action,
  cloneBody,
  create,
  expectFailed,
  expectSucceeded,
  fill,
  snapBody,
  snapshotsUrl,
  startTiSim,
  status,
  volumes,
  waitStatus,
  write,
} from "./test-support/kit.js";

let t: TestSim;
afterEach(async () => {
  await t.stop();
});

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await work();
  return [result, Date.now() - started];
}

describe("snapshot pairs", () => {
  it("COPY → PAIR after tiPairCreateMs, with a progress rate meanwhile", async () => {
    t = await startTiSim({ tiPairCreateMs: 250 });
    await volumes(t, [1, 2]);
    const id = await create(t, snapBody(1, 2, { autoSplit: false }), NO_WAIT);
    const copying = await t.req("GET", snapshotsUrl(t, id));
    expect(copying.body.status).toBe("COPY");
    expect(typeof copying.body.progressRate).toBe("number");
    await waitStatus(t, id, "PAIR");
    const paired = await t.req("GET", snapshotsUrl(t, id));
    expect(paired.body.progressRate).toBeUndefined();
    expect(paired.body.concordanceRate).toBe(100);
  });

  it("split: PSUP while the split settles (tiSplitMs), then PSUS; the job waits for PSUS", async () => {
    t = await startTiSim({ tiSplitMs: 250 });
    await volumes(t, [1, 2, 3]);
    const id = await create(t, snapBody(1, 2, { autoSplit: false }));
    const [split, ms] = await timed(() => action(t, id, "split"));
    expectSucceeded(split);
    expect(ms).toBeGreaterThanOrEqual(240);
    expect(await status(t, id)).toBe("PSUS");
    const other = await create(t, snapBody(1, 3, { autoSplit: false }));
    expectSucceeded(await action(t, other, "split", undefined, NO_WAIT));
    expect(await status(t, other)).toBe("PSUP");
    await waitStatus(t, other, "PSUS");
  });

  it("resync: COPY for tiResyncMs, then PAIR (or PSUS with autoSplit)", async () => {
    t = await startTiSim({ tiResyncMs: 250 });
    await volumes(t, [1, 2]);
    const id = await create(t, snapBody(1, 2));
    expectSucceeded(await action(t, id, "resync", { autoSplit: false }, NO_WAIT));
    expect(await status(t, id)).toBe("COPY");
    expect((await t.req("GET", snapshotsUrl(t, id))).body.splitTime).toBeUndefined();
    await waitStatus(t, id, "PAIR");
    const [resync, ms] = await timed(() =>
      action(t, id, "split").then(() => action(t, id, "resync", { autoSplit: true })),
    );
    expectSucceeded(resync);
    expect(ms).toBeGreaterThanOrEqual(240);
    expect(await status(t, id)).toBe("PSUS");
  });

  it("restore: RCPY for tiRestoreMs, then PAIR, or PSUS with autoSplit", async () => {
    t = await startTiSim({ tiRestoreMs: 250 });
    await volumes(t, [1, 2]);
    const id = await create(t, snapBody(1, 2));
    expectSucceeded(await action(t, id, "restore", { autoSplit: true }, NO_WAIT));
    expect(await status(t, id)).toBe("RCPY");
    expect((await t.req("GET", snapshotsUrl(t, id))).body.progressRate).toBeLessThan(100);
    await waitStatus(t, id, "PSUS");
    const [restore, ms] = await timed(() => action(t, id, "restore", { autoSplit: false }));
    expectSucceeded(restore);
    expect(ms).toBeGreaterThanOrEqual(240);
    expect(await status(t, id)).toBe("PAIR");
  });

  it("delete: a cascade pair passes through SMPP for pairDeleteMs; a plain one goes at once", async () => {
    t = await startTiSim({ pairDeleteMs: 250 });
    await volumes(t, [1, 2, 3]);
    const cascade = await create(t, snapBody(1, 2));
    const plain = await create(t, snapBody(1, 3, { canCascade: false, snapshotGroupName: "plain" }));

    const quick = await t.job("DELETE", snapshotsUrl(t, cascade), undefined, NO_WAIT);
    expectSucceeded(quick);
    expect(await status(t, cascade)).toBe("SMPP");
    // The S-VOL keeps its HTI attribute until the pair is gone (Cinder waits for that, §9).
    expect((await t.req("GET", `${t.short}/ldevs/2`)).body.attributes).toContain("HTI");
    await waitStatus(t, cascade, undefined);
    const gone = await t.req("GET", snapshotsUrl(t, cascade));
    expect(gone.status).toBe(404);
    expect(gone.body.messageId).toBe("KART30013-E");
    const svol = await t.req("GET", `${t.short}/ldevs/2`);
    expect(svol.body.attributes).not.toContain("HTI");
    expect(svol.body.snapshotPoolId).toBeUndefined();

    // A plain pair: gone as its delete job answers, no SMPP phase (state, not time).
    const deleted = await t.job("DELETE", `${t.scoped}/snapshots/${plain}`);
    expectSucceeded(deleted);
    expect(deleted.body.affectedResources).toEqual([
      `/ConfigurationManager/v1/objects/storages/${t.sim.core.config.storageDeviceId}/snapshots/${plain}`,
    ]);
    expect(await status(t, plain)).toBeUndefined();
    // Both groups went with their last pair.
    expect((await t.req("GET", `${t.short}/snapshot-groups`)).body.data).toEqual([]);
  });
});

describe("clone pairs", () => {
  it("clonesAutomation: COPY → PSUP for the copy → SMPP → gone; the create job ends once copying", async () => {
    t = await startTiSim({ tiPairCreateMs: 50, cloneMiBPerSecond: 4, pairDeleteMs: 250 });
    await volumes(t, [1, 9]);
    await write(t, 1, 0, fill(0x33, 1024 * 1024)); // 250 ms at 4 MiB/s
    const id = await create(t, cloneBody(1, 9));
    expect(await status(t, id)).toBe("PSUP");
    const svol = await t.req("GET", `${t.short}/ldevs/9`);
    expect(svol.body.snapshotPoolId).toBe(DP_POOL);
    await waitStatus(t, id, "SMPP");
    await waitStatus(t, id, undefined);
    expect((await t.req("GET", `${t.short}/ldevs/9`)).body.attributes).not.toContain("HTI");
  });

  it("without automation: COPY → PAIR, then the clone action starts the copy", async () => {
    t = await startTiSim({ cloneMiBPerSecond: 8 });
    await volumes(t, [1, 9]);
    await write(t, 1, 0, fill(0x33, 1024 * 1024));
    const id = await create(t, cloneBody(1, 9, { clonesAutomation: false, copySpeed: undefined }));
    expect(await status(t, id)).toBe("PAIR");
    const template = await t.req("GET", `${snapshotsUrl(t, id)}/actions/clone`);
    expect(template.body).toEqual({ parameters: { copySpeed: "medium" } });
    expectSucceeded(await action(t, id, "clone", { copySpeed: "Faster" }));
    expect(await status(t, id)).toBe("PSUP");
    await waitStatus(t, id, undefined);
  });
});

describe("pool full", () => {
  it("suspends the pool's pairs (PSUE), refuses new pairs, and allows only resync and delete", async () => {
    t = await startTiSim();
    await volumes(t, [1, 2, 3, 4]);
    const inFull = await create(t, snapBody(1, 2, { snapshotPoolId: TI_POOL }));
    const paired = await create(t, snapBody(1, undefined, { snapshotPoolId: TI_POOL, autoSplit: false }));
    const elsewhere = await create(t, snapBody(3, 4, { snapshotPoolId: DP_POOL, snapshotGroupName: "dp" }));
    expect((await t.admin("PUT", "/simulator/faults", { poolFull: [TI_POOL] })).status).toBe(200);

    expect(await status(t, inFull)).toBe("PSUE");
    expect(await status(t, paired)).toBe("PSUE");
    expect(await status(t, elsewhere)).toBe("PSUS");
    expectFailed(
      await t.job("POST", snapshotsUrl(t), snapBody(3, undefined, { snapshotPoolId: TI_POOL })),
      SSB.POOL_FULL,
    );
    expect((await action(t, inFull, "split")).status).toBe(412);
    expect((await action(t, inFull, "restore")).status).toBe(412);

    // Resync is accepted, but the pair suspends again while the pool stays full.
    expectSucceeded(await action(t, inFull, "resync"));
    expect(await status(t, inFull)).toBe("PSUE");
    await t.admin("DELETE", "/simulator/faults");
    expectSucceeded(await action(t, inFull, "resync", { autoSplit: true }));
    expect(await status(t, inFull)).toBe("PSUS");
    expectSucceeded(await t.job("DELETE", snapshotsUrl(t, paired)));
    expect(await status(t, paired)).toBeUndefined();
  });
});

describe("action templates", () => {
  it.each([
    ["split", {}],
    ["resync", { autoSplit: false }],
    ["restore", { autoSplit: false }],
    ["assign-volume", { svolLdevId: null }],
  ])("GET .../actions/%s answers the template when allowed", async (name, parameters) => {
    t = await startTiSim();
    await volumes(t, [1]);
    const id = await create(t, snapBody(1, undefined));
    const res = await t.req("GET", `${t.scoped}/snapshots/${id}/actions/${name}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ parameters });
  });

  it("answers 404 for the template of an unknown pair", async () => {
    t = await startTiSim();
    const res = await t.req("GET", `${t.short}/snapshots/1,0/actions/split`);
    expect(res.status).toBe(404);
    expect(res.body.messageId).toBe("KART30013-E");
  });
});
