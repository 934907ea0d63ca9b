/**
 * LdevAllocator: what it must never do when calls run side by side in one process — adopt, as an
 * orphan, an LDEV another call is using or has just labelled, from a window read before the label
 * landed (the fleet bench found a snapshot's S-VOL relabelled that way).
 */
import { afterEach, describe, expect, it } from "vitest";

import type { VspClient } from "../array/client.js";
import type { DriverHarness } from "../csi/test-support/driver-harness.js";
import { clientOf, MIB, servicesOver, startSnapshotHarness } from "../csi/test-support/snapshot-harness.js";
import type { Services } from "../csi/test-support/snapshot-harness.js";

let h: DriverHarness | undefined;
let client: VspClient | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await h?.stop();
  h = undefined;
});

async function rig(): Promise<Services> {
  h = await startSnapshotHarness();
  client = clientOf(h);
  return servicesOver(h, client);
}

describe("LdevAllocator", () => {
  it("never adopts an LDEV this process just labelled for another name, even from a stale window read", async () => {
    const s = await rig();
    const ldevs = s.volumes.ldevs;
    const [array] = s.volumes.arrays.all();
    if (!array) throw new Error("no array");
    const wanted = { poolId: 0, bytes: BigInt(MIB) };
    const a = await ldevs.place(array, { label: "cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ...wanted });
    // What call B read before A's label landed: A's LDEV unlabelled, empty, unpaired.
    const stale = [{ ...a.ldev, label: "" }];
    const b = await ldevs.place(array, { label: "cv-bbbbbbbbbbbbbbbbbbbbbbbbbbbbb", ...wanted }, stale);
    expect(b.ldev.ldevId).not.toBe(a.ldev.ldevId);
    expect(h?.t.sim.core.state.ldevs[String(a.ldev.ldevId)]?.label).toBe("cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  });

  it("lets a retry of the same name adopt the orphan its own failed call left", async () => {
    const s = await rig();
    const ldevs = s.volumes.ldevs;
    const [array] = s.volumes.arrays.all();
    if (!array) throw new Error("no array");
    const label = "cv-ccccccccccccccccccccccccccccc";
    const first = await ldevs.place(array, { label, poolId: 0, bytes: BigInt(MIB) });
    // As if its label had been lost: the same name's retry finds it unlabelled.
    const unlabelled = [{ ...first.ldev, label: "" }];
    const again = await ldevs.place(array, { label, poolId: 0, bytes: BigInt(MIB) }, unlabelled);
    expect(again.ldev.ldevId).toBe(first.ldev.ldevId);
  });
});
