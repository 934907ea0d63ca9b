/**
 * Controller figures against the embedded simulator (instant timings): p50/p95 CreateVolume latency
 * over the real gRPC socket, and the REST calls each operation makes (from the simulator's request
 * log) — CreateVolume, ControllerPublishVolume (new node, then repeated), ControllerUnpublish,
 * DeleteVolume.
 */
import { call } from "../src/csi/test-support/clients.js";
import { formatNodeId } from "../src/driver/node-id.js";
import { startBenchStage } from "./stage.js";

export interface ControllerFigures {
  createVolumeMs: { p50: number; p95: number; n: number };
  restCalls: Record<string, number>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function benchController(n = 200): Promise<ControllerFigures> {
  const stage = await startBenchStage();
  const { controller } = stage.clients;
  const calls = (work: () => Promise<unknown>) => stage.calls(work);
  const cap = { access_mode: { mode: "SINGLE_NODE_WRITER" as const }, mount: { fs_type: "ext4" } };
  try {
    const durations: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      const res = await call(controller, "CreateVolume", {
        name: `pvc-bench-${i}`,
        capacity_range: { required_bytes: String(1024 ** 3) },
        volume_capabilities: [cap],
      });
      durations.push(performance.now() - started);
      ids.push(res.volume?.volume_id ?? "");
    }
    durations.sort((a, b) => a - b);
    const volumeId = ids[0] ?? "";
    const nodeId = formatNodeId({ nodeName: "bench-node", wwpns: ["10000000c9abcdef"] });
    const restCalls = {
      CreateVolume: await calls(() =>
        call(controller, "CreateVolume", { name: "pvc-bench-count", volume_capabilities: [cap] }),
      ),
      "ControllerPublishVolume (new node)": await calls(() =>
        call(controller, "ControllerPublishVolume", {
          volume_id: volumeId,
          node_id: nodeId,
          volume_capability: cap,
        }),
      ),
      "ControllerPublishVolume (repeat)": await calls(() =>
        call(controller, "ControllerPublishVolume", {
          volume_id: volumeId,
          node_id: nodeId,
          volume_capability: cap,
        }),
      ),
      ControllerUnpublishVolume: await calls(() =>
        call(controller, "ControllerUnpublishVolume", { volume_id: volumeId, node_id: nodeId }),
      ),
      DeleteVolume: await calls(() => call(controller, "DeleteVolume", { volume_id: volumeId })),
    };
    return {
      createVolumeMs: { p50: percentile(durations, 50), p95: percentile(durations, 95), n },
      restCalls,
    };
  } finally {
    await stage.close();
  }
}
