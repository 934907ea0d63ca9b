/**
 * Story 2 (issue 12): a VolumeGroupSnapshot of a "database" of two raw block PVCs — a log and a
 * data volume — taken while a pod writes ONE sequence of dependent records to both (record i on
 * volume i % 2 at slot ⌊i/2⌋, each write synced before the next, as a database orders its log and
 * data writes). Both members are restored; the restored pair must hold records 0…M-1 for one M
 * and nothing after: one point in time across both volumes, cut while the writer ran (M < N).
 *
 * The writer pauses 20 ms between records, like a database between transactions: its writes
 * reach the LDEV files through loop devices, past the simulator, which cannot freeze them for the
 * split as an array does; it takes the members' images at once, within a few milliseconds
 * (src/simulator/resources/thin-image/transitions.ts splitPairs).
 */
import { describe, expect, it } from "vitest";

import type { Kube, PodVolume } from "./support/kube.js";
import {
  createPvc,
  deleteAndWait,
  podWith,
  waitPodPhase,
  deletePod,
  deletePvc,
  eventsOf,
  kube,
  NS,
  waitPvcBound,
  watchUntil,
} from "./support/kube.js";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { NOTHING_LEFT, settledLeftovers } from "./support/leftovers.js";

const GROUP_API = { group: "groupsnapshot.storage.k8s.io", version: "v1" } as const;
/** Records the writer writes at most: far more than one group snapshot takes to cut. */
const N = 8000;

/** A pod with both PVCs as raw devices /dev/log and /dev/data running `script`. */
async function startPod(k: Kube, name: string, claims: [string, string], script: string): Promise<void> {
  const volumes: PodVolume[] = [
    { claim: claims[0], mode: "Block", at: "/dev/log" },
    { claim: claims[1], mode: "Block", at: "/dev/data" },
  ];
  await k.core.createNamespacedPod({ namespace: NS, body: podWith(name, volumes, `set -e\n${script}`) });
}

const WRITER = [
  `i=0`,
  `while [ $i -lt ${N} ]; do`,
  `  if [ $((i % 2)) -eq 0 ]; then dev=/dev/log; else dev=/dev/data; fi`,
  `  printf 'rec %08d\\n' $i | dd of=$dev bs=4096 seek=$((i / 2)) conv=notrunc,fsync 2>/dev/null`,
  `  i=$((i + 1))`,
  `  usleep 20000`,
  `done`,
].join("\n");

/** Counts the leading records on each device and checks each slot holds its own record. */
const READER = [
  `check() {`,
  `  dev=$1; first=$2; s=0`,
  `  while [ $s -lt ${N} ]; do`,
  `    r=$(dd if=$dev bs=4096 skip=$s count=1 2>/dev/null | head -c 12)`,
  `    [ "$r" = "$(printf 'rec %08d' $((s * 2 + first)))" ] || break`,
  `    s=$((s + 1))`,
  `  done`,
  // After the first missing record nothing may follow (look well past it).
  `  t=$s; stray=0`,
  `  while [ $t -lt $((s + 64)) ]; do`,
  `    r=$(dd if=$dev bs=4096 skip=$t count=1 2>/dev/null | head -c 4)`,
  `    [ "$r" = "rec " ] && stray=1`,
  `    t=$((t + 1))`,
  `  done`,
  `  echo "$s $stray"`,
  `}`,
  `echo "$(check /dev/log 0) $(check /dev/data 1)" > /dev/termination-log`,
].join("\n");

interface Content {
  status?: {
    snapshotHandle?: string;
    volumeSnapshotInfoList?: { volumeHandle?: string; snapshotHandle?: string }[];
  };
}

/**
 * PVC name → the member VolumeSnapshot of the group taken of it. The v1 API lists members only
 * on the group's content (volume handle → snapshot handle); snapshot-controller creates one
 * VolumeSnapshot per member, owned by the group, bound to a content with that snapshot handle.
 */
async function memberSnapshots(k: Kube, groupContent: string): Promise<Map<string, string>> {
  const content = (await k.custom.getClusterCustomObject({
    ...GROUP_API,
    plural: "volumegroupsnapshotcontents",
    name: groupContent,
  })) as Content;
  const snapshotOfVolume = new Map(
    (content.status?.volumeSnapshotInfoList ?? []).map((i) => [i.volumeHandle ?? "", i.snapshotHandle ?? ""]),
  );
  const snapshots = (await k.custom.listNamespacedCustomObject({
    group: "snapshot.storage.k8s.io",
    version: "v1",
    namespace: NS,
    plural: "volumesnapshots",
  })) as {
    items: {
      metadata: { name: string; ownerReferences?: { kind: string; name: string }[] };
      status?: { boundVolumeSnapshotContentName?: string };
    }[];
  };
  const byHandle = new Map<string, string>();
  for (const s of snapshots.items) {
    if (
      !(s.metadata.ownerReferences ?? []).some(
        (o) => o.kind === "VolumeGroupSnapshot" && o.name === "db-group",
      )
    )
      continue;
    const c = (await k.custom.getClusterCustomObject({
      group: "snapshot.storage.k8s.io",
      version: "v1",
      plural: "volumesnapshotcontents",
      name: s.status?.boundVolumeSnapshotContentName ?? "",
    })) as Content;
    byHandle.set(c.status?.snapshotHandle ?? "", s.metadata.name);
  }
  const out = new Map<string, string>();
  for (const claim of ["db-log", "db-data"]) {
    const pvc = await k.core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: NS });
    const pv = await k.core.readPersistentVolume({ name: pvc.spec?.volumeName ?? "" });
    const snapshot = byHandle.get(snapshotOfVolume.get(pv.spec?.csi?.volumeHandle ?? "") ?? "");
    if (snapshot !== undefined) out.set(claim, snapshot);
  }
  return out;
}

