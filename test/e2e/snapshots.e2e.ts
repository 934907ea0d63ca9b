/**
 * Story 1 (issue 12): what a user does with a database PVC — a pod writes a known pattern, a
 * VolumeSnapshot is taken, the pod overwrites it; a PVC restored from the snapshot holds the
 * pattern of the snapshot, a clone of the PVC holds what the PVC holds now. Filesystem (ext4,
 * xfs) and raw block, through the provisioner, snapshotter, snapshot-controller, attacher and
 * kubelet's NodeStage/NodePublish.
 */
import { describe, expect, it } from "vitest";

import type { VolumeMode } from "./support/kube.js";
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

// xfs: mkfs.xfs refuses volumes under 300 MiB (the driver says so: FAILED_PRECONDITION).
const CASES: { name: string; storageClass: string; mode: VolumeMode; size: string }[] = [
  { name: "ext4", storageClass: "vsp-ext4", mode: "Filesystem", size: "64Mi" },
  { name: "xfs", storageClass: "vsp-xfs", mode: "Filesystem", size: "320Mi" },
  { name: "block", storageClass: "vsp-ext4", mode: "Block", size: "64Mi" },
];

describe.each(CASES)("snapshot, restore and clone ($name)", ({ name, storageClass, mode, size }) => {
  const k = kube();
  const target = mode === "Block" ? "/dev/xvda" : "/data/pattern";
  const before = `vsp-csi e2e ${name}: the bytes at the snapshot`;
  const after = `vsp-csi e2e ${name}: written after the snapshot`;
  /** A pod writes the pattern of `line` and answers the sha256 of what it reads back. */
  const writeAndRead = (pod: string, pvc: string, line: string) =>
    runPod(k, pod, pvc, mode, `${writePattern(line, target)}\n${readPatternSha(target)}`);

  it("restores the bytes of the snapshot and clones the bytes of now", async () => {
    const pvc = `db-${name}`;
    await createPvc(k, { name: pvc, storageClass, mode, size });
    const bound = await waitPvcBound(k, pvc);
    expect(bound.spec?.volumeName).toMatch(/^pvc-/);
    expect(await writeAndRead(`write-${name}`, pvc, before)).toBe(patternSha256(before));

    const snapshot = `snap-${name}`;
    await createSnapshot(k, snapshot, pvc);
    const ready = await waitSnapshotReady(k, snapshot);
    expect(ready.status?.boundVolumeSnapshotContentName).toMatch(/^snapcontent-/);
    expect(await writeAndRead(`overwrite-${name}`, pvc, after)).toBe(patternSha256(after));

    const restored = `restored-${name}`;
    await createPvc(k, {
      name: restored,
      storageClass,
      mode,
      size,
      dataSource: { kind: "VolumeSnapshot", name: snapshot },
    });
    await waitPvcBound(k, restored);
    expect(await runPod(k, `read-restored-${name}`, restored, mode, readPatternSha(target))).toBe(
      patternSha256(before),
    );

    const clone = `clone-${name}`;
    await createPvc(k, {
      name: clone,
      storageClass,
      mode,
      size,
      dataSource: { kind: "PersistentVolumeClaim", name: pvc },
    });
    await waitPvcBound(k, clone);
    expect(await runPod(k, `read-clone-${name}`, clone, mode, readPatternSha(target))).toBe(
      patternSha256(after),
    );

    for (const claim of [restored, clone]) await deletePvc(k, claim);
    await deleteSnapshot(k, snapshot);
    await deletePvc(k, pvc);
  });
});

describe("after the snapshot stories", () => {
  it("leaves nothing on the array or in the cluster (teardown through the API)", async () => {
    const k = kube();
    expect(await settledLeftovers(k)).toEqual(NOTHING_LEFT);
  });
});
