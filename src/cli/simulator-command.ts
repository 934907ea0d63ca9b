/**
 * `vsp-csi simulator`: the embedded VSP as a stand-alone server, for demos, for pointing other
 * clients at, and for the driver's own tests.
 */
import { parseArgs } from "node:util";

import {
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  DEFAULT_PASSWORD,
  DEFAULT_STORAGE_DEVICE_ID,
  DEFAULT_USERNAME,
  INSTANT_TIMINGS,
  MIB,
  REALISTIC_TIMINGS,
} from "../simulator/config.js";
import { faultPatchSchema } from "../simulator/faults.js";
import type { RunningSimulator } from "../simulator/index.js";
import { Simulator } from "../simulator/index.js";
import { UsageError } from "./usage-error.js";

export const SIMULATOR_USAGE = `Usage: vsp-csi simulator [options]

  --port <n>                 TCP port (0 = any free port, printed)      [22016]
  --host <addr>              listen address                             [127.0.0.1]
  --data-dir <dir>           state and LDEV data (sparse files)         [.vsp-sim]
  --username <name>          API user                                   [${DEFAULT_USERNAME}]
  --password <secret>        API password                               [${DEFAULT_PASSWORD}]
  --storage-device-id <id>   12-digit storage device id                 [${DEFAULT_STORAGE_DEVICE_ID}]
  --page-size-mib <n>        HDP page size in MiB                       [42]
  --timings <kind>           instant | realistic                        [realistic]
  --max-concurrent-requests <n>
                             REST requests processed at once; past that
                             503 KART00003-E (busy) with Retry-After    [${DEFAULT_MAX_CONCURRENT_REQUESTS}]
  --tls                      serve HTTPS with a self-signed certificate kept in <data-dir>/tls
  --fault <key=value>        set a fault at start (repeatable), e.g. --fault latencyMs=200
                             --fault busyRate=0.1 --fault poolFull=[0]; change at run time with
                             PUT /simulator/faults`;

export interface SimulatorCommandResult {
  simulator: Simulator;
  running: RunningSimulator;
}

function integer(value: string, flag: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min)
    throw new UsageError(`${flag} must be an integer ≥ ${min}`);
  return Number(value);
}

function parseFaults(values: string[]): Record<string, unknown> {
  const faults: Record<string, unknown> = {};
  for (const item of values) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--fault expects key=value, got "${item}"`);
    const raw = item.slice(eq + 1);
    try {
      faults[item.slice(0, eq)] = JSON.parse(raw) as unknown;
    } catch {
      faults[item.slice(0, eq)] = raw;
    }
  }
  return faults;
}

export async function runSimulatorCommand(args: string[]): Promise<SimulatorCommandResult> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: "string", default: "22016" },
      host: { type: "string", default: "127.0.0.1" },
      "data-dir": { type: "string", default: ".vsp-sim" },
      username: { type: "string", default: DEFAULT_USERNAME },
      password: { type: "string", default: DEFAULT_PASSWORD },
      "storage-device-id": { type: "string", default: DEFAULT_STORAGE_DEVICE_ID },
      "page-size-mib": { type: "string", default: "42" },
      timings: { type: "string", default: "realistic" },
      "max-concurrent-requests": { type: "string", default: String(DEFAULT_MAX_CONCURRENT_REQUESTS) },
      tls: { type: "boolean", default: false },
      fault: { type: "string", multiple: true, default: [] },
    },
  });
  if (!/^\d{12}$/.test(values["storage-device-id"])) {
    throw new UsageError("--storage-device-id must be 12 digits (6-digit model prefix + serial)");
  }
  if (values.timings !== "instant" && values.timings !== "realistic") {
    throw new UsageError(`--timings must be instant or realistic, got "${values.timings}"`);
  }
  const simulator = await Simulator.create({
    dataDir: values["data-dir"],
    username: values.username,
    password: values.password,
    storageDeviceId: values["storage-device-id"],
    pageSizeBytes: integer(values["page-size-mib"], "--page-size-mib", 1) * MIB,
    maxConcurrentRequests: integer(values["max-concurrent-requests"], "--max-concurrent-requests", 1),
    timings: values.timings === "instant" ? { ...INSTANT_TIMINGS } : { ...REALISTIC_TIMINGS },
  });
  const faults = faultPatchSchema.safeParse(parseFaults(values.fault));
  if (!faults.success) {
    throw new UsageError(`--fault: ${faults.error.issues.map((i) => i.message).join("; ")}`);
  }
  simulator.core.faults.update(faults.data);
  const running = await simulator.listen({
    port: integer(values.port, "--port", 0),
    host: values.host,
    tls: values.tls,
  });
  return { simulator, running };
}
