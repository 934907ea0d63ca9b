/**
 * What the stories do through the Kubernetes API (@kubernetes/client-node, typed objects and
 * watches; no kubectl): PVCs, pods, VolumeSnapshots, and waiting on them with a watch until a
 * condition holds (bounded, and failing with the object's last state and its events).
 */
import * as k8s from "@kubernetes/client-node";
import { inject } from "vitest";

export const NS = "default";
export const BUSYBOX = "localhost/vsp-csi-e2e/busybox:1";
const SNAPSHOT_API = { group: "snapshot.storage.k8s.io", version: "v1" } as const;

export interface Kube {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  storage: k8s.StorageV1Api;
  custom: k8s.CustomObjectsApi;
}

/** Clients of the e2e cluster (its kubeconfig from the global setup, or the one given). */
export function kube(kubeconfig?: string): Kube {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig ?? inject("e2e").kubeconfig);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    storage: kc.makeApiClient(k8s.StorageV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
  };
}

/**
 * Watches the objects at `listPath` named `name` until `done(object)` is true; answers that
 * object. Throws after `timeoutMs` with the last state seen (and `explain()` when given).
 */
export async function watchUntil<T>(
  kc: k8s.KubeConfig,
  listPath: string,
  name: string,
  done: (obj: T) => boolean,
  timeoutMs: number,
  explain?: () => Promise<string>,
  /** A state that will not get better (answers why): fail at once instead of at the timeout. */
  hopeless?: (obj: T) => string | undefined,
  /** What of the object to show in a failure (default: all of it). */
  show: (obj: T) => unknown = (obj) => obj,
): Promise<T> {
  let last: T | undefined;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let restart: NodeJS.Timeout | undefined;
  const watch = new k8s.Watch(kc);
  try {
    return await new Promise<T>((resolve, reject) => {
      let finished = false;
      const start = () => {
        void watch
          .watch(
            listPath,
            { fieldSelector: `metadata.name=${name}` },
            (phase, obj: T) => {
              if (phase === "DELETED") return;
              last = obj;
              if (finished) return;
              if (done(obj)) {
                finished = true;
                resolve(obj);
                return;
              }
              const why = hopeless?.(obj);
              if (why !== undefined) {
                finished = true;
                void (async () => {
                  const extra = explain ? `\n${await explain().catch(() => "")}` : "";
                  reject(new Error(`${name}: ${why}${extra}`));
                })();
              }
            },
            // A watch the server ends (it times them out) is started again until we are done.
            () => {
              if (!finished) restart = setTimeout(start, 200);
            },
          )
          .then((c) => (controller = c), reject);
      };
      timer = setTimeout(() => {
        finished = true;
        void (async () => {
          const extra = explain ? `\n${await explain().catch(() => "")}` : "";
          reject(
            new Error(
              `${name} at ${listPath}: not done after ${timeoutMs} ms; last seen: ${JSON.stringify(last === undefined ? undefined : show(last))}${extra}`,
            ),
          );
        })();
      }, timeoutMs);
      start();
    });
  } finally {
    clearTimeout(timer);
    clearTimeout(restart);
    controller?.abort();
  }
}

/**
 * Deletes an object (one already gone is fine) and waits, bounded, until reading it answers 404
 * (finalizers and the controllers behind them have let it go).
 */
export async function deleteAndWait(
  what: string,
  remove: () => Promise<unknown>,
  read: () => Promise<unknown>,
  timeoutMs = 120_000,
): Promise<void> {
  await remove().catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (await exists(read)) {
    if (Date.now() > deadline) throw new Error(`${what} still exists after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Events about an object, oldest first, as "reason: message" lines. */
export async function eventsOf(k: Kube, kind: string, name: string): Promise<string> {
  const list = await k.core.listNamespacedEvent({
    namespace: NS,
    fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
  });
  return list.items.map((e) => `${e.reason ?? ""}: ${e.message ?? ""}`).join("\n");
}

export type VolumeMode = "Filesystem" | "Block";

export interface PvcSpec {
  name: string;
  storageClass: string;
  size?: string;
  mode?: VolumeMode;
  accessMode?: "ReadWriteOnce" | "ReadOnlyMany" | "ReadWriteOncePod";
  dataSource?: { kind: "VolumeSnapshot" | "PersistentVolumeClaim"; name: string };
}

export async function createPvc(k: Kube, s: PvcSpec): Promise<void> {
  await k.core.createNamespacedPersistentVolumeClaim({
    namespace: NS,
    body: {
      metadata: { name: s.name },
      spec: {
        storageClassName: s.storageClass,
        accessModes: [s.accessMode ?? "ReadWriteOnce"],
        volumeMode: s.mode ?? "Filesystem",
        resources: { requests: { storage: s.size ?? "64Mi" } },
        ...(s.dataSource
          ? {
              dataSource: {
                kind: s.dataSource.kind,
                name: s.dataSource.name,
                ...(s.dataSource.kind === "VolumeSnapshot" ? { apiGroup: SNAPSHOT_API.group } : {}),
              },
            }
          : {}),
      },
    },
  });
}

export function waitPvcBound(
  k: Kube,
  name: string,
  timeoutMs = 120_000,
): Promise<k8s.V1PersistentVolumeClaim> {
  return watchUntil<k8s.V1PersistentVolumeClaim>(
    k.kc,
    `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
    name,
    (pvc) => pvc.status?.phase === "Bound",
    timeoutMs,
    () => eventsOf(k, "PersistentVolumeClaim", name),
    undefined,
    (pvc) => pvc.status,
  );
}

export interface PodVolume {
  claim: string;
  mode: VolumeMode;
  /** Mount path (Filesystem) or device path (Block) in the container. */
  at: string;
  readOnly?: boolean;
}

/** A busybox pod running `script` once (restartPolicy Never) with the PVCs at their paths. */
export function podWith(name: string, volumes: readonly PodVolume[], script: string): k8s.V1Pod {
  const named = volumes.map((v, i) => ({ ...v, name: `v${String(i)}` }));
  return {
    metadata: { name },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "main",
          image: BUSYBOX,
          imagePullPolicy: "Never",
          command: ["/bin/sh", "-c", script],
          terminationMessagePath: "/dev/termination-log",
          volumeMounts: named
            .filter((v) => v.mode === "Filesystem")
            .map((v) => ({ name: v.name, mountPath: v.at })),
          volumeDevices: named
            .filter((v) => v.mode === "Block")
            .map((v) => ({ name: v.name, devicePath: v.at })),
        },
      ],
      volumes: named.map((v) => ({
        name: v.name,
        persistentVolumeClaim: { claimName: v.claim, ...(v.readOnly ? { readOnly: true } : {}) },
      })),
    },
  };
}

