/** The device driver of each transport, built once per node plugin. */
import type { Host } from "../host.js";
import type { NodeTransport } from "../initiators.js";
import type { Runner } from "../runner.js";
import { FcDevices } from "./fc.js";
import { IscsiDevices } from "./iscsi.js";
import { ScsiHost } from "./scsi.js";
import type { ScsiTimings } from "./scsi.js";
import { DEFAULT_SCSI_TIMINGS } from "./scsi.js";
import { SimLoopDevices } from "./sim.js";
import type { DeviceDriver } from "./types.js";

export interface DeviceOptions {
  runner: Runner;
  host: Host;
  /** The simulator's data directory (sim transport). */
  simDataDir?: string;
  /** How long NodeStage waits for a scanned LUN to appear (fc, iscsi). */
  attachTimeoutMs: number;
  scsiTimings?: ScsiTimings;
}

export type DeviceDrivers = (transport: NodeTransport) => DeviceDriver;

export function deviceDrivers(options: DeviceOptions): DeviceDrivers {
  const scsi = new ScsiHost(options.runner, options.host, options.scsiTimings ?? DEFAULT_SCSI_TIMINGS);
  const drivers: Record<NodeTransport, DeviceDriver> = {
    sim: new SimLoopDevices(options.runner, options.host, options.simDataDir),
    fc: new FcDevices(scsi, options.attachTimeoutMs),
    iscsi: new IscsiDevices(options.runner, scsi, options.attachTimeoutMs),
  };
  return (transport) => drivers[transport];
}
