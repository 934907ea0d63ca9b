import { afterEach, describe, expect, it } from "vitest";

import type { TestSim } from "../../test-support/harness.js";
import {
  createPair,
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

const OFFSET = 3 * 1024 * 1024;
const A = pattern("A");
const B = pattern("B");
const C = pattern("C");

let t: TestSim | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function sim(copyMs = 0): Promise<TestSim> {
  t = await startSiSim(copyMs);
  await volumes(t, [10, 11]);
  return t;
}

const read = (s: TestSim, ldevId: number) => readData(s, ldevId, OFFSET, A.length);

async function splitPairWithA(s: TestSim): Promise<string> {
  await writeData(s, 10, OFFSET, A);
  const id = await createPair(s, pairBody(10, 11, { autoSplit: true }));
  expect((await getPair(s, id)).pvolStatus).toBe("PSUS");
  return id;
}

describe("ShadowImage data", () => {
  it("keeps the split image on the S-VOL while the P-VOL changes", async () => {
    const s = await sim();
    await splitPairWithA(s);
    await writeData(s, 10, OFFSET, B);
    expect(await read(s, 11)).toEqual(A);
    expect(await read(s, 10)).toEqual(B);
  });

  it("gives the S-VOL the P-VOL's newer data after resync and split", async () => {
    const s = await sim();
    const id = await splitPairWithA(s);
    await writeData(s, 10, OFFSET, B);
    await pairAction(s, id, "resync");
    await pairAction(s, id, "split");
    expect(await read(s, 11)).toEqual(B);
  });

  it.each([
    ["a restore", {}],
    ["a quick restore", { quickMode: true }],
  ])("brings the S-VOL's data back to the P-VOL with %s", async (_what, parameters) => {
    const s = await sim();
    const id = await splitPairWithA(s);
    await writeData(s, 10, OFFSET, B);
    const res = await pairAction(s, id, "restore", parameters);
    expect(res.body.state).toBe("Succeeded");
    expect((await getPair(s, id)).pvolStatus).toBe("PAIR");
    expect(await read(s, 10)).toEqual(A);
    expect(await read(s, 11)).toEqual(A);
  });

  it("keeps both volumes' data when a split pair is deleted", async () => {
    const s = await sim();
    const id = await splitPairWithA(s);
    await writeData(s, 10, OFFSET, B);
    const res = await s.job("DELETE", pairUrl(s, id));
    expect(res.body.state).toBe("Succeeded");
    expect((await s.req("GET", pairUrl(s, id))).status).toBe(404);
    expect(await read(s, 10)).toEqual(B);
    expect(await read(s, 11)).toEqual(A);
    for (const ldevId of [10, 11]) {
      expect((await s.admin("GET", `/simulator/ldevs/${ldevId}/sha256`)).status).toBe(200);
    }
  });

  it("leaves the S-VOL a full copy of the P-VOL when a pair is deleted in PAIR", async () => {
    const s = await sim();
    await writeData(s, 10, OFFSET, A);
    const id = await createPair(s, pairBody(10, 11));
    await writeData(s, 10, OFFSET, B);
    await s.job("DELETE", pairUrl(s, id));
    expect(await read(s, 11)).toEqual(B);
    const sha = async (ldevId: number): Promise<string> =>
      (await s.admin("GET", `/simulator/ldevs/${ldevId}/sha256`)).body.sha256 as string;
    expect(await sha(11)).toBe(await sha(10));
  });

  it("takes the autoSplit image when the initial copy ends, so writes during COPY are in it", async () => {
    const s = await sim(150);
    await writeData(s, 10, OFFSET, A);
    const id = await createPair(s, pairBody(10, 11, { autoSplit: true }), NO_WAIT);
    expect((await getPair(s, id)).pvolStatus).toBe("COPY");
    await writeData(s, 10, OFFSET, B);
    await waitPvolStatus(s, id, "PSUS");
    await writeData(s, 10, OFFSET, C);
    expect(await read(s, 11)).toEqual(B);
  });

  it("takes a split's image at the split, even when the pair shows COPY until the copy ends", async () => {
    const s = await sim(200);
    const id = await createPair(s, pairBody(10, 11), NO_WAIT);
    await writeData(s, 10, OFFSET, B);
    await pairAction(s, id, "split", {}, NO_WAIT);
    await writeData(s, 10, OFFSET, C);
    await waitPvolStatus(s, id, "PSUS");
    expect(await read(s, 11)).toEqual(B);
  });

  it("keeps the first split's image when a pair split during COPY is split again (COPY(SP) = split)", async () => {
    const s = await sim(200);
    const id = await createPair(s, pairBody(10, 11), NO_WAIT);
    await writeData(s, 10, OFFSET, B);
    await pairAction(s, id, "split", {}, NO_WAIT);
    await writeData(s, 10, OFFSET, C);
    const again = await pairAction(s, id, "split", {}, NO_WAIT);
    expect(again.body.state).toBe("Succeeded");
    expect((await getPair(s, id)).pvolStatus).toBe("COPY");
    await waitPvolStatus(s, id, "PSUS");
    expect(await read(s, 11)).toEqual(B);
  });

  it("makes the S-VOL a copy of the P-VOL at the end of the initial copy", async () => {
    const s = await sim();
    await writeData(s, 10, OFFSET, A);
    await writeData(s, 11, 0, C);
    await createPair(s, pairBody(10, 11));
    expect(await read(s, 11)).toEqual(A);
    // What the S-VOL held before the pair is gone: it is an image of the P-VOL.
    expect(await readData(s, 11, 0, C.length)).toEqual(Buffer.alloc(C.length));
  });
});
