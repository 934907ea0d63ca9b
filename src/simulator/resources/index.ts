/** Every resource module of the simulated array, registered in one place. */
import type { SimCore } from "../core.js";
import type { RouteTable } from "../routing.js";
import { registerCoreRoutes } from "./sessions.js";

export type Registrar = (routes: RouteTable, sim: SimCore) => void;

const registrars: Registrar[] = [registerCoreRoutes];

export function registerAllResources(routes: RouteTable, sim: SimCore): void {
  for (const register of registrars) register(routes, sim);
}
