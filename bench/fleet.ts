/**
 * Fleet-scale figures (issue 11): what one operation costs as the array grows, what a volume with
 * many snapshots costs, and what many calls in flight get out of the array. Over the driver's real
 * gRPC socket against an embedded simulator; REST calls and response bytes from its request log.
 *
 *   - cost per operation at 10, 1,000 and 10,000 LDEVs on the array (our volumes, seeded);
 *   - cost per operation on a volume with 1, 100 and 1,000 snapshots (ListSnapshots: a page of 100);
 *   - 500 CreateSnapshot at once with realistic timings, against the ideal the simulated array
 *     allows (one call's time plus the array's serialised change work for all of them);
 *   - CreateVolume latency p50/p99 with 1 and 100 calls in flight.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { controllerOverSimulator } from "../src/cli/demo-stage.js";
import { call, csiClients } from "../src/csi/test-support/clients.js";
import { createLogger } from "../src/logging.js";
import { basicAuth } from "../src/simulator/test-support/harness.js";
import { DEFAULT_DRIVER_NAME } from "../src/config/schema.js";
import { formatVolumeId } from "../src/driver/ids.js";
import { volumeLabel } from "../src/driver/names.js";
import { formatNodeId } from "../src/driver/node-id.js";
import { allocateNaa } from "../src/simulator/model.js";
import type { BenchStage } from "./stage.js";
import { startBenchStage } from "./stage.js";

const MIB = 1024 * 1024;
const CAP = { access_mode: { mode: "SINGLE_NODE_WRITER" as const }, block: {} };

export interface Cost {
  calls: number;
  bytes: number;
}

export interface FleetFigures {
  /** operation → LDEVs on the array → cost */
  byArraySize: Record<string, Record<number, Cost>>;
  /** operation → snapshots on the volume → cost */
  bySnapshots: Record<string, Record<number, Cost>>;
  concurrentSnapshots: {
    n: number;
    wallMs: number;
    idealMs: number;
    oneAloneMs: number;
    slowestMs: number;
    arrayJobs: number;
  };
  manySnapshots: { snapshots: number; wallMs: number; groups: number; restCalls: number };
  createVolumeLatency: Record<number, { p50: number; p99: number; perSecond: number; arrayBusy: number }>;
}

async function cost(stage: BenchStage, work: () => Promise<unknown>): Promise<Cost> {
  const log = stage.sim.core.requestLog;
  const before = log.length;
  await work();
  const entries = log.slice(before);
  if (process.env.BENCH_TRACE) {
    for (const e of entries) console.error(`  ${e.method} ${e.path}${e.query ? `?${e.query}` : ""}`);
  }
  return { calls: entries.length, bytes: entries.reduce((sum, e) => sum + (e.bytes ?? 0), 0) };
}

/** Puts `count` labelled 1 MiB volumes of ours on the array, ids spread over the range. */
async function seedVolumes(stage: BenchStage, count: number, from: number): Promise<void> {
  const core = stage.sim.core;
  for (let i = 0; i < count; i++) {
    const ldevId = from + i * 5;
    core.state.ldevs[String(ldevId)] = {
      ldevId,
      poolId: 0,
      blockCapacity: MIB / 512,
      label: volumeLabel(DEFAULT_DRIVER_NAME, `seeded-${ldevId}`),
      status: "NML",
      dataReductionMode: "disabled",
      isFullAllocationEnabled: false,
      isAluaEnabled: false,
      naaId: allocateNaa(core.state, core.config.storageDeviceId, ldevId),
    };
    await core.blocks.create(ldevId, MIB);
  }
  core.store.save();
}

async function createVolume(stage: BenchStage, name: string, source?: Record<string, unknown>) {
  const res = await call(stage.clients.controller, "CreateVolume", {
    name,
    capacity_range: { required_bytes: String(MIB) },
    volume_capabilities: [CAP],
    ...(source ? { volume_content_source: source } : {}),
  });
  return res.volume?.volume_id ?? "";
}

async function createSnapshot(stage: BenchStage, name: string, source: string) {
  const res = await call(stage.clients.controller, "CreateSnapshot", { name, source_volume_id: source });
  return res.snapshot?.snapshot_id ?? "";
}

