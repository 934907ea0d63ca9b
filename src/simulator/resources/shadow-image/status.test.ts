import { afterEach, describe, expect, it } from "vitest";

import { ManualClock } from "../../clock.js";
import { SSB } from "../../errors.js";
import type { TestSim } from "../../test-support/harness.js";
import {
  createPair,
  expectFailed,
  getPair,
  NO_WAIT,
  pairAction,
  pairBody,
  pairUrl,
  pattern,
  readData,
  startSiSim,
  volumes,
  waitPvolStatus,
  writeData,
} from "./test-support/kit.js";

const COPY_MS = 100;

let t: TestSim | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function sim(copyMs = COPY_MS, options: Parameters<typeof startSiSim>[1] = {}): Promise<TestSim> {
  t = await startSiSim(copyMs, options);
  await volumes(t, [10, 11, 12, 13]);
  return t;
}

function statuses(pair: { pvolStatus: string; svolStatus: string }): string {
  return `${pair.pvolStatus}/${pair.svolStatus}`;
}

describe("ShadowImage status machine (D-SI-STATUS)", () => {
  it("without NoWait, ends the create job only when the initial copy has ended", async () => {
    const s = await sim();
    const started = Date.now();
    const id = await createPair(s, pairBody(10, 11));
    expect(Date.now() - started).toBeGreaterThanOrEqual(COPY_MS - 10);
    expect(statuses(await getPair(s, id))).toBe("PAIR/PAIR");
  });

  it("with NoWait, ends the create job at acceptance; the client follows COPY → PAIR", async () => {
    const s = await sim(300);
    const id = await createPair(s, pairBody(10, 11), NO_WAIT);
    const copying = await getPair(s, id);
    expect(statuses(copying)).toBe("COPY/COPY");
    expect(copying.copyProgressRate).toBeGreaterThanOrEqual(0);
    expect(copying.copyProgressRate).toBeLessThan(100);
    await waitPvolStatus(s, id, "PAIR");
    expect((await getPair(s, id)).copyProgressRate).toBe(100);
  });

  it("splits at the end of the initial copy with autoSplit (PSUS on the P-VOL, SSUS on the S-VOL)", async () => {
    const s = await sim();
    const id = await createPair(s, pairBody(10, 11, { autoSplit: true }), NO_WAIT);
    expect((await getPair(s, id)).pvolStatus).toBe("COPY");
    await waitPvolStatus(s, id, "PSUS");
    expect(statuses(await getPair(s, id))).toBe("PSUS/SSUS");
  });

  it("walks split, resync and restore, with the documented no-ops and refusals", async () => {
    const s = await sim();
    const id = await createPair(s, pairBody(10, 11));
    const expectStatus = async (want: string) => {
      expect(statuses(await getPair(s, id))).toBe(want);
    };

    // Resyncing PAIR succeeds and does nothing; restoring PAIR is refused.
    expect((await pairAction(s, id, "resync")).body.state).toBe("Succeeded");
    await expectStatus("PAIR/PAIR");
    expectFailed(await pairAction(s, id, "restore"), SSB.PAIR_STATUS_FORBIDS);
    expect((await s.req("GET", `${pairUrl(s, id)}/actions/restore`)).status).toBe(412);

    // Split, then splitting PSUS again succeeds and does nothing.
    expect((await pairAction(s, id, "split")).body.state).toBe("Succeeded");
    await expectStatus("PSUS/SSUS");
    expect((await pairAction(s, id, "split")).body.state).toBe("Succeeded");
    await expectStatus("PSUS/SSUS");

    // Resync (NoWait): COPY; resyncing COPY does nothing; restoring COPY is refused.
    await pairAction(s, id, "resync", {}, NO_WAIT);
    await expectStatus("COPY/COPY");
    expect((await pairAction(s, id, "resync", {}, NO_WAIT)).body.state).toBe("Succeeded");
    expectFailed(await pairAction(s, id, "restore", {}, NO_WAIT), SSB.PAIR_STATUS_FORBIDS);
    await waitPvolStatus(s, id, "PAIR");

    // Restore (NoWait): RCPY; split during RCPY is refused, resync does nothing.
    await pairAction(s, id, "split");
    const template = await s.req("GET", `${pairUrl(s, id)}/actions/restore`);
    expect(template.status).toBe(200);
    expect(template.body).toEqual({ parameters: { copyPace: 3, quickMode: false } });
    await pairAction(s, id, "restore", {}, NO_WAIT);
    await expectStatus("RCPY/RCPY");
    expectFailed(await pairAction(s, id, "split"), SSB.PAIR_STATUS_FORBIDS);
    const splitTemplate = await s.req("GET", `${pairUrl(s, id)}/actions/split`);
    expect(splitTemplate.status).toBe(412);
    expect(splitTemplate.body.messageId).toBe("KART30086-E");
    expect((await pairAction(s, id, "resync", {}, NO_WAIT)).body.state).toBe("Succeeded");
    await waitPvolStatus(s, id, "PAIR");
  });

  it("ends a waiting resync or restore job only when its copy has ended", async () => {
    const s = await sim();
    const id = await createPair(s, pairBody(10, 11, { autoSplit: true }));
    expect((await getPair(s, id)).pvolStatus).toBe("PSUS");
    for (const [action, after] of [
      ["resync", "PAIR"],
      ["split", "PSUS"],
      ["restore", "PAIR"],
    ] as const) {
      const res = await pairAction(s, id, action);
      expect(res.body.state).toBe("Succeeded");
      expect((await getPair(s, id)).pvolStatus).toBe(after);
    }
  });

  it("holds a steady split during COPY until the copy ends, and a quick split splits at once", async () => {
    const s = await sim(200);
    const steady = await createPair(s, pairBody(10, 11), NO_WAIT);
    await pairAction(s, steady, "split", {}, NO_WAIT);
    expect((await getPair(s, steady)).pvolStatus).toBe("COPY");
    await waitPvolStatus(s, steady, "PSUS");

    const quick = await createPair(s, pairBody(12, 13), NO_WAIT);
    await pairAction(s, quick, "split", { quickMode: true }, NO_WAIT);
    expect(statuses(await getPair(s, quick))).toBe("PSUS/SSUS");
  });

  it("keeps a quick split during COPY in PSUS(SP) until the copy is done: no delete meanwhile", async () => {
    const s = await sim(300);
    await writeData(s, 12, 0, pattern("data", 64 * 1024));
    const quick = await createPair(s, pairBody(12, 13), NO_WAIT);
    await pairAction(s, quick, "split", { quickMode: true }, NO_WAIT);
    const splitting = await getPair(s, quick);
    expect(statuses(splitting)).toBe("PSUS/SSUS");
    expect(splitting.copyProgressRate).toBeLessThan(100);
    // D-SI-STATUS: PSUS(SP) (quick split) cannot be deleted.
    expectFailed(await s.job("DELETE", pairUrl(s, quick)), SSB.PAIR_STATUS_FORBIDS);
    for (let i = 0; i < 100 && (await getPair(s, quick)).copyProgressRate !== 100; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await s.job("DELETE", pairUrl(s, quick))).body.state).toBe("Succeeded");
    // The S-VOL kept the image of the split.
    expect(await readData(s, 13, 0, 64 * 1024)).toEqual(pattern("data", 64 * 1024));
  });

  it("starts a pair created with autoSplit and quickMode in PSUS(SP) while its initial copy runs", async () => {
    const s = await sim(300);
    const id = await createPair(s, { ...pairBody(12, 13), autoSplit: true, quickMode: true }, NO_WAIT);
    const pair = await getPair(s, id);
    expect(statuses(pair)).toBe("PSUS/SSUS");
    expect(pair.copyProgressRate).toBeLessThan(100);
    expectFailed(await s.job("DELETE", pairUrl(s, id)), SSB.PAIR_STATUS_FORBIDS);
  });

  it("suspends a pair whose S-VOL pool is full (PSUE): then only resync and delete", async () => {
    const s = await sim();
    const id = await createPair(s, pairBody(10, 11));
    await s.admin("PUT", "/simulator/faults", { poolFull: [0] });
    await waitPvolStatus(s, id, "PSUE");
    const failed = await getPair(s, id);
    expect(statuses(failed)).toBe("PSUE/PSUE");
    expect(failed.copyProgressRate).toBeUndefined();

    expectFailed(await pairAction(s, id, "split"), SSB.PAIR_STATUS_FORBIDS);
    expectFailed(await pairAction(s, id, "restore"), SSB.PAIR_STATUS_FORBIDS);
    expect((await s.req("GET", `${pairUrl(s, id)}/actions/split`)).status).toBe(412);
    expect((await s.req("GET", `${pairUrl(s, id)}/actions/resync`)).status).toBe(200);

    await s.admin("DELETE", "/simulator/faults");
    await pairAction(s, id, "resync", {}, NO_WAIT);
    expect((await getPair(s, id)).pvolStatus).toBe("COPY");
    await waitPvolStatus(s, id, "PAIR");

    await s.admin("PUT", "/simulator/faults", { poolFull: [0] });
    await waitPvolStatus(s, id, "PSUE");
    const deleted = await s.job("DELETE", pairUrl(s, id));
    expect(deleted.body.state).toBe("Succeeded");
    expect((await s.req("GET", pairUrl(s, id))).status).toBe(404);
  });

  it("leaves the split pair alone when the pool fills (a split pair copies nothing)", async () => {
    const s = await sim(0);
    const id = await createPair(s, pairBody(10, 11, { autoSplit: true }));
    await s.admin("PUT", "/simulator/faults", { poolFull: [0] });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await getPair(s, id)).pvolStatus).toBe("PSUS");
  });

  it("deletes a pair during COPY: the pair and its group are gone, both volumes stay", async () => {
    const s = await sim(500);
    await writeData(s, 10, 0, pattern("P"));
    await writeData(s, 11, 0, pattern("S"));
    const id = await createPair(s, pairBody(10, 11), NO_WAIT);
    expect((await getPair(s, id)).pvolStatus).toBe("COPY");
    const res = await s.job("DELETE", pairUrl(s, id));
    expect(res.body.state).toBe("Succeeded");
    expect(res.body.affectedResources[0]).toContain(`/local-clone-copypairs/${id}`);
    expect((await s.req("GET", pairUrl(s, id))).status).toBe(404);
    expect((await s.req("GET", `${s.short}/local-clone-copygroups`)).body.data).toEqual([]);
    expect(await readData(s, 10, 0, 4096)).toEqual(pattern("P"));
    // sim: the S-VOL's content after a delete during COPY is not guaranteed; it keeps what it had.
    expect(await readData(s, 11, 0, 4096)).toEqual(pattern("S"));
    expect(Object.keys(s.sim.core.state.ldevs)).toEqual(expect.arrayContaining(["10", "11"]));
  });
});

