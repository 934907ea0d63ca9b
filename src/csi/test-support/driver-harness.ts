/**
 * Test harness for the CSI controller end to end: one in-process simulator per configured array,
 * a Config loaded the way the binary loads it (loadConfig with --mode all, --endpoint and --config,
 * the file served from memory), the driver built by the composition root (buildDriver) and served
 * by the real gRPC server on a unix socket in a temp dir, and typed clients dialling it.
 * Not part of the build.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { status } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";
import { expect } from "vitest";

import { buildDriver } from "../../cli/wiring.js";
import type { Driver } from "../../cli/wiring.js";
import { loadConfig } from "../../config/index.js";
import type { Config } from "../../config/index.js";
import { parseVolumeId } from "../../driver/ids.js";
import { formatNodeId } from "../../driver/node-id.js";
import { createLogger } from "../../logging.js";
import { simWwpn } from "../../node/initiators.js";
import { DEFAULT_PASSWORD, DEFAULT_USERNAME } from "../../simulator/config.js";
import type { SimulatorOptions } from "../../simulator/index.js";
import type { LdevState } from "../../simulator/state.js";
import { basicAuth, startTestSim } from "../../simulator/test-support/harness.js";
import type { TestSim } from "../../simulator/test-support/harness.js";
import type { CreateVolumeRequest } from "../generated/csi/v1/CreateVolumeRequest.js";
import type { VolumeCapability } from "../generated/csi/v1/VolumeCapability.js";
import type { Volume__Output } from "../generated/csi/v1/Volume.js";
import { startCsiServer } from "../server.js";
import { call, csiClients } from "./clients.js";

export const DRIVER_NAME = "csi.vsp-csi.dev";

export interface ArraySpec {
  name: string;
  transport: "fc" | "iscsi" | "sim";
  targetPorts: string[];
  /** Default: the simulator's default id for the first array, derived ones for the others. */
  storageDeviceId?: string;
  defaultPoolId?: number;
  ldevRange?: { start: number; end: number };
  urlStyle?: "storage-scoped" | "short";
  /** Extra simulator options (timings, pools…). */
  sim?: Partial<SimulatorOptions>;
}

export const FC_ARRAY: ArraySpec = { name: "vsp1", transport: "fc", targetPorts: ["CL1-A", "CL2-A"] };

export interface DriverHarnessOptions {
  arrays?: ArraySpec[];
  logLevel?: "silent" | "debug" | "info" | "trace";
}

/** A driver process: its gRPC server and clients. */
export interface DriverInstance {
  driver: Driver;
  address: string;
  clients: ReturnType<typeof csiClients>;
  controller: ReturnType<typeof csiClients>["controller"];
  identity: ReturnType<typeof csiClients>["identity"];
  stop(): Promise<void>;
}

export interface DriverHarness extends DriverInstance {
  /** The simulator of the first array. */
  t: TestSim;
  /** One simulator per configured array, by array name. */
  sims: Record<string, TestSim>;
  config: Config;
  /** Another driver process (fresh caches) on the same simulators and configuration. */
  restart(): Promise<DriverInstance>;
  stop(): Promise<void>;
}

function storageIdFor(index: number, spec: ArraySpec): string {
  return spec.storageDeviceId ?? `88600012345${String(6 + index).slice(-1)}`;
}

function arrayEntry(spec: ArraySpec, sim: TestSim, storageDeviceId: string): Record<string, unknown> {
  return {
    name: spec.name,
    url: sim.running.url,
    storageDeviceId,
    credentials: { username: DEFAULT_USERNAME, password: DEFAULT_PASSWORD },
    defaultPoolId: spec.defaultPoolId ?? 0,
    targetPorts: spec.targetPorts,
    transport: spec.transport,
    ...(spec.urlStyle ? { urlStyle: spec.urlStyle } : {}),
    ...(spec.ldevRange ? { ldevRange: spec.ldevRange } : {}),
  };
}

async function serve(config: Config, socket: string, logLevel: string): Promise<DriverInstance> {
  const driver = await buildDriver(config, createLogger(logLevel));
  const server = await startCsiServer(`unix://${socket}`, driver.services);
  const clients = csiClients(server.address);
  return {
    driver,
    address: server.address,
    clients,
    controller: clients.controller,
    identity: clients.identity,
    stop: async () => {
      clients.close();
      await server.stop();
      await driver.close();
    },
  };
}

