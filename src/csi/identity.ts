/**
 * Identity service: who the plugin is, what it offers, and whether it is ready. Capabilities derive
 * from the configuration (which services this process runs), never from hard-coded lists.
 */
import type { Logger } from "../logging.js";
import type { IdentityHandlers } from "./generated/csi/v1/Identity.js";
import type { PluginCapability } from "./generated/csi/v1/PluginCapability.js";
import { unary } from "./pipeline.js";

export interface IdentityOptions {
  driverName: string;
  version: string;
  /** This process serves the Controller service. */
  controller: boolean;
  /** This process serves the GroupController service. */
  groupController: boolean;
  /** The driver reports topology (accessible_topology) for volumes and nodes. */
  topology: boolean;
  /**
   * Readiness: in controller mode, whether the array answers (a cheap, cached GET); in node mode,
   * whether the host tools are present. Throwing counts as not ready.
   */
  probe: () => Promise<boolean>;
  logger: Logger;
}

export function pluginCapabilities(options: IdentityOptions): PluginCapability[] {
  const caps: PluginCapability[] = [];
  if (options.controller) {
    caps.push({ service: { type: "CONTROLLER_SERVICE" } });
    // Online expansion: the LDEV grows under a mounted filesystem, the node grows the filesystem.
    caps.push({ volume_expansion: { type: "ONLINE" } });
  }
  if (options.groupController) caps.push({ service: { type: "GROUP_CONTROLLER_SERVICE" } });
  if (options.topology) caps.push({ service: { type: "VOLUME_ACCESSIBILITY_CONSTRAINTS" } });
  return caps;
}

export function identityService(options: IdentityOptions): IdentityHandlers {
  const { logger } = options;
  return {
    GetPluginInfo: unary("GetPluginInfo", logger, () =>
      Promise.resolve({ name: options.driverName, vendor_version: options.version, manifest: {} }),
    ),
    GetPluginCapabilities: unary("GetPluginCapabilities", logger, () =>
      Promise.resolve({ capabilities: pluginCapabilities(options) }),
    ),
    Probe: unary("Probe", logger, async (_req, ctx) => {
      let ready = false;
      try {
        ready = await options.probe();
      } catch (err) {
        ctx.log.warn({ err }, "probe failed");
      }
      return { ready: { value: ready } };
    }),
  };
}
