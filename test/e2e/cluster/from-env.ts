/** The tools scripts/e2e.sh built, passed in its environment (see that script). */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { ClusterTools } from "./cluster.js";

export function toolsFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterTools {
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === "") {
      throw new Error(`${name} is not set: run the e2e suite through scripts/e2e.sh (npm run test:e2e)`);
    }
    return value;
  };
  const timings = env.E2E_SIM_TIMINGS === "realistic" ? "realistic" : "instant";
  return {
    repo: join(dirname(fileURLToPath(import.meta.url)), "../../.."),
    bin: need("E2E_BIN"),
    k8sBin: need("E2E_K8S_BIN"),
    helm: need("E2E_HELM"),
    crdDir: need("E2E_CRD_DIR"),
    timings,
  };
}