export async function startDriverHarness(options: DriverHarnessOptions = {}): Promise<DriverHarness> {
  const specs = options.arrays ?? [FC_ARRAY];
  const dir = await mkdtemp(join(tmpdir(), "vsp-csi-ctl-"));
  const hostRoot = join(dir, "host");
  await mkdir(hostRoot);
  const sims: Record<string, TestSim> = {};
  const entries: Record<string, unknown>[] = [];
  for (const [i, spec] of specs.entries()) {
    const storageDeviceId = storageIdFor(i, spec);
    const sim = await startTestSim({ storageDeviceId, ...spec.sim });
    sims[spec.name] = sim;
    entries.push(arrayEntry(spec, sim, storageDeviceId));
  }
  const configPath = join(dir, "config.json");
  // The node half of mode "all" reads initiators under hostRoot: an empty one, not this machine's.
  const file = JSON.stringify({ arrays: entries, node: { hostRoot } });
  const { config } = await loadConfig({
    argv: ["--mode", "all", "--endpoint", `unix://${join(dir, "csi.sock")}`, "--config", configPath],
    env: {},
    readFile: (path) =>
      path === configPath
        ? Promise.resolve(file)
        : Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" })),
    hostname: () => "controller-0",
    driverVersion: "0.0.0-test",
  });
  const logLevel = options.logLevel ?? "silent";
  const instances: DriverInstance[] = [await serve(config, join(dir, "csi.sock"), logLevel)];
  const first = instances[0];
  if (!first) throw new Error("no driver started");
  const firstSim = sims[specs[0]?.name ?? ""];
  if (!firstSim) throw new Error("no simulator started");
  return {
    ...first,
    t: firstSim,
    sims,
    config,
    restart: async () => {
      const next = await serve(config, join(dir, `csi-${instances.length}.sock`), logLevel);
      instances.push(next);
      return next;
    },
    stop: async () => {
      for (const instance of instances) await instance.stop();
      for (const sim of Object.values(sims)) await sim.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---- helpers for the tests ------------------------------------------------------------------------

export const MIB = 1024 * 1024;
export type ControllerClient = DriverInstance["controller"];

/** A filesystem volume one node writes (a ReadWriteOnce PVC). */
export const MOUNT_RWO: VolumeCapability = {
  access_mode: { mode: "SINGLE_NODE_WRITER" },
  mount: { fs_type: "ext4" },
};
/** A raw block volume every node may write (a ReadWriteMany block PVC). */
export const BLOCK_RWX: VolumeCapability = { access_mode: { mode: "MULTI_NODE_MULTI_WRITER" }, block: {} };
export const BLOCK_RWO: VolumeCapability = { access_mode: { mode: "SINGLE_NODE_WRITER" }, block: {} };

/** The gRPC error a call failed with (fails the test when the call succeeds). */
export async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Asserts the call fails with this gRPC status (by name, for readable diffs) and message. */
export async function expectStatus(
  promise: Promise<unknown>,
  code: status,
  message?: RegExp | string,
): Promise<ServiceError> {
  const err = await failure(promise);
  expect(status[err.code], err.details).toBe(status[code]);
  if (message !== undefined) expect(err.details).toMatch(message);
  return err;
}

export async function createVolume(
  controller: ControllerClient,
  name: string,
  request: Partial<CreateVolumeRequest> = {},
): Promise<Volume__Output> {
  const res = await call(controller, "CreateVolume", {
    name,
    volume_capabilities: [MOUNT_RWO],
    capacity_range: { required_bytes: String(MIB) },
    ...request,
  });
  if (!res.volume) throw new Error("CreateVolume answered no volume");
  return res.volume;
}

export function ldevIdOf(volumeId: string): number {
  return parseVolumeId(volumeId).ldevId;
}

/** The LDEV as the array holds it, or undefined when the id is free. */
export function ldevIn(t: TestSim, ldevId: number): LdevState | undefined {
  return t.sim.core.state.ldevs[String(ldevId)];
}

export function allLdevs(t: TestSim): LdevState[] {
  return Object.values(t.sim.core.state.ldevs);
}

/** The CSI node id of an FC node (one WWPN derived from its name, as the sim transport does). */
export function fcNode(nodeName: string): string {
  return formatNodeId({ nodeName, wwpns: [simWwpn(nodeName)] });
}

/** The REST requests the array received since the last reset, as "METHOD /path-after-storage". */
export async function restRequests(t: TestSim): Promise<string[]> {
  const res = await t.admin("GET", "/simulator/requests");
  const entries = res.body.data as { method: string; path: string }[];
  return entries.map((e) => `${e.method} ${e.path.replace(/^.*\/objects(\/storages\/\d+)?/, "")}`);
}

export async function resetRequests(t: TestSim): Promise<void> {
  await t.admin("DELETE", "/simulator/requests");
}

/** A host write through the admin data endpoint (what a host writes through a LUN). */
export async function writeData(t: TestSim, ldevId: number, data: Buffer, offset = 0): Promise<void> {
  const res = await fetch(`${t.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}`, {
    method: "PUT",
    headers: { Authorization: basicAuth, "Content-Type": "application/octet-stream" },
    body: new Uint8Array(data),
  });
  expect(res.status).toBe(200);
}
