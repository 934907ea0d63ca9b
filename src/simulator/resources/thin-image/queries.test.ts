/** Reading pairs: GET /snapshots filters, GET /snapshots/{id}, GET /snapshot-replications. */
import { afterEach, describe, expect, it } from "vitest";

import type { TestSim } from "../../test-support/harness.js";
import { create, snapBody, snapshotsUrl, startTiSim, volumes } from "./test-support/kit.js";

let t: TestSim;
afterEach(async () => {
  await t.stop();
});

describe("GET /snapshots", () => {
  async function threePairs(): Promise<void> {
    t = await startTiSim();
    await volumes(t, [1, 2, 3, 4]);
    await create(t, snapBody(1, 2, { snapshotGroupName: "a" }));
    await create(t, snapBody(1, 3, { snapshotGroupName: "b" }));
    await create(t, snapBody(4, undefined, { snapshotGroupName: "a", canCascade: false }));
  }

  const ids = (res: { body: { data: { snapshotId: string }[] } }) => res.body.data.map((p) => p.snapshotId);

  it("filters by P-VOL, P-VOL + group, P-VOL + MU, S-VOL and group", async () => {
    await threePairs();
    const q = async (query: string) => t.req("GET", `${t.scoped}/snapshots?${query}`);
    expect(ids(await q("pvolLdevId=1"))).toEqual(["1,0", "1,1"]);
    expect(ids(await q("pvolLdevId=1&snapshotGroupName=b"))).toEqual(["1,1"]);
    expect(ids(await q("pvolLdevId=1&muNumber=0"))).toEqual(["1,0"]);
    expect(ids(await q("snapshotGroupName=a"))).toEqual(["1,0", "4,0"]);
    expect(ids(await q("pvolLdevId=9"))).toEqual([]);
    const bySvol = await q("svolLdevId=3");
    expect(ids(bySvol)).toEqual(["1,1"]);
    // The role of the LDEV the query named: Cinder's has_snap_pair checks "S-VOL" (§5).
    expect(bySvol.body.data[0].primaryOrSecondary).toBe("S-VOL");
    expect(bySvol.body.data[0].pvolLdevId).toBe(1);
  });

  it.each([
    ["", 400, "KART20008-E"],
    ["muNumber=0", 400, "KART20003-E"],
    ["svolLdevId=2&pvolLdevId=1", 400, "KART20003-E"],
    ["pvolLdevId=x", 400, "KART20003-E"],
    ["pvolLdevId=1&muNumber=1024", 400, "KART20003-E"],
  ])("refuses the query %j with %i %s", async (query, code, messageId) => {
    await threePairs();
    const res = await t.req("GET", `${t.short}/snapshots?${query}`);
    expect(res.status).toBe(code);
    expect(res.body.messageId).toBe(messageId);
  });

  it("answers 404 KART30013-E for an unknown pair and 400 for a malformed id", async () => {
    await threePairs();
    const missing = await t.req("GET", snapshotsUrl(t, "1,5"));
    expect(missing.status).toBe(404);
    expect(missing.body.messageId).toBe("KART30013-E");
    expect((await t.req("GET", snapshotsUrl(t, "1"))).status).toBe(400);
    expect((await t.req("GET", snapshotsUrl(t, "a,b"))).status).toBe(400);
  });

  it("lists every pair of a P-VOL range with GET /snapshot-replications", async () => {
    await threePairs();
    const all = await t.req("GET", `${t.short}/snapshot-replications`);
    expect(all.status).toBe(200);
    expect(all.body.data.map((p: { snapshotReplicationId: string }) => p.snapshotReplicationId)).toEqual([
      "1,0",
      "1,1",
      "4,0",
    ]);
    expect(all.body.data[0]).toMatchObject({
      pvolLdevId: 1,
      muNumber: 0,
      svolLdevId: 2,
      status: "PSUS",
      isClone: false,
    });
    const range = await t.req("GET", `${t.scoped}/snapshot-replications?startPvolLdevId=2&endPvolLdevId=4`);
    expect(range.body.data.map((p: { snapshotReplicationId: string }) => p.snapshotReplicationId)).toEqual([
      "4,0",
    ]);
    const bad = await t.req("GET", `${t.short}/snapshot-replications?startPvolLdevId=5&endPvolLdevId=4`);
    expect(bad.status).toBe(400);
  });
});