describe("volume group snapshot of a database on two PVCs", () => {
  const k = kube();

  it("restores both volumes to one point in time, cut while the writer ran", async () => {
    for (const c of ["db-log", "db-data"]) {
      await createPvc(k, { name: c, storageClass: "vsp-ext4", mode: "Block" });
      await waitPvcBound(k, c);
      await k.core.patchNamespacedPersistentVolumeClaim(
        { name: c, namespace: NS, body: { metadata: { labels: { app: "db" } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    }
    await startPod(k, "db-writer", ["db-log", "db-data"], WRITER);
    await waitPodPhase(k, "db-writer", ["Running", "Succeeded", "Failed"], 240_000);

    await k.custom.createNamespacedCustomObject({
      ...GROUP_API,
      namespace: NS,
      plural: "volumegroupsnapshots",
      body: {
        apiVersion: `${GROUP_API.group}/${GROUP_API.version}`,
        kind: "VolumeGroupSnapshot",
        metadata: { name: "db-group" },
        spec: {
          volumeGroupSnapshotClassName: "vsp-group-snapshots",
          source: { selector: { matchLabels: { app: "db" } } },
        },
      },
    });
    const group = await watchUntil<{
      status?: { readyToUse?: boolean; boundVolumeGroupSnapshotContentName?: string };
    }>(
      k.kc,
      `/apis/${GROUP_API.group}/${GROUP_API.version}/namespaces/${NS}/volumegroupsnapshots`,
      "db-group",
      (g) => g.status?.readyToUse === true,
      180_000,
      () => eventsOf(k, "VolumeGroupSnapshot", "db-group"),
    );
    // The writer is still writing (it would for N × 20 ms): stop it, the cut is taken.
    await deletePod(k, "db-writer");

    const members = await memberSnapshots(k, group.status?.boundVolumeGroupSnapshotContentName ?? "");
    expect([...members.keys()].sort()).toEqual(["db-data", "db-log"]);
    for (const c of ["db-log", "db-data"]) {
      await createPvc(k, {
        name: `${c}-restored`,
        storageClass: "vsp-ext4",
        mode: "Block",
        dataSource: { kind: "VolumeSnapshot", name: members.get(c) ?? "" },
      });
      await waitPvcBound(k, `${c}-restored`);
    }
    await startPod(k, "db-reader", ["db-log-restored", "db-data-restored"], READER);
    const reader = await waitPodPhase(k, "db-reader", ["Succeeded", "Failed"], 600_000);
    expect(reader.status?.phase).toBe("Succeeded");
    const [onLog, strayLog, onData, strayData] = (
      reader.status?.containerStatuses?.[0]?.state?.terminated?.message ?? ""
    )
      .trim()
      .split(" ")
      .map(Number);
    await deletePod(k, "db-reader");
    // Records 0…M-1: the log holds ⌈M/2⌉ of them, the data volume ⌊M/2⌋, nothing after.
    const m = (onLog ?? 0) + (onData ?? 0);
    expect({ strayLog, strayData }).toEqual({ strayLog: 0, strayData: 0 });
    expect(onLog).toBe(Math.ceil(m / 2));
    expect(onData).toBe(Math.floor(m / 2));
    expect(m).toBeGreaterThan(0);
    expect(m).toBeLessThan(N);

    for (const c of ["db-log-restored", "db-data-restored"]) await deletePvc(k, c);
    const ref = { ...GROUP_API, namespace: NS, plural: "volumegroupsnapshots", name: "db-group" };
    await deleteAndWait(
      "VolumeGroupSnapshot db-group",
      () => k.custom.deleteNamespacedCustomObject(ref),
      () => k.custom.getNamespacedCustomObject(ref),
    );
    for (const c of ["db-log", "db-data"]) await deletePvc(k, c);
  }, 1_200_000);

  it("leaves nothing on the array or in the cluster", async () => {
    expect(await settledLeftovers(k)).toEqual(NOTHING_LEFT);
  });
});
