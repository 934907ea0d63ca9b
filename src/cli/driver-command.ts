/**
 * `vsp-csi controller|node|all`: the CSI driver. With `--embedded-simulator` (what `npm start`
 * uses), `all` first starts the embedded VSP simulator and points the driver at it.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";

import { loadConfigFromProcess, redactedConfig } from "../config/index.js";
import type { Mode } from "../config/index.js";
import { startCsiServer } from "../csi/server.js";
import type { RunningCsiServer } from "../csi/server.js";
import { createLogger } from "../logging.js";
import { DEFAULT_PASSWORD, DEFAULT_USERNAME, REALISTIC_TIMINGS } from "../simulator/config.js";
import type { RunningSimulator } from "../simulator/index.js";
import { Simulator } from "../simulator/index.js";
import { buildDriver } from "./wiring.js";

export interface RunningDriver {
  server: RunningCsiServer;
  simulator?: RunningSimulator;
  stop(): Promise<void>;
}

const EMBEDDED = "--embedded-simulator";

/** Starts the simulator in `dataDir` and writes a driver configuration that uses it. */
async function embeddedSimulator(
  dataDir: string,
): Promise<{ running: RunningSimulator; configFile: string }> {
  const sim = await Simulator.create({ dataDir, timings: { ...REALISTIC_TIMINGS } });
  // As in production: HTTPS verified against a pinned CA, credentials from a Secret-like directory.
  const running = await sim.listen({ port: 0, tls: true });
  const secretDir = resolve(dataDir, "secret");
  await mkdir(secretDir, { recursive: true, mode: 0o700 });
  await writeFile(resolve(secretDir, "username"), DEFAULT_USERNAME, { mode: 0o600 });
  await writeFile(resolve(secretDir, "password"), DEFAULT_PASSWORD, { mode: 0o600 });
  const configFile = resolve(dataDir, "driver-config.json");
  const config = {
    arrays: [
      {
        name: "sim",
        url: running.url,
        storageDeviceId: sim.core.config.storageDeviceId,
        credentials: { secretDir },
        caBundle: running.certPath,
        defaultPoolId: 0,
        targetPorts: ["CL1-A", "CL2-A"],
        transport: "sim",
      },
    ],
    // The sim transport attaches each LDEV's data file in this directory as a loop device.
    node: { simDataDir: dataDir },
  };
  await writeFile(configFile, JSON.stringify(config, null, 2));
  return { running, configFile };
}

export async function runDriverCommand(mode: Mode, args: string[]): Promise<RunningDriver> {
  const embedded = mode === "all" && args.includes(EMBEDDED);
  const rest = args.filter((a) => a !== EMBEDDED);
  let simulator: RunningSimulator | undefined;
  if (embedded) {
    const dataDir = resolve(".vsp-sim");
    await mkdir(dataDir, { recursive: true });
    const sim = await embeddedSimulator(dataDir);
    simulator = sim.running;
    rest.unshift("--config", sim.configFile, "--endpoint", `unix://${resolve(dataDir, "csi.sock")}`);
  }
  try {
    return await startDriver(mode, rest, simulator);
  } catch (err) {
    // The embedded simulator's server would keep the process alive after a failed start.
    await simulator?.close();
    throw err;
  }
}

async function startDriver(
  mode: Mode,
  args: string[],
  simulator: RunningSimulator | undefined,
): Promise<RunningDriver> {
  const { config, warnings } = await loadConfigFromProcess(["--mode", mode, ...args]);
  const logger = createLogger(config.logLevel);
  for (const warning of warnings) logger.warn(warning);
  logger.info({ config: redactedConfig(config) }, "starting");
  const driver = await buildDriver(config, logger);
  const server = await startCsiServer(config.endpoint, driver.services);
  logger.info({ endpoint: server.address }, "CSI endpoint listening");
  return {
    server,
    ...(simulator ? { simulator } : {}),
    stop: async () => {
      await server.stop();
      await driver.close();
      await simulator?.close();
    },
  };
}
