/**
 * A driver in controller mode over its real gRPC socket against an embedded simulator, for the
 * benches: what the sidecars would talk to, with the simulator's request log to count REST calls.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { controllerOverSimulator } from "../src/cli/demo-stage.js";
import { csiClients } from "../src/csi/test-support/clients.js";
import { createLogger } from "../src/logging.js";
import type { SimTimings } from "../src/simulator/config.js";
import { Simulator } from "../src/simulator/index.js";

export interface BenchStage {
  sim: Simulator;
  url: string;
  clients: ReturnType<typeof csiClients>;
  /** REST requests `work` made (the simulator's request log). */
  calls(work: () => Promise<unknown>): Promise<number>;
  close(): Promise<void>;
}

export async function startBenchStage(
  timings?: SimTimings,
  arrayExtra: Record<string, unknown> = {},
): Promise<BenchStage> {
  const dir = await mkdtemp(join(tmpdir(), "vsp-bench-"));
  const sim = await Simulator.create({ dataDir: join(dir, "sim"), ...(timings ? { timings } : {}) });
  const running = await sim.listen({ port: 0 });
  const { driver, server } = await controllerOverSimulator(
    running.url,
    sim.core.config.storageDeviceId,
    dir,
    createLogger("silent"),
    arrayExtra,
  );
  const clients = csiClients(server.address);
  const log = sim.core.requestLog;
  return {
    sim,
    url: running.url,
    clients,
    calls: async (work) => {
      const before = log.length;
      await work();
      return log.length - before;
    },
    close: async () => {
      clients.close();
      await server.stop();
      await driver.close();
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
