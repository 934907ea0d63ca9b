/**
 * Group snapshot figures: REST calls of CreateVolumeGroupSnapshot / DeleteVolumeGroupSnapshot for
 * N volumes (instant simulator, so the count has no polling in it), and the time from the request
 * to a consistent group snapshot of 10 volumes with REALISTIC timings (pair create 1 s, split
 * 0.5 s), each volume holding 16 MiB.
 */
import { call } from "../src/csi/test-support/clients.js";
import { DEFAULT_PASSWORD, DEFAULT_USERNAME, REALISTIC_TIMINGS } from "../src/simulator/config.js";
import type { BenchStage } from "./stage.js";
import { startBenchStage } from "./stage.js";

const MIB = 1024 * 1024;
const CAP = { access_mode: { mode: "SINGLE_NODE_WRITER" as const }, block: {} };

export interface GroupFigures {
  /** N → REST calls of one CreateVolumeGroupSnapshot / DeleteVolumeGroupSnapshot. */
  createCalls: Record<number, number>;
  deleteCalls: Record<number, number>;
  /** 10 volumes, realistic timings: ms per run. */
  tenVolumesMs: number[];
}

async function volumes(stage: BenchStage, prefix: string, n: number, dataMib: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await call(stage.clients.controller, "CreateVolume", {
      name: `${prefix}-${i}`,
      capacity_range: { required_bytes: String(1024 * MIB) },
      volume_capabilities: [CAP],
    });
    const id = res.volume?.volume_id ?? "";
    const ldevId = id.split(".")[3] ?? "";
    if (dataMib > 0) {
      await fetch(`${stage.url}/simulator/ldevs/${ldevId}/data`, {
        method: "PUT",
        headers: {
          Authorization: `Basic ${Buffer.from(`${DEFAULT_USERNAME}:${DEFAULT_PASSWORD}`).toString("base64")}`,
        },
        body: new Uint8Array(Buffer.alloc(dataMib * MIB, i + 1)),
      });
    }
    ids.push(id);
  }
  return ids;
}

async function groupOnce(stage: BenchStage, name: string, ids: string[]): Promise<string> {
  const res = await call(stage.clients.groupController, "CreateVolumeGroupSnapshot", {
    name,
    source_volume_ids: ids,
  });
  if (!res.group_snapshot?.ready_to_use) throw new Error("group snapshot not ready");
  return res.group_snapshot.group_snapshot_id;
}

export async function benchGroupSnapshots(): Promise<GroupFigures> {
  const createCalls: Record<number, number> = {};
  const deleteCalls: Record<number, number> = {};
  const instant = await startBenchStage();
  try {
    for (const n of [1, 2, 5, 10]) {
      const ids = await volumes(instant, `count-${n}`, n, 0);
      let groupId = "";
      createCalls[n] = await instant.calls(async () => {
        groupId = await groupOnce(instant, `count-${n}`, ids);
      });
      deleteCalls[n] = await instant.calls(() =>
        call(instant.clients.groupController, "DeleteVolumeGroupSnapshot", { group_snapshot_id: groupId }),
      );
    }
  } finally {
    await instant.close();
  }
  const realistic = await startBenchStage({ ...REALISTIC_TIMINGS });
  const tenVolumesMs: number[] = [];
  try {
    const ids = await volumes(realistic, "ten", 10, 16);
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      const groupId = await groupOnce(realistic, `ten-${run}`, ids);
      tenVolumesMs.push(performance.now() - started);
      await call(realistic.clients.groupController, "DeleteVolumeGroupSnapshot", {
        group_snapshot_id: groupId,
      });
    }
  } finally {
    await realistic.close();
  }
  return { createCalls, deleteCalls, tenVolumesMs };
}
