/**
 * Test support for snapshots, restores and clones, on top of driver-harness.ts: the data helpers
 * (deterministic patterns, checksums of LDEV contents through the simulator's admin endpoint), a
 * view of what the array holds, and a service rig that builds the driver's services the way a
 * controller process does, over a REST client that can "crash".
 *
 * A crash: `crashingClient(inner, k, variant)` lets k change requests through; the next one either
 * never leaves (`drop`) or reaches the array but its answer is lost (`process`), and from then on
 * every call fails as if the process were dead — no cleanup, no further request. Building fresh
 * services on a healthy client then is the restarted controller, with nothing in memory but what
 * the array holds. Not part of the build.
 */
import { createHash } from "node:crypto";

import { afterEach, expect } from "vitest";

import { VspClient } from "../../array/client.js";
import type { VspArray } from "../../array/client.js";
import { ArrayRegistry } from "../../driver/arrays.js";
import type { ManagedArray } from "../../driver/arrays.js";
import { CloneService } from "../../driver/clones.js";
import type { CloneOptions } from "../../driver/clones.js";
import { SnapshotService } from "../../driver/snapshots.js";
import { VolumeService } from "../../driver/volumes.js";
import { createLogger } from "../../logging.js";
import { INSTANT_TIMINGS } from "../../simulator/config.js";
import type { SimTimings } from "../../simulator/config.js";
import type { TiPairState } from "../../simulator/state.js";
import type { TestSim } from "../../simulator/test-support/harness.js";
import { basicAuth } from "../../simulator/test-support/harness.js";
import { DRIVER_NAME, FC_ARRAY, allLdevs, startDriverHarness } from "./driver-harness.js";
import type { ControllerClient, DriverHarness } from "./driver-harness.js";
import type { CreateVolumeRequest } from "../generated/csi/v1/CreateVolumeRequest.js";
import type { Snapshot__Output } from "../generated/csi/v1/Snapshot.js";
import type { VolumeGroupSnapshot__Output } from "../generated/csi/v1/VolumeGroupSnapshot.js";
import { call } from "./clients.js";

export const MIB = 1024 * 1024;

/** A driver harness on one simulated array with these timings (instant unless given). */
export function startSnapshotHarness(timings: Partial<SimTimings> = {}): Promise<DriverHarness> {
  const sim = { timings: { ...INSTANT_TIMINGS, ...timings } };
  return startDriverHarness({ arrays: [{ ...FC_ARRAY, sim }] });
}

/**
 * For a test file: registers an afterEach that stops the harness the running test started, and
 * returns `start(timings)`, which starts one (one per test).
 */
export function useSnapshotHarness(): (timings?: Partial<SimTimings>) => Promise<DriverHarness> {
  let h: DriverHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });
  return async (timings = {}) => {
    h = await startSnapshotHarness(timings);
    return h;
  };
}

// ---- data -------------------------------------------------------------------------------------

