/** Every resource module of the simulated array, registered in one place. */
import type { SimCore } from "../core.js";
import type { RouteTable } from "../routing.js";
import { registerCoreRoutes } from "./sessions.js";
import { registerLdevRoutes } from "./ldevs/routes.js";
import { registerPoolRoutes } from "./pools.js";
import { registerHostRoutes } from "./hosts/index.js";
import { registerShadowImageRoutes } from "./shadow-image/index.js";
import { registerThinImageRoutes } from "./thin-image/index.js";

export type Registrar = (routes: RouteTable, sim: SimCore) => void;

const registrars: Registrar[] = [
  registerCoreRoutes,
  registerLdevRoutes,
  registerPoolRoutes,
  registerHostRoutes,
  registerShadowImageRoutes,
  registerThinImageRoutes,
];

export function registerAllResources(routes: RouteTable, sim: SimCore): void {
  for (const register of registrars) register(routes, sim);
}
