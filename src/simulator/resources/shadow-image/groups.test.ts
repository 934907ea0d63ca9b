import { afterEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import type { TestSim } from "../../test-support/harness.js";
import {
  createPair,
  expectFailed,
  getPair,
  groupIdFor,
  groupUrl,
  NO_WAIT,
  pairAction,
  pairBody,
  pairIdFor,
  pairUrl,
  pattern,
  readData,
  startSiSim,
  volumes,
  waitPvolStatus,
  writeData,
} from "./test-support/kit.js";

const A = pattern("A");
const B = pattern("B");

let t: TestSim | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

interface Group {
  s: TestSim;
  groupId: string;
  pairs: string[];
}

/** A copy group with pairs 10→11 and 12→13, P-VOLs holding A. */
async function groupOfTwo(copyMs = 0, extra: Record<string, unknown> = {}): Promise<Group> {
  const s = await startSiSim(copyMs);
  t = s;
  await volumes(s, [10, 11, 12, 13]);
  await writeData(s, 10, 0, A);
  await writeData(s, 12, 0, A);
  const first = pairBody(10, 11, extra);
  const second = {
    ...first,
    copyPairName: "second",
    pvolLdevId: 12,
    svolLdevId: 13,
    isNewGroupCreation: false,
  };
  await createPair(s, first);
  await createPair(s, second);
  return { s, groupId: groupIdFor(first), pairs: [pairIdFor(first), pairIdFor(second)] };
}

function groupAction(
  g: Group,
  action: string,
  parameters: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  method = "POST",
) {
  return g.s.job(method, `${groupUrl(g.s, g.groupId)}/actions/${action}/invoke`, { parameters }, headers);
}

async function pvolStatuses(g: Group): Promise<string[]> {
  return Promise.all(g.pairs.map(async (id) => (await getPair(g.s, id)).pvolStatus as string));
}

describe("copy group actions", () => {
  it("splits a consistency group: every S-VOL holds the P-VOLs as of one job", async () => {
    const g = await groupOfTwo(0, { isConsistencyGroup: true });
    const res = await groupAction(g, "split");
    expect(res.body.state).toBe("Succeeded");
    expect(res.body.affectedResources[0]).toContain(`/local-clone-copygroups/${g.groupId}`);
    expect(await pvolStatuses(g)).toEqual(["PSUS", "PSUS"]);
    await writeData(g.s, 10, 0, B);
    await writeData(g.s, 12, 0, B);
    expect(await readData(g.s, 11, 0, A.length)).toEqual(A);
    expect(await readData(g.s, 13, 0, A.length)).toEqual(A);
    // Splitting the split group again succeeds and does nothing (legacy PUT on invoke).
    expect((await groupAction(g, "split", {}, {}, "PUT")).body.state).toBe("Succeeded");
  });

  it("resyncs every pair: NoWait ends at acceptance, a waiting job ends when all are PAIR", async () => {
    const g = await groupOfTwo(150, { autoSplit: true });
    expect(await pvolStatuses(g)).toEqual(["PSUS", "PSUS"]);
    await groupAction(g, "resync", { copyPace: 15 }, NO_WAIT);
    expect(await pvolStatuses(g)).toEqual(["COPY", "COPY"]);
    expect((await getPair(g.s, g.pairs[0]!)).copyPace).toBe(15);
    for (const id of g.pairs) await waitPvolStatus(g.s, id, "PAIR");

    await groupAction(g, "split");
    const res = await groupAction(g, "resync");
    expect(res.body.state).toBe("Succeeded");
    expect(await pvolStatuses(g)).toEqual(["PAIR", "PAIR"]);
  });

  it("restores every pair's S-VOL data onto its P-VOL", async () => {
    const g = await groupOfTwo(0, { autoSplit: true });
    await writeData(g.s, 10, 0, B);
    await writeData(g.s, 12, 0, B);
    expect((await g.s.req("GET", `${groupUrl(g.s, g.groupId)}/actions/restore`)).status).toBe(200);
    const res = await groupAction(g, "restore");
    expect(res.body.state).toBe("Succeeded");
    expect(await pvolStatuses(g)).toEqual(["PAIR", "PAIR"]);
    expect(await readData(g.s, 10, 0, A.length)).toEqual(A);
    expect(await readData(g.s, 12, 0, A.length)).toEqual(A);
  });

  it("refuses a group action when one pair's status forbids it, and changes nothing", async () => {
    const g = await groupOfTwo(0, { autoSplit: true });
    await pairAction(g.s, g.pairs[1]!, "resync");
    await writeData(g.s, 10, 0, B);
    expect(await pvolStatuses(g)).toEqual(["PSUS", "PAIR"]);
    expect((await g.s.req("GET", `${groupUrl(g.s, g.groupId)}/actions/restore`)).status).toBe(412);
    expectFailed(await groupAction(g, "restore"), SSB.PAIR_STATUS_FORBIDS);
    expect(await pvolStatuses(g)).toEqual(["PSUS", "PAIR"]);
    expect(await readData(g.s, 10, 0, B.length)).toEqual(B);
  });

  it("suspends every pair with forceSuspend (PSUE)", async () => {
    const g = await groupOfTwo();
    await groupAction(g, "split", { forceSuspend: true, forceSplit: false });
    expect(await pvolStatuses(g)).toEqual(["PSUE", "PSUE"]);
  });

  it("answers 404 for actions on an unknown group or pair", async () => {
    const g = await groupOfTwo();
    const res = await g.s.job("POST", `${g.s.short}/local-clone-copygroups/x,y,z/actions/split/invoke`, {});
    expect(res.status).toBe(404);
    const pair = await g.s.job("POST", `${pairUrl(g.s, "x,y,z,w")}/actions/split/invoke`, {});
    expect(pair.status).toBe(404);
  });
});

describe("restore with other pairs on the P-VOL", () => {
  it("refuses to restore while another pair of the same P-VOL is not split", async () => {
    const s = await startSiSim();
    t = s;
    await volumes(s, [10, 11, 12]);
    const first = await createPair(s, pairBody(10, 11, { autoSplit: true }));
    const other = await createPair(s, pairBody(10, 12));
    expectFailed(await pairAction(s, first, "restore"), SSB.PAIR_STATUS_FORBIDS);
    await pairAction(s, other, "split");
    expect((await pairAction(s, first, "restore")).body.state).toBe("Succeeded");
  });
});

describe("deleting copy groups and pairs", () => {
  it("deletes a group with its pairs; both volumes of each pair keep their data", async () => {
    const g = await groupOfTwo(0, { autoSplit: true });
    await writeData(g.s, 10, 0, B);
    const res = await g.s.job("DELETE", groupUrl(g.s, g.groupId));
    expect(res.body.state).toBe("Succeeded");
    expect(res.body.affectedResources[0]).toContain("/local-clone-copygroups/");
    expect((await g.s.req("GET", groupUrl(g.s, g.groupId))).status).toBe(404);
    for (const id of g.pairs) expect((await g.s.req("GET", pairUrl(g.s, id))).status).toBe(404);
    expect(await readData(g.s, 10, 0, B.length)).toEqual(B);
    expect(await readData(g.s, 11, 0, A.length)).toEqual(A);
    expect((await g.s.job("DELETE", groupUrl(g.s, g.groupId))).status).toBe(404);
  });

  it("keeps the group while it has pairs and removes it with its last pair", async () => {
    const g = await groupOfTwo();
    await g.s.job("DELETE", pairUrl(g.s, g.pairs[0]!));
    const group = await g.s.req("GET", groupUrl(g.s, g.groupId));
    expect(group.status).toBe(200);
    expect(group.body.copyPairs.map((p: { copyPairName: string }) => p.copyPairName)).toEqual(["second"]);
    await g.s.job("DELETE", pairUrl(g.s, g.pairs[1]!), { forceDelete: true });
    expect((await g.s.req("GET", groupUrl(g.s, g.groupId))).status).toBe(404);
  });
});
