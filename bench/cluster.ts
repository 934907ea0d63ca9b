/**
 * Issue 12's figures: what a user waits for on the e2e cluster (test/e2e) with realistic
 * simulator timings — PVC Bound, pod Running, VolumeSnapshot readyToUse, a restored PVC usable by
 * a pod — and 50 PVCs, then 50 VolumeSnapshots of them, created at once (wall time and the
 * slowest object). Needs root and the tools scripts/e2e.sh builds: `npm run bench:cluster`.
 */
import { startCluster } from "../test/e2e/cluster/cluster.js";
import { toolsFromEnv } from "../test/e2e/cluster/from-env.js";
import type { Kube } from "../test/e2e/support/kube.js";
import {
  createPvc,
  createSnapshot,
  deletePod,
  deletePvc,
  deleteSnapshot,
  kube,
  NS,
  waitPvcBound,
  waitSnapshotReady,
  podWith,
  waitPodPhase,
} from "../test/e2e/support/kube.js";

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

async function podRunning(k: Kube, name: string, pvc: string): Promise<void> {
  const body = podWith(name, [{ claim: pvc, mode: "Filesystem", at: "/data" }], "sleep 3600");
  await k.core.createNamespacedPod({ namespace: NS, body });
  await waitPodPhase(k, name, ["Running"], 300_000);
}

/** Creates `n` objects at once; answers the wall time and the slowest one. */
async function burst(
  n: number,
  one: (i: number) => Promise<void>,
): Promise<{ wallMs: number; slowestMs: number }> {
  let slowestMs = 0;
  const wallMs = await timed(() =>
    Promise.all(
      Array.from({ length: n }, async (_, i) => {
        slowestMs = Math.max(slowestMs, await timed(() => one(i)));
      }),
    ),
  );
  return { wallMs, slowestMs };
}

const cluster = await startCluster({ ...toolsFromEnv(), timings: "realistic" });
try {
  const k = kube(cluster.kubeconfig);
  const bound = await timed(async () => {
    await createPvc(k, { name: "bench-db", storageClass: "vsp-ext4" });
    await waitPvcBound(k, "bench-db");
  });
  const running = await timed(() => podRunning(k, "bench-db-pod", "bench-db"));
  const ready = await timed(async () => {
    await createSnapshot(k, "bench-snap", "bench-db");
    await waitSnapshotReady(k, "bench-snap");
  });
  const restored = await timed(async () => {
    await createPvc(k, {
      name: "bench-restored",
      storageClass: "vsp-ext4",
      dataSource: { kind: "VolumeSnapshot", name: "bench-snap" },
    });
    await waitPvcBound(k, "bench-restored");
    await podRunning(k, "bench-restored-pod", "bench-restored");
  });
  const n = 50;
  const pvcs = await burst(n, async (i) => {
    await createPvc(k, { name: `bench-${i}`, storageClass: "vsp-ext4" });
    await waitPvcBound(k, `bench-${i}`, 600_000);
  });
  const snapshots = await burst(n, async (i) => {
    await createSnapshot(k, `bench-snap-${i}`, `bench-${i}`);
    await waitSnapshotReady(k, `bench-snap-${i}`, 600_000);
  });
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log("one PVC, realistic simulator timings:");
  console.log(`  PVC Bound ${s(bound)}; pod Running ${s(running)}; VolumeSnapshot readyToUse ${s(ready)}`);
  console.log(`  PVC restored from the snapshot, usable by a pod (Running) ${s(restored)}`);
  console.log(`${n} PVCs at once: all Bound in ${s(pvcs.wallMs)} (slowest ${s(pvcs.slowestMs)})`);
  console.log(
    `${n} VolumeSnapshots at once: all readyToUse in ${s(snapshots.wallMs)} (slowest ${s(snapshots.slowestMs)})`,
  );
  console.log(JSON.stringify({ bench: "cluster", bound, running, ready, restored, pvcs, snapshots }));
  for (const pod of ["bench-db-pod", "bench-restored-pod"]) await deletePod(k, pod);
  await Promise.all(Array.from({ length: n }, (_, i) => deleteSnapshot(k, `bench-snap-${i}`)));
  await deleteSnapshot(k, "bench-snap");
  await Promise.all(Array.from({ length: n }, (_, i) => deletePvc(k, `bench-${i}`)));
  for (const pvc of ["bench-restored", "bench-db"]) await deletePvc(k, pvc);
} finally {
  await cluster.stop();
}
