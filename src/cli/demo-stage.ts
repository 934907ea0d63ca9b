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
import { createLogger } from "../logging.js";
import { DEFAULT_PASSWORD, DEFAULT_USERNAME, REALISTIC_TIMINGS } from "../simulator/config.js";
import { Simulator } from "../simulator/index.js";
import type { RunningSimulator } from "../simulator/index.js";
import { buildDriver } from "./wiring.js";

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

export async function startStage(dataDir: string, logLevel: string): Promise<Stage> {
  const sim = await Simulator.create({ dataDir: join(dataDir, "sim"), timings: { ...REALISTIC_TIMINGS } });
  const running = await sim.listen({ port: 0 });
  const configPath = join(dataDir, "driver-config.json");
  const array = {
    name: "sim",
    url: running.url,
    storageDeviceId: sim.core.config.storageDeviceId,
    credentials: { username: DEFAULT_USERNAME, password: DEFAULT_PASSWORD },
    defaultPoolId: 0,
    targetPorts: ["CL1-A", "CL2-A"],
    transport: "sim",
  };
  const { config } = await loadConfig({
    argv: [
      "--mode",
      "controller",
      "--config",
      configPath,
      "--endpoint",
      `unix://${join(dataDir, "csi.sock")}`,
    ],
    env: {},
    readFile: (path) =>
      path === configPath
        ? Promise.resolve(JSON.stringify({ arrays: [array] }))
        : Promise.reject(new Error(path)),
  });
  const driver = await buildDriver(config, createLogger(logLevel, process.stderr));
  const server = await startCsiServer(config.endpoint, driver.services);
  // As kubelet and the sidecars dial it: :authority "localhost" on the unix socket (server.ts).
  const csi = loadCsiProto().csi.v1;
  const dial = { "grpc.default_authority": "localhost" };
  const controller = new csi.Controller(server.address, credentials.createInsecure(), dial);
  const groupController = new csi.GroupController(server.address, credentials.createInsecure(), dial);
  const rest = new VspClient({
    baseUrl: running.url,
    storageDeviceId: array.storageDeviceId,
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
