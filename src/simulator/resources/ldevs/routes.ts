/**
 * The LDEV resource (§4): create, get, list, change, delete and the actions. One registrar, so
 * resources/index.ts names a single function.
 */
import type { RouteTable } from "../../routing.js";
import { registerLdevActions } from "./actions.js";
import { ldevIdParam } from "./common.js";
import { createLdev } from "./create.js";
import { deleteLdev } from "./delete.js";
import { modifyLdev } from "./modify.js";
import { ldevView, listLdevs, notDefinedView, viewOptions } from "./view.js";

export function registerLdevRoutes(routes: RouteTable): void {
  routes.get("/ldevs", listLdevs);
  routes.create("/ldevs", createLdev);

  routes.get("/ldevs/:ldevId", (ctx) => {
    const ldevId = ldevIdParam(ctx);
    const ldev = ctx.sim.state.ldevs[String(ldevId)];
    return ldev ? ldevView(ctx.sim, ldev, viewOptions(ctx)) : notDefinedView(ldevId);
  });
  routes.modify("/ldevs/:ldevId", modifyLdev);
  routes.remove("/ldevs/:ldevId", deleteLdev);

  registerLdevActions(routes);
}