/** One round of every operation; its costs recorded under `key`. */
async function operations(
  stage: BenchStage,
  tag: string,
  into: Record<string, Record<number, Cost>>,
  key: number,
) {
  const put = (op: string, c: Cost) => ((into[op] ??= {})[key] = c);
  const { controller } = stage.clients;
  let volumeId = "";
  put("CreateVolume", await cost(stage, async () => (volumeId = await createVolume(stage, `pvc-${tag}`))));
  let snapshotId = "";
  put(
    "CreateSnapshot",
    await cost(stage, async () => (snapshotId = await createSnapshot(stage, `snap-${tag}`, volumeId))),
  );
  put("CreateSnapshot (repeat)", await cost(stage, () => createSnapshot(stage, `snap-${tag}`, volumeId)));
  let restored = "";
  put(
    "restore",
    await cost(
      stage,
      async () =>
        (restored = await createVolume(stage, `pvc-r-${tag}`, { snapshot: { snapshot_id: snapshotId } })),
    ),
  );
  let cloned = "";
  put(
    "clone",
    await cost(
      stage,
      async () => (cloned = await createVolume(stage, `pvc-c-${tag}`, { volume: { volume_id: volumeId } })),
    ),
  );
  const nodeId = formatNodeId({ nodeName: `node-${tag}`, wwpns: ["10000000c9abcdef"] });
  const publish = (id: string) =>
    call(controller, "ControllerPublishVolume", { volume_id: id, node_id: nodeId, volume_capability: CAP });
  put("ControllerPublish (new node)", await cost(stage, () => publish(volumeId)));
  put("ControllerPublish (known node)", await cost(stage, () => publish(cloned)));
  for (const id of [volumeId, cloned]) {
    await call(controller, "ControllerUnpublishVolume", { volume_id: id, node_id: nodeId });
  }
  await waitForCopies(stage);
  const second = await createVolume(stage, `pvc-g-${tag}`);
  const group = stage.clients.groupController;
  let groupId = "";
  put(
    "CreateVolumeGroupSnapshot (2 volumes)",
    await cost(stage, async () => {
      const res = await call(group, "CreateVolumeGroupSnapshot", {
        name: `vgs-${tag}`,
        source_volume_ids: [volumeId, second],
      });
      groupId = res.group_snapshot?.group_snapshot_id ?? "";
    }),
  );
  put(
    "GetVolumeGroupSnapshot",
    await cost(stage, () => call(group, "GetVolumeGroupSnapshot", { group_snapshot_id: groupId })),
  );
  put(
    "DeleteVolumeGroupSnapshot",
    await cost(stage, () => call(group, "DeleteVolumeGroupSnapshot", { group_snapshot_id: groupId })),
  );
  await call(controller, "DeleteVolume", { volume_id: second });
  put(
    "DeleteSnapshot",
    await cost(stage, () => call(controller, "DeleteSnapshot", { snapshot_id: snapshotId })),
  );
  for (const id of [restored, cloned, volumeId]) await call(controller, "DeleteVolume", { volume_id: id });
}

async function waitForCopies(stage: BenchStage): Promise<void> {
  for (let i = 0; i < 500 && stage.sim.core.state.tiPairs.some((p) => p.isClone); i++) {
    stage.sim.core.tick();
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function byArraySize(): Promise<FleetFigures["byArraySize"]> {
  const out: FleetFigures["byArraySize"] = {};
  for (const size of [10, 1_000, 10_000]) {
    const stage = await startBenchStage();
    try {
      await seedVolumes(stage, size, 10_000);
      await createVolume(stage, "pvc-warm"); // the session login, not counted
      await operations(stage, `a${size}`, out, size);
    } finally {
      await stage.close();
    }
  }
  return out;
}

async function bySnapshots(): Promise<FleetFigures["bySnapshots"]> {
  const out: FleetFigures["bySnapshots"] = {};
  const stage = await startBenchStage();
  try {
    const volumeId = await createVolume(stage, "pvc-many-snapshots");
    let have = 0;
    for (const count of [1, 100, 1_000]) {
      for (; have < count - 1; have++) await createSnapshot(stage, `snap-bulk-${have}`, volumeId);
      const put = (op: string, c: Cost) => ((out[op] ??= {})[count] = c);
      let id = "";
      put(
        "CreateSnapshot",
        await cost(stage, async () => (id = await createSnapshot(stage, `snap-at-${count}`, volumeId))),
      );
      put(
        "CreateSnapshot (repeat)",
        await cost(stage, () => createSnapshot(stage, `snap-at-${count}`, volumeId)),
      );
      put(
        "ListSnapshots (by source, page of 100)",
        await cost(stage, () =>
          call(stage.clients.controller, "ListSnapshots", { source_volume_id: volumeId, max_entries: 100 }),
        ),
      );
      put(
        "ListSnapshots (by id)",
        await cost(stage, () => call(stage.clients.controller, "ListSnapshots", { snapshot_id: id })),
      );
      put(
        "DeleteSnapshot",
        await cost(stage, () => call(stage.clients.controller, "DeleteSnapshot", { snapshot_id: id })),
      );
      // Keep the count: the deleted one is made again under a bulk name.
      await createSnapshot(stage, `snap-bulk-${have++}`, volumeId);
    }
  } finally {
    await stage.close();
  }
  return out;
}

/** Retries ABORTED (another call on the same volume still running) as the snapshotter would. */
async function asTheSidecarRetries<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if ((err as { code?: number }).code !== 10 || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
    }
  }
}