/** Watches a pod until its phase is one of `phases`; fails at once on an image it cannot run. */
export function waitPodPhase(
  k: Kube,
  name: string,
  phases: readonly string[],
  timeoutMs: number,
): Promise<k8s.V1Pod> {
  return watchUntil<k8s.V1Pod>(
    k.kc,
    `/api/v1/namespaces/${NS}/pods`,
    name,
    (p) => phases.includes(p.status?.phase ?? ""),
    timeoutMs,
    () => eventsOf(k, "Pod", name),
    (p) => {
      const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
      return waiting?.reason === "ErrImageNeverPull" || waiting?.reason === "CreateContainerConfigError"
        ? `${waiting.reason}: ${waiting.message ?? ""}`
        : undefined;
    },
    (p) => p.status,
  );
}

/**
 * Runs `script` (busybox sh) in a pod with the PVC at /data (Filesystem) or /dev/xvda (Block),
 * waits for it to succeed, answers what it wrote to its termination message (no kubelet log
 * access is needed), and deletes the pod again.
 */
export async function runPod(
  k: Kube,
  name: string,
  pvc: string,
  mode: VolumeMode,
  script: string,
  timeoutMs = 180_000,
): Promise<string> {
  await k.core.createNamespacedPod({
    namespace: NS,
    body: podWith(
      name,
      [{ claim: pvc, mode, at: mode === "Block" ? "/dev/xvda" : "/data" }],
      `set -e\n${script}`,
    ),
  });
  try {
    const pod = await waitPodPhase(k, name, ["Succeeded", "Failed"], timeoutMs);
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    if (pod.status?.phase !== "Succeeded") {
      throw new Error(
        `pod ${name} failed: exit ${String(terminated?.exitCode)} ${terminated?.message ?? ""}\n${await eventsOf(k, "Pod", name)}`,
      );
    }
    return (terminated?.message ?? "").trim();
  } finally {
    await deletePod(k, name);
  }
}

export function deletePod(k: Kube, name: string): Promise<void> {
  return deleteAndWait(
    `pod ${name}`,
    () => k.core.deleteNamespacedPod({ name, namespace: NS, gracePeriodSeconds: 0 }),
    () => k.core.readNamespacedPod({ name, namespace: NS }),
  );
}

export async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}

export interface VolumeSnapshot {
  metadata: { name: string };
  status?: { readyToUse?: boolean; boundVolumeSnapshotContentName?: string; error?: { message?: string } };
}

export async function createSnapshot(
  k: Kube,
  name: string,
  pvc: string,
  className = "vsp-snapshots",
): Promise<void> {
  await k.custom.createNamespacedCustomObject({
    ...SNAPSHOT_API,
    namespace: NS,
    plural: "volumesnapshots",
    body: {
      apiVersion: `${SNAPSHOT_API.group}/${SNAPSHOT_API.version}`,
      kind: "VolumeSnapshot",
      metadata: { name },
      spec: { volumeSnapshotClassName: className, source: { persistentVolumeClaimName: pvc } },
    },
  });
}

export function waitSnapshotReady(k: Kube, name: string, timeoutMs = 120_000): Promise<VolumeSnapshot> {
  return watchUntil<VolumeSnapshot>(
    k.kc,
    `/apis/${SNAPSHOT_API.group}/${SNAPSHOT_API.version}/namespaces/${NS}/volumesnapshots`,
    name,
    (s) => s.status?.readyToUse === true,
    timeoutMs,
    () => eventsOf(k, "VolumeSnapshot", name),
    undefined,
    (s) => s.status,
  );
}

export function deleteSnapshot(k: Kube, name: string): Promise<void> {
  const ref = { ...SNAPSHOT_API, namespace: NS, plural: "volumesnapshots", name };
  return deleteAndWait(
    `VolumeSnapshot ${name}`,
    () => k.custom.deleteNamespacedCustomObject(ref),
    () => k.custom.getNamespacedCustomObject(ref),
  );
}

export function deletePvc(k: Kube, name: string): Promise<void> {
  return deleteAndWait(
    `PVC ${name}`,
    () => k.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: NS }),
    () => k.core.readNamespacedPersistentVolumeClaim({ name, namespace: NS }),
  );
}
