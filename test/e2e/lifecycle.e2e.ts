/**
 * Stories 3 and 5 (issue 12): a WaitForFirstConsumer PVC binds only for its first pod; a
 * ReadOnlyMany PVC restored from a snapshot serves two pods at once, read-only; a volume
 * re-attached for another pod (NodeUnpublish, NodeUnstage, ControllerUnpublish, then publish
 * and stage again) holds the same bytes; a PVC expanded while its pod runs shows the pod the new
 * file system size (xfs: growing ext4 online needs CAP_SYS_RESOURCE, which root lacks on this
 * kind of machine — the driver then says exactly that in the PVC's NodeResizeError condition).
 */
import { describe, expect, it } from "vitest";

import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";

import {
  createPvc,
  createSnapshot,
  deletePod,
  deletePvc,
  deleteSnapshot,
  kube,
  NS,
  podWith,
  runPod,
  waitPodPhase,
  waitPvcBound,
  waitSnapshotReady,
} from "./support/kube.js";
import { NOTHING_LEFT, settledLeftovers } from "./support/leftovers.js";
import { patternSha256, readPatternSha, writePattern } from "./support/patterns.js";

describe("volume lifecycle through kubelet", () => {
  const k = kube();

  it("binds a WaitForFirstConsumer PVC for its pod, and re-attaches it with the same bytes", async () => {
    const pvc = "wffc";
    await createPvc(k, { name: pvc, storageClass: "vsp-wffc" });
    const pending = await k.core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: NS });
    expect(pending.status?.phase).toBe("Pending");
    const line = "vsp-csi e2e: written before the re-attach";
    expect(
      await runPod(
        k,
        "wffc-write",
        pvc,
        "Filesystem",
        `${writePattern(line, "/data/p")}\n${readPatternSha("/data/p")}`,
      ),
    ).toBe(patternSha256(line));
    expect((await waitPvcBound(k, pvc)).status?.phase).toBe("Bound");
    // runPod deleted the pod: kubelet unstaged and the attacher detached before the next one.
    expect(await runPod(k, "wffc-read", pvc, "Filesystem", readPatternSha("/data/p"))).toBe(
      patternSha256(line),
    );
    await deletePvc(k, pvc);
  });

  it("serves a ReadOnlyMany PVC restored from a snapshot to two pods at once, read-only", async () => {
    const line = "vsp-csi e2e: shared read-only";
    await createPvc(k, { name: "rox-src", storageClass: "vsp-ext4" });
    await waitPvcBound(k, "rox-src");
    await runPod(k, "rox-write", "rox-src", "Filesystem", writePattern(line, "/data/p"));
    await createSnapshot(k, "rox-snap", "rox-src");
    await waitSnapshotReady(k, "rox-snap");
    await createPvc(k, {
      name: "rox",
      storageClass: "vsp-ext4",
      accessMode: "ReadOnlyMany",
      dataSource: { kind: "VolumeSnapshot", name: "rox-snap" },
    });
    await waitPvcBound(k, "rox");
    // Each reader also tries to write: a read-only mount refuses (the pod reports "ro").
    const read = `${readPatternSha("/data/p")}\nif touch /data/w 2>/dev/null; then echo rw; else echo ro; fi >> /dev/termination-log`;
    const pods = ["rox-read-1", "rox-read-2"];
    for (const pod of pods) {
      await k.core.createNamespacedPod({
        namespace: NS,
        body: podWith(
          pod,
          [{ claim: "rox", mode: "Filesystem", at: "/data", readOnly: true }],
          `set -e\n${read}`,
        ),
      });
    }
    for (const pod of pods) {
      const done = await waitPodPhase(k, pod, ["Succeeded", "Failed"], 180_000);
      expect(done.status?.phase).toBe("Succeeded");
      const message = done.status?.containerStatuses?.[0]?.state?.terminated?.message ?? "";
      expect(message.trim().split(/\s+/)).toEqual([patternSha256(line), "ro"]);
    }
    for (const pod of pods) await deletePod(k, pod);
    await deletePvc(k, "rox");
    await deleteSnapshot(k, "rox-snap");
    await deletePvc(k, "rox-src");
  });

  it("shows a running pod the larger file system after the PVC is expanded", async () => {
    const pvc = "grow";
    await createPvc(k, { name: pvc, storageClass: "vsp-xfs", size: "320Mi" });
    await waitPvcBound(k, pvc);
    // The pod reports the sizes it saw once the file system grew by 50 MiB (bounded: 600 checks).
    // (df shows less than the volume: xfs keeps its 64 MiB log out of the size it reports.)
    const script = [
      "size() { df -k /data | tail -n 1 | awk '{print $2}'; }",
      "first=$(size)",
      "for i in $(seq 1 600); do",
      "  kib=$(size)",
      '  if [ "$kib" -gt $((first + 51200)) ]; then echo "$first $kib" > /dev/termination-log; exit 0; fi',
      "  sleep 1",
      "done",
      "exit 1",
    ].join("\n");
    await k.core.createNamespacedPod({
      namespace: NS,
      body: podWith("grow-watch", [{ claim: pvc, mode: "Filesystem", at: "/data" }], script),
    });
    await waitPodPhase(k, "grow-watch", ["Running"], 180_000);
    await k.core.patchNamespacedPersistentVolumeClaim(
      { name: pvc, namespace: NS, body: { spec: { resources: { requests: { storage: "400Mi" } } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const done = await waitPodPhase(k, "grow-watch", ["Succeeded", "Failed"], 240_000);
    expect(done.status?.phase).toBe("Succeeded");
    const [first = 0, grown = 0] = (done.status?.containerStatuses?.[0]?.state?.terminated?.message ?? "")
      .trim()
      .split(" ")
      .map(Number);
    expect(grown - first).toBeGreaterThan(51_200);
    const claim = await k.core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: NS });
    expect(claim.status?.capacity?.storage).toBe("400Mi");
    await deletePod(k, "grow-watch");
    await deletePvc(k, pvc);
  }, 600_000);

  it("leaves nothing on the array or in the cluster", async () => {
    expect(await settledLeftovers(k)).toEqual(NOTHING_LEFT);
  });
});