/**
 * 10 snapshots on each of 1,000 volumes through the driver (16 calls in flight, instant timings):
 * 10,000 snapshots on one array, five times the 2,048 that one snapshot group per snapshot allowed.
 */
async function manySnapshots(volumes = 1_000, each = 10): Promise<FleetFigures["manySnapshots"]> {
  const stage = await startBenchStage();
  try {
    const from = 10_000;
    await seedVolumes(stage, volumes, from);
    const sid = stage.sim.core.config.storageDeviceId;
    const sources = Array.from({ length: volumes }, (_, i) => {
      const ldevId = from + i * 5;
      return formatVolumeId({
        storageDeviceId: sid,
        ldevId,
        label: volumeLabel(DEFAULT_DRIVER_NAME, `seeded-${ldevId}`),
      });
    });
    // Round by round, as a schedule takes them: one snapshot of each volume, then the next.
    const jobs = Array.from({ length: each }, (_, s) =>
      sources.map((source, v) => ({ source, name: `snap-${v}-${s}` })),
    ).flat();
    const logged = stage.sim.core.requestsLogged;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++];
          if (job) await asTheSidecarRetries(() => createSnapshot(stage, job.name, job.source));
        }
      }),
    );
    const wallMs = performance.now() - started;
    const state = stage.sim.core.state;
    const groups = new Set(state.tiPairs.map((p) => p.snapshotGroupName));
    return {
      snapshots: state.tiPairs.filter((p) => !p.isClone && p.status === "PSUS").length,
      wallMs,
      groups: groups.size,
      restCalls: stage.sim.core.requestsLogged - logged,
    };
  } finally {
    await stage.close();
  }
}

/** A simulator child process (bench/sim-process.ts) and a controller over it. */
async function remoteStage(maxConcurrentRequests: number) {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/sim-process.ts"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) resolve(text.split("\n")[0] ?? "");
    });
    child.once("exit", (code) => {
      reject(new Error(`simulator exited (${String(code)})`));
    });
  });
  const { url, storageDeviceId } = JSON.parse(line) as { url: string; storageDeviceId: string };
  const dir = await mkdtemp(join(tmpdir(), "vsp-bench-remote-"));
  const { driver, server } = await controllerOverSimulator(
    url,
    storageDeviceId,
    dir,
    createLogger("silent"),
    {
      maxConcurrentRequests,
    },
  );
  const clients = csiClients(server.address);
  const admin = async (method: string, path: string) => {
    const res = await fetch(`${url}${path}`, { method, headers: { Authorization: basicAuth } });
    return (await res.json()) as { jobQueue: { busyMs: number; jobs: number } };
  };
  const close = async () => {
    clients.close();
    await server.stop();
    await driver.close();
    child.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  };
  return { clients, admin, close };
}

/**
 * n CreateSnapshot at once, each on its own volume, against a simulator in its own process with
 * realistic timings. The ideal is what the simulated array allows: it runs configuration changes
 * one at a time (its job queue) while pair copies run side by side, so no client can finish before
 * max(one call alone, the time the array's job queue was busy with the burst's changes).
 */
async function concurrentSnapshots(n = 500): Promise<FleetFigures["concurrentSnapshots"]> {
  const maxConcurrentRequests = Number(process.env.BENCH_MAX_CONCURRENT_REQUESTS ?? 8);
  const stage = await remoteStage(maxConcurrentRequests);
  const { controller } = stage.clients;
  try {
    const sources: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await call(controller, "CreateVolume", {
        name: `pvc-burst-${i}`,
        capacity_range: { required_bytes: String(MIB) },
        volume_capabilities: [CAP],
      });
      sources.push(res.volume?.volume_id ?? "");
    }
    let started = performance.now();
    await call(controller, "CreateSnapshot", { name: "snap-alone", source_volume_id: sources[0] ?? "" });
    const oneAloneMs = performance.now() - started;
    await stage.admin("DELETE", "/simulator/stats");
    let slowestMs = 0;
    started = performance.now();
    await Promise.all(
      sources.map(async (source, i) => {
        const t0 = performance.now();
        await call(controller, "CreateSnapshot", { name: `snap-burst-${i}`, source_volume_id: source });
        slowestMs = Math.max(slowestMs, performance.now() - t0);
      }),
    );
    const wallMs = performance.now() - started;
    const { jobQueue } = await stage.admin("GET", "/simulator/stats");
    return {
      n,
      wallMs,
      idealMs: Math.max(oneAloneMs, jobQueue.busyMs),
      oneAloneMs,
      slowestMs,
      arrayJobs: jobQueue.jobs,
    };
  } finally {
    await stage.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * CreateVolume with 1 and 100 calls in flight against the simulator in its own process: latency,
 * volumes per second, and the share of the wall time the array's job queue was busy (1.0: the
 * array, not the driver, is what limits the rate).
 */
