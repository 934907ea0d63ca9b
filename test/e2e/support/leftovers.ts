/**
 * Story 7's check (issue 12): after a story deleted its pods, snapshots and PVCs through the
 * API, nothing of it is left — on the array (the simulator's state: LDEVs, Thin Image pairs,
 * snapshot groups, LU paths, ShadowImage pairs) or in the cluster (PVs, VolumeAttachments,
 * VolumeSnapshotContents). The stories run one file at a time, so each file ends with it.
 */
import * as k8s from "@kubernetes/client-node";

import type { SimState } from "../../../src/simulator/state.js";
import type { Kube } from "./kube.js";
import { simAdmin } from "./simulator.js";

export function simulatorState(): Promise<SimState> {
  return simAdmin<SimState>("GET", "/state");
}

export interface Leftovers {
  ldevs: number[];
  tiPairs: string[];
  snapshotGroups: string[];
  luns: string[];
  siPairs: number;
  persistentVolumes: string[];
  volumeAttachments: string[];
  volumeSnapshotContents: string[];
}

/** What is left; every list empty when a story cleaned up after itself. */
export async function leftovers(k: Kube): Promise<Leftovers> {
  const state = await simulatorState();
  const contents = (await k.custom.listClusterCustomObject({
    group: "snapshot.storage.k8s.io",
    version: "v1",
    plural: "volumesnapshotcontents",
  })) as { items: { metadata: { name: string } }[] };
  const storage = k.kc.makeApiClient(k8s.StorageV1Api);
  return {
    // The simulator seeds no LDEV of its own in the driver's range (values.yaml ldevRange).
    ldevs: Object.values(state.ldevs)
      .map((l) => l.ldevId)
      .filter((id) => id >= 4096 && id <= 8191),
    tiPairs: state.tiPairs.map((p) => `${p.pvolLdevId},${p.muNumber} (${p.snapshotGroupName})`),
    snapshotGroups: state.snapshotGroups.map((g) => g.snapshotGroupName),
    luns: state.luns.map((l) => `${l.portId},${l.hostGroupNumber},${l.lun} → LDEV ${l.ldevId}`),
    siPairs: state.siPairs.length,
    persistentVolumes: (await k.core.listPersistentVolume()).items.map((p) => p.metadata?.name ?? ""),
    volumeAttachments: (await storage.listVolumeAttachment()).items.map((a) => a.metadata?.name ?? ""),
    volumeSnapshotContents: contents.items.map((c) => c.metadata.name),
  };
}

export const NOTHING_LEFT: Leftovers = {
  ldevs: [],
  tiPairs: [],
  snapshotGroups: [],
  luns: [],
  siPairs: 0,
  persistentVolumes: [],
  volumeAttachments: [],
  volumeSnapshotContents: [],
};

/**
 * What is left once the cluster settled: PVs and their LDEVs go asynchronously after the PVC
 * (reclaimPolicy Delete), so this polls, bounded (60 s), until nothing is left or time is up.
 */
export async function settledLeftovers(k: Kube): Promise<Leftovers> {
  let left = await leftovers(k);
  for (let i = 0; i < 120 && JSON.stringify(left) !== JSON.stringify(NOTHING_LEFT); i++) {
    await new Promise((r) => setTimeout(r, 500));
    left = await leftovers(k);
  }
  return left;
}