/** Deterministic bytes, different per seed. */
export function pattern(seed: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let block = createHash("sha256").update(seed).digest();
  for (let i = 0; i < bytes; i += block.length) {
    block.copy(out, i);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

/** The sha256 of a `size`-byte volume holding `data` at offset 0 and zeros after it. */
export function shaOfImage(data: Buffer, size: number): string {
  const image = Buffer.alloc(size);
  data.copy(image);
  return createHash("sha256").update(image).digest("hex");
}

/** The sha256 of an LDEV's whole content, as a host reading the LU would compute it. */
export async function sha256Of(t: TestSim, ldevId: number): Promise<string> {
  const res = await fetch(`${t.running.url}/simulator/ldevs/${ldevId}/sha256`, {
    headers: { Authorization: basicAuth },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sha256: string }).sha256;
}

// ---- the array's state ------------------------------------------------------------------------------

export function pairs(t: TestSim): TiPairState[] {
  return t.sim.core.state.tiPairs;
}

/** Everything the array holds that the driver could have made: LDEV ids, pairs, group names. */
export function holdings(t: TestSim): { ldevs: number[]; pairs: number; groups: string[] } {
  const { state } = t.sim.core;
  return {
    ldevs: allLdevs(t)
      .map((l) => l.ldevId)
      .sort((a, b) => a - b),
    pairs: state.tiPairs.length,
    groups: state.snapshotGroups.map((g) => g.snapshotGroupName).sort(),
  };
}

/** Waits until no pair copies into `ldevId` any more (the clone's copy ended and it dissolved). */
export async function copyEnded(t: TestSim, ldevId: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (pairs(t).some((p) => p.svolLdevId === ldevId)) {
    if (Date.now() > deadline) throw new Error(`the copy into LDEV ${ldevId} did not end in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- services over a (crashing) client -----------------------------------------------------------

export interface Services {
  volumes: VolumeService;
  snapshots: SnapshotService;
  clones: CloneService;
}

/** The driver's services over `client`, as a controller process builds them (fresh caches). */
export function servicesOver(h: DriverHarness, client: VspArray, options: CloneOptions = {}): Services {
  const config = h.config.arrays[0];
  if (!config) throw new Error("the harness has no array");
  const array: ManagedArray = { config, client };
  const volumes = new VolumeService(new ArrayRegistry([array], config.name), DRIVER_NAME);
  const snapshots = new SnapshotService(volumes);
  return { volumes, snapshots, clones: new CloneService(volumes, snapshots, options) };
}

/** A harness, a REST client of its array, and the driver's services over that client. */
export interface ServiceRig {
  h: DriverHarness;
  healthy: Services;
  inner: VspClient;
}

/**
 * For a service-level test file: registers an afterEach that closes the client and stops the
 * harness of the running test, and returns `rig(timings)`, which starts them (one per test).
 */
export function useServiceRig(): (timings?: Partial<SimTimings>) => Promise<ServiceRig> {
  let h: DriverHarness | undefined;
  let client: VspClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await h?.stop();
    h = undefined;
  });
  return async (timings = {}) => {
    h = await startSnapshotHarness(timings);
    client = clientOf(h);
    return { h, healthy: servicesOver(h, client), inner: client };
  };
}

/** A REST client of the harness's first array (the caller closes it). */
export function clientOf(h: DriverHarness): VspClient {
  const a = h.config.arrays[0];
  if (!a) throw new Error("the harness has no array");
  return new VspClient({
    baseUrl: a.url,
    storageDeviceId: a.storageDeviceId,
    username: a.credentials.username,
    password: a.credentials.password,
    urlStyle: a.urlStyle,
    logger: createLogger("silent"),
  });
}

export class Crash extends Error {
  override name = "Crash";
}

export type CrashVariant = "drop" | "process";
export const CRASH_VARIANTS: readonly CrashVariant[] = ["drop", "process"];

/** Resource methods that only read; every other method is a change request (a job). */
const READS = new Set(["get", "find", "list", "iterate"]);

export interface CrashingClient {
  client: VspArray;
  /** The change requests made, in order ("ldevs.create", "snapshots.create", …). */
  changes: string[];
  /** Whether the crash point was reached. */
  crashed(): boolean;
}

/** `inner`, dying at its (k+1)-th change request the `variant` way (see the module comment). */
export function crashingClient(inner: VspArray, k: number, variant: CrashVariant): CrashingClient {
  const changes: string[] = [];
  let dead = false;
  const wrap = (group: string, resource: object): object =>
    new Proxy(resource, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== "function" || typeof prop !== "string") return value;
        const method = value as (...args: unknown[]) => unknown;
        if (READS.has(prop)) {
          return (...args: unknown[]) => {
            if (dead) throw new Crash("the controller is dead");
            return method.apply(target, args);
          };
        }
        return async (...args: unknown[]) => {
          if (dead) throw new Crash("the controller is dead");
          changes.push(`${group}.${prop}`);
          if (changes.length <= k) return method.apply(target, args);
          dead = true;
          if (variant === "process") await method.apply(target, args);
          throw new Crash(`killed at change ${changes.length} (${group}.${prop}, ${variant})`);
        };
      },
    });
  const client = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== "string" || typeof value !== "object" || value === null) return value;
      return wrap(prop, value);
    },
  });
  return { client, changes, crashed: () => dead };
}

// ---- CSI calls the snapshot tests share ------------------------------------------------------------

/** CreateSnapshot; the snapshot it answers (an answer without one fails the test). */
export async function createSnapshot(
  c: ControllerClient,
  name: string,
  sourceVolumeId: string,
  parameters: Record<string, string> = {},
): Promise<Snapshot__Output> {
  const res = await call(c, "CreateSnapshot", { name, source_volume_id: sourceVolumeId, parameters });
  if (!res.snapshot) throw new Error("CreateSnapshot answered no snapshot");
  return res.snapshot;
}

/** CreateVolume request parts: a restore from `snapshotId`. */
export function fromSnapshot(
  snapshotId: string,
  parameters?: Record<string, string>,
): Partial<CreateVolumeRequest> {
  return {
    volume_content_source: { snapshot: { snapshot_id: snapshotId } },
    ...(parameters ? { parameters } : {}),
  };
}

/** CreateVolume request parts: a clone of `volumeId`. */
export function fromVolume(
  volumeId: string,
  parameters?: Record<string, string>,
): Partial<CreateVolumeRequest> {
  return {
    volume_content_source: { volume: { volume_id: volumeId } },
    ...(parameters ? { parameters } : {}),
  };
}

/** CreateVolumeGroupSnapshot; the group snapshot it answers. */
export async function createGroupSnapshot(
  d: DriverHarness,
  name: string,
  sourceVolumeIds: string[],
  parameters: Record<string, string> = {},
): Promise<VolumeGroupSnapshot__Output> {
  const res = await call(d.clients.groupController, "CreateVolumeGroupSnapshot", {
    name,
    source_volume_ids: sourceVolumeIds,
    parameters,
  });
  if (!res.group_snapshot) throw new Error("CreateVolumeGroupSnapshot answered no group snapshot");
  return res.group_snapshot;
}