async function createVolumeLatency(): Promise<FleetFigures["createVolumeLatency"]> {
  const out: FleetFigures["createVolumeLatency"] = {};
  const stage = await remoteStage(Number(process.env.BENCH_MAX_CONCURRENT_REQUESTS ?? 8));
  const { controller } = stage.clients;
  const create = (name: string) =>
    call(controller, "CreateVolume", {
      name,
      capacity_range: { required_bytes: String(MIB) },
      volume_capabilities: [CAP],
    });
  try {
    await create("pvc-warm");
    for (const inFlight of [1, 100]) {
      const total = 300;
      const ms: number[] = [];
      let next = 0;
      await stage.admin("DELETE", "/simulator/stats");
      const started = performance.now();
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < total) {
            const i = next++;
            const t0 = performance.now();
            await create(`pvc-lat-${inFlight}-${i}`);
            ms.push(performance.now() - t0);
          }
        }),
      );
      const wall = performance.now() - started;
      const { jobQueue } = await stage.admin("GET", "/simulator/stats");
      ms.sort((a, b) => a - b);
      out[inFlight] = {
        p50: percentile(ms, 50),
        p99: percentile(ms, 99),
        perSecond: (total * 1000) / wall,
        arrayBusy: jobQueue.busyMs / wall,
      };
    }
  } finally {
    await stage.close();
  }
  return out;
}

/**
 * Every section, or those BENCH_ONLY names (comma-separated: costs, concurrent, many, latency);
 * `many` (10,000 snapshots) takes about 20 minutes on 2 cores, bound by the simulator.
 */
export async function benchFleet(): Promise<FleetFigures> {
  const only = process.env.BENCH_ONLY?.split(",");
  const run = (section: string) => only === undefined || only.includes(section);
  const none = { n: 0, wallMs: 0, idealMs: 0, oneAloneMs: 0, slowestMs: 0, arrayJobs: 0 };
  return {
    byArraySize: run("costs") ? await byArraySize() : {},
    bySnapshots: run("costs") ? await bySnapshots() : {},
    concurrentSnapshots: run("concurrent") ? await concurrentSnapshots() : none,
    manySnapshots: run("many") ? await manySnapshots() : { snapshots: 0, wallMs: 0, groups: 0, restCalls: 0 },
    createVolumeLatency: run("latency") ? await createVolumeLatency() : {},
  };
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function printFleet(f: FleetFigures): void {
  const table = (title: string, rows: Record<string, Record<number, Cost>>) => {
    console.log(title);
    for (const [op, byKey] of Object.entries(rows)) {
      const cells = Object.entries(byKey).map(([k, c]) => `${k}: ${c.calls} calls ${kib(c.bytes)}`);
      console.log(`  ${op.padEnd(40)} ${cells.join(" | ")}`);
    }
  };
  table("REST calls and response bytes per operation, by LDEVs on the array", f.byArraySize);
  table("REST calls and response bytes per operation, by snapshots of the volume", f.bySnapshots);
  const c = f.concurrentSnapshots;
  if (c.n > 0)
    console.log(
      `${c.n} CreateSnapshot at once (realistic timings): ${(c.wallMs / 1000).toFixed(1)} s, ideal ${(c.idealMs / 1000).toFixed(1)} s ` +
        `(ratio ${(c.idealMs / c.wallMs).toFixed(2)}; the array's job queue ran ${c.arrayJobs} jobs); one alone ${(c.oneAloneMs / 1000).toFixed(2)} s; slowest call ${(c.slowestMs / 1000).toFixed(1)} s`,
    );
  const m = f.manySnapshots;
  if (m.snapshots > 0)
    console.log(
      `${m.snapshots} snapshots on one array (10 on each of 1,000 volumes): ${(m.wallMs / 1000).toFixed(0)} s through the driver, ${m.restCalls} REST calls, in ${m.groups} shared snapshot groups`,
    );
  for (const [inFlight, l] of Object.entries(f.createVolumeLatency)) {
    console.log(
      `CreateVolume, ${inFlight} in flight: p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, ${l.perSecond.toFixed(0)} volumes/s, array job queue busy ${(l.arrayBusy * 100).toFixed(0)} % of the time`,
    );
  }
}
