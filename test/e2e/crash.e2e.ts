/**
 * Story 6, the crash (issue 12): the controller process is SIGKILLed while it is taking a
 * VolumeSnapshot — the array slowed down (simulator latency) so the call is provably in flight,
 * its S-VOL being made. The sidecars lose the driver, are restarted as in a pod, and retry: the
 * VolumeSnapshot becomes ready, a PVC restored from it holds the bytes written before it (not
 * those written after it became ready), and nothing is left once it is all deleted.
 */
import { Agent } from "undici";
import { describe, expect, inject, it } from "vitest";

import {
  createPvc,
  createSnapshot,
  deletePvc,
  deleteSnapshot,
  kube,
  runPod,
  waitPvcBound,
  waitSnapshotReady,
} from "./support/kube.js";
import { NOTHING_LEFT, settledLeftovers } from "./support/leftovers.js";
import { patternSha256, readPatternSha, writePattern } from "./support/patterns.js";
import { requestsSince, simAdmin } from "./support/simulator.js";
import { sleep } from "./cluster/wait.js";

async function crashController(): Promise<void> {
  const res = await fetch("http://harness/controller/crash", {
    method: "POST",
    // @ts-expect-error undici's dispatcher option is not in lib.dom's RequestInit
    dispatcher: new Agent({ connect: { socketPath: inject("e2e").control } }),
  });
  if (res.status !== 204) throw new Error(`crashing the controller: ${res.status} ${await res.text()}`);
}

describe("the controller killed in the middle of a VolumeSnapshot", () => {
  const k = kube();

  it("still takes the snapshot, holding the bytes from before it", async () => {
    const before = "vsp-csi e2e: before the crash";
    const after = "vsp-csi e2e: after the snapshot";
    await createPvc(k, { name: "crash-db", storageClass: "vsp-ext4" });
    await waitPvcBound(k, "crash-db");
    await runPod(k, "crash-write", "crash-db", "Filesystem", writePattern(before, "/data/p"));

    const { next } = await requestsSince(0);
    await simAdmin("PUT", "/faults", { latencyMs: 1500 });
    try {
      await createSnapshot(k, "crash-snap", "crash-db");
      // In flight: the driver has started making the snapshot's S-VOL (a POST of an LDEV).
      let seen = false;
      for (let i = 0; i < 240 && !seen; i++) {
        const { data } = await requestsSince(next);
        seen = data.some((r) => r.method === "POST" && r.path.endsWith("/ldevs"));
        if (!seen) await sleep(250);
      }
      expect(seen).toBe(true);
      await crashController();
    } finally {
      await simAdmin("PUT", "/faults", { latencyMs: 0 });
    }
    const ready = await waitSnapshotReady(k, "crash-snap", 300_000);
    expect(ready.status?.readyToUse).toBe(true);

    await runPod(k, "crash-overwrite", "crash-db", "Filesystem", writePattern(after, "/data/p"));
    await createPvc(k, {
      name: "crash-restored",
      storageClass: "vsp-ext4",
      dataSource: { kind: "VolumeSnapshot", name: "crash-snap" },
    });
    await waitPvcBound(k, "crash-restored");
    expect(await runPod(k, "crash-read", "crash-restored", "Filesystem", readPatternSha("/data/p"))).toBe(
      patternSha256(before),
    );

    await deletePvc(k, "crash-restored");
    await deleteSnapshot(k, "crash-snap");
    await deletePvc(k, "crash-db");
  }, 900_000);

  it("leaves nothing on the array or in the cluster (no S-VOL of the killed attempt)", async () => {
    expect(await settledLeftovers(k)).toEqual(NOTHING_LEFT);
  });
});
