/**
 * Host attachment on the simulated array (reference §7): ports, host groups / iSCSI targets, host
 * WWNs and iSCSI names, CHAP users, and LU paths.
 */
import type { RouteTable } from "../../routing.js";
import { registerChapUserRoutes } from "./chap-users.js";
import { registerHostGroupRoutes } from "./host-groups.js";
import { registerHostIscsiRoutes } from "./host-iscsis.js";
import { registerHostWwnRoutes } from "./host-wwns.js";
import { registerLunRoutes } from "./luns.js";
import { registerPortRoutes } from "./ports.js";

export function registerHostRoutes(routes: RouteTable): void {
  registerPortRoutes(routes);
  registerHostGroupRoutes(routes);
  registerHostWwnRoutes(routes);
  registerHostIscsiRoutes(routes);
  registerChapUserRoutes(routes);
  registerLunRoutes(routes);
}
