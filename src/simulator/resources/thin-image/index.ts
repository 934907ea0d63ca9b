/**
 * Thin Image (§5, §6, §9): pairs, their actions and status machine, snapshot groups and consistency
 * groups, cascades, clones, the snapshot-tree services, and the snapshot data on disk. One
 * registrar, so resources/index.ts names a single function.
 */
import type { SimCore } from "../../core.js";
import type { RouteTable } from "../../routing.js";
import { registerSnapshotUsage } from "../pool-usage.js";
import { registerPairActions } from "./actions.js";
import { snapshotUsageBytes } from "./data.js";
import { registerGroupRoutes } from "./groups.js";
import { createPair } from "./pairs.js";
import { registerPairQueries } from "./queries.js";
import { thinImageTicker } from "./ticker.js";
import { registerTreeServices } from "./tree.js";

export function registerThinImageRoutes(routes: RouteTable, sim: SimCore): void {
  routes.create("/snapshots", createPair);
  registerPairQueries(routes);
  registerPairActions(routes);
  registerGroupRoutes(routes);
  registerTreeServices(routes);
  sim.addTicker(thinImageTicker(sim));
  registerSnapshotUsage(snapshotUsageBytes);
}
