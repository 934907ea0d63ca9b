/**
 * One cluster for the whole e2e run (bringing one up takes about a minute warm): started before
 * the first story, stopped after the last — also when a story failed — and the host restored.
 * The stories reach it through its kubeconfig and the simulator's URL (vitest `inject`).
 */
import type { TestProject } from "vitest/node";

import type { Cluster } from "./cluster/cluster.js";
import { startCluster } from "./cluster/cluster.js";
import { toolsFromEnv } from "./cluster/from-env.js";

declare module "vitest" {
  export interface ProvidedContext {
    e2e: { kubeconfig: string; simUrl: string; simDataDir: string; dir: string };
  }
}

let cluster: Cluster | undefined;

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  cluster = await startCluster(toolsFromEnv());
  project.provide("e2e", {
    kubeconfig: cluster.kubeconfig,
    simUrl: cluster.simUrl,
    simDataDir: cluster.simDataDir,
    dir: cluster.dir,
  });
  return async () => {
    await cluster?.stop();
  };
}
