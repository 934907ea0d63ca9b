/**
 * LdevAllocator: what it must never do when calls run side by side in one process — adopt, as an
 * orphan, an LDEV another call is using or has just labelled, from a window read before the label
 * landed (the fleet bench found a snapshot's S-VOL relabelled that way).
 */
import { describe, expect, it } from "vitest";

import { MIB, useServiceRig } from "../csi/test-support/snapshot-harness.js";

const rig = useServiceRig();

describe("LdevAllocator", () => {
  it("never adopts an LDEV this process just labelled for another name, even from a stale window read", async () => {
    const { h, healthy: s } = await rig();
    const ldevs = s.volumes.ldevs;
    const [array] = s.volumes.arrays.all();
    if (!array) throw new Error("no array");
    const wanted = { poolId: 0, bytes: BigInt(MIB) };
    const a = await ldevs.place(array, { label: "cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ...wanted });
    // What call B read before A's label landed: A's LDEV unlabelled, empty, unpaired.
    const stale = [{ ...a.ldev, label: "" }];
    const b = await ldevs.place(array, { label: "cv-bbbbbbbbbbbbbbbbbbbbbbbbbbbbb", ...wanted }, stale);
    expect(b.ldev.ldevId).not.toBe(a.ldev.ldevId);
    expect(h.t.sim.core.state.ldevs[String(a.ldev.ldevId)]?.label).toBe("cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  });

  it("lets a retry of the same name adopt the orphan its own failed call left", async () => {
    const { healthy: s } = await rig();
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