describe("copy time and restarts (manual clock)", () => {
  it("reports progress over a copy time scaled by copyPace", async () => {
    const clock = new ManualClock();
    const s = await sim(1_000, { clock });
    const medium = await createPair(s, pairBody(10, 11), NO_WAIT);
    const fast = await createPair(s, pairBody(12, 13, { copyPace: 15 }), NO_WAIT);
    clock.advance(100);
    expect((await getPair(s, medium)).copyProgressRate).toBe(10);
    expect((await getPair(s, fast)).copyProgressRate).toBe(50);
    clock.advance(100);
    await waitPvolStatus(s, fast, "PAIR");
    expect((await getPair(s, medium)).pvolStatus).toBe("COPY");
    clock.advance(800);
    await waitPvolStatus(s, medium, "PAIR");
  });

  it("resumes a copy after a restart and ends it with the data in place", async () => {
    const clock = new ManualClock();
    const first = await sim(1_000, { clock });
    const dataDir = first.dataDir;
    await writeData(first, 10, 8192, pattern("A"));
    const id = await createPair(first, pairBody(10, 11, { autoSplit: true }), NO_WAIT);
    await first.stop(false);

    clock.advance(500);
    t = await startSiSim(1_000, { clock, dataDir });
    const resumed = await getPair(t, id);
    expect(resumed.pvolStatus).toBe("COPY");
    expect(resumed.copyProgressRate).toBe(50);
    clock.advance(500);
    await waitPvolStatus(t, id, "PSUS");
    expect(await readData(t, 11, 8192, 4096)).toEqual(pattern("A"));
  });
});
