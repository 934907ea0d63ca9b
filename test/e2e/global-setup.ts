/**
 * One cluster for the whole e2e run (bringing one up takes about a minute warm): started before
 * the first story, stopped after the last — also when a story failed — and the host restored.
 * The stories reach it through its kubeconfig and the simulator's URL (vitest `inject`), and ask
 * for what only the harness can do (crash the controller process) on a unix socket of its own.
 */
import { createServer } from "node:http";
import { join } from "node:path";

import type { TestProject } from "vitest/node";

import type { Cluster } from "./cluster/cluster.js";
import { startCluster } from "./cluster/cluster.js";
import { toolsFromEnv } from "./cluster/from-env.js";

declare module "vitest" {
  export interface ProvidedContext {
    e2e: { kubeconfig: string; simUrl: string; simDataDir: string; dir: string; control: string };
  }
}

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster: Cluster = await startCluster(toolsFromEnv());
  const control = join(cluster.dir, "control.sock");
  const server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/controller/crash") {
      res.writeHead(404).end();
      return;
    }
    cluster.crashController().then(
      () => res.writeHead(204).end(),
      (err: unknown) => res.writeHead(500).end(err instanceof Error ? err.message : String(err)),
    );
  });
  await new Promise<void>((resolve) => server.listen(control, resolve));
  project.provide("e2e", {
    kubeconfig: cluster.kubeconfig,
    simUrl: cluster.simUrl,
    simDataDir: cluster.simDataDir,
    dir: cluster.dir,
    control,
  });
  return async () => {
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    await cluster.stop();
  };
}
