/** Builds the node plugin's dependencies from its settings (the composition root calls this). */
import { join } from "node:path";

import type { Logger } from "../logging.js";
import type { NodeDeps } from "./deps.js";
import { deviceDrivers } from "./devices/index.js";
import type { ScsiTimings } from "./devices/scsi.js";
import { Host } from "./host.js";
import type { NodeTransport } from "./initiators.js";
import { Mounter } from "./mounter.js";
import { RecordStore } from "./records.js";
import { ExecRunner } from "./runner.js";
import type { Runner } from "./runner.js";

/** How long NodeStage waits for an fc/iscsi LUN to appear after the scan. */
export const DEFAULT_ATTACH_TIMEOUT_MS = 60_000;
/** Default limit of one host command (mkfs and resize have longer ones of their own). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

export interface NodePluginOptions {
  hostRoot: string;
  /** Where the per-volume stage records live (node.stateDir). */
  stateDir: string;
  simDataDir?: string;
  forcedTransport?: NodeTransport;
  defaultTransport: NodeTransport;
  logger: Logger;
  /** Tests: a fake runner / fake host. */
  runner?: Runner;
  host?: Host;
  attachTimeoutMs?: number;
  commandTimeoutMs?: number;
  scsiTimings?: ScsiTimings;
}

/**
 * node.stateDir when not configured: next to the simulator's data for the sim transport, else in
 * kubelet's plugin directory, which the node DaemonSet already mounts from the host.
 */
export function defaultStateDir(
  driverName: string,
  transport: NodeTransport,
  simDataDir: string | undefined,
): string {
  if (transport === "sim" && simDataDir !== undefined) return join(simDataDir, "node-state");
  return `/var/lib/kubelet/plugins/${driverName}/node-state`;
}

export function createNodeDeps(options: NodePluginOptions): NodeDeps {
  const runner =
    options.runner ?? new ExecRunner(options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, options.logger);
  const host = options.host ?? new Host(options.hostRoot);
  return {
    runner,
    host,
    mounter: new Mounter(runner, host),
    records: new RecordStore(options.stateDir),
    devices: deviceDrivers({
      runner,
      host,
      ...(options.simDataDir === undefined ? {} : { simDataDir: options.simDataDir }),
      attachTimeoutMs: options.attachTimeoutMs ?? DEFAULT_ATTACH_TIMEOUT_MS,
      ...(options.scsiTimings ? { scsiTimings: options.scsiTimings } : {}),
    }),
    ...(options.forcedTransport ? { forcedTransport: options.forcedTransport } : {}),
    defaultTransport: options.defaultTransport,
    log: options.logger,
  };
}
