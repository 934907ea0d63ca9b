/**
 * The demo's stage: the embedded simulator (REALISTIC timings) and the driver's real gRPC server on
 * a unix socket in the demo's data directory, with the clients the demo drives it through.
 */
import { join } from "node:path";

import { credentials } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";

import { VspClient } from "../array/client.js";
import { loadConfig } from "../config/index.js";
import type { ControllerClient } from "../csi/generated/csi/v1/Controller.js";
import type { GroupControllerClient } from "../csi/generated/csi/v1/GroupController.js";
import { loadCsiProto } from "../csi/proto-options.js";
import { startCsiServer } from "../csi/server.js";
import type { RunningCsiServer } from "../csi/server.js";
import { createLogger } from "../logging.js";
import { DEFAULT_PASSWORD, DEFAULT_USERNAME, REALISTIC_TIMINGS } from "../simulator/config.js";
import { Simulator } from "../simulator/index.js";
import type { RunningSimulator } from "../simulator/index.js";
import type { Logger } from "../logging.js";
import { buildDriver } from "./wiring.js";
import type { Driver } from "./wiring.js";

/** Everything the demo started, stopped in reverse on the way out. */
export interface Stage {
  sim: Simulator;
  running: RunningSimulator;
  controller: ControllerClient;
  groupController: GroupControllerClient;
  rest: VspClient;
  close(): Promise<void>;
}

/** One unary gRPC call as a promise: `unaryCall((cb) => controller.CreateVolume(req, cb))`. */
export function unaryCall<Res>(
  invoke: (cb: (err: ServiceError | null, value?: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke((err, value) => {
      if (err) reject(err);
      else if (value === undefined) reject(new Error("the driver answered nothing"));
      else resolve(value);
    });
  });
}

/** Basic credentials of the simulator's admin endpoints (host-side data access). */
export function adminAuth(): string {
  return `Basic ${Buffer.from(`${DEFAULT_USERNAME}:${DEFAULT_PASSWORD}`).toString("base64")}`;
}

/**
 * A controller-mode driver over the simulator at `url` — its configuration (one "sim" array,
 * the simulator's default credentials), its services and its gRPC server on a unix socket in `dir`.
 * The demo and the benches run the driver this way.
 */
export async function controllerOverSimulator(
  url: string,
  storageDeviceId: string,
  dir: string,
  logger: Logger,
  /** Further keys of the array's configuration (e.g. maxConcurrentRequests, for benches). */
  arrayExtra: Record<string, unknown> = {},
): Promise<{ driver: Driver; server: RunningCsiServer }> {
  const configPath = join(dir, "driver-config.json");
  const array = {
    name: "sim",
    url,
    storageDeviceId,
    credentials: { username: DEFAULT_USERNAME, password: DEFAULT_PASSWORD },
    defaultPoolId: 0,
    targetPorts: ["CL1-A", "CL2-A"],
    transport: "sim",
    ...arrayExtra,
  };
  const { config } = await loadConfig({
    argv: ["--mode", "controller", "--config", configPath, "--endpoint", `unix://${join(dir, "csi.sock")}`],
    env: {},
    readFile: (path) =>
      path === configPath
        ? Promise.resolve(JSON.stringify({ arrays: [array] }))
        : Promise.reject(new Error(path)),
  });
  const driver = await buildDriver(config, logger);
  return { driver, server: await startCsiServer(config.endpoint, driver.services) };
}

export async function startStage(dataDir: string, logLevel: string): Promise<Stage> {
  const sim = await Simulator.create({ dataDir: join(dataDir, "sim"), timings: { ...REALISTIC_TIMINGS } });
  const running = await sim.listen({ port: 0 });
  const storageDeviceId = sim.core.config.storageDeviceId;
  const { driver, server } = await controllerOverSimulator(
    running.url,
    storageDeviceId,
    dataDir,
    createLogger(logLevel, process.stderr),
  );
  // As kubelet and the sidecars dial it: :authority "localhost" on the unix socket (server.ts).
  const csi = loadCsiProto().csi.v1;
  const dial = { "grpc.default_authority": "localhost" };
  const controller = new csi.Controller(server.address, credentials.createInsecure(), dial);
  const groupController = new csi.GroupController(server.address, credentials.createInsecure(), dial);
  const rest = new VspClient({
    baseUrl: running.url,
    storageDeviceId,
    username: DEFAULT_USERNAME,
    password: DEFAULT_PASSWORD,
    logger: createLogger("silent"),
  });
  return {
    sim,
    running,
    controller,
    groupController,
    rest,
    close: async () => {
      controller.close();
      groupController.close();
      await server.stop();
      await driver.close();
      await rest.close();
      await running.close();
    },
  };
}
