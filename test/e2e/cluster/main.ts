/**
 * `npm run cluster`: the e2e cluster, left running for a person to look at — prints the
 * kubeconfig to use with kubectl (and the chart's example objects), stops on Ctrl-C.
 */
import { startCluster } from "./cluster.js";
import { toolsFromEnv } from "./from-env.js";

const cluster = await startCluster(toolsFromEnv());
console.log(`cluster up: export KUBECONFIG=${cluster.kubeconfig}`);
console.log(`simulator: ${cluster.simUrl}   logs: ${cluster.dir}/logs   (Ctrl-C stops it)`);
await new Promise<void>((resolve) => {
  process.once("SIGINT", resolve);
  process.once("SIGTERM", resolve);
});
await cluster.stop();
