/**
 * `vsp-csi demo`: snapshots, restore and clone end to end, in one process, against the embedded
 * simulator with REALISTIC timings — the driver's real gRPC server on a temp unix socket, driven
 * the way the Kubernetes sidecars drive it:
 *
 *   1. CreateVolume (1 GiB), write pattern A through the simulator's host-side data endpoint;
 *   2. CreateSnapshot (until ready_to_use), overwrite the source with pattern B;
 *   3. CreateVolume from the snapshot (restore): usable at once, the copy runs in the background;
 *   4. CreateVolume from the source volume (PVC clone);
 *   5. verify sha256 of each volume against what it must hold (restore = A, clone = B, source = B);
 *   6. delete everything;
 *   7. a group snapshot of two volumes written as one sequence while the request runs, both
 *      members restored, the cross-volume point in time verified (demo-group-step.ts);
 *   8. check the array holds nothing the demo made.
 * Progress lines show each copy's progressRate (read with the REST client); a timing summary ends
 * the run. Exit code 0 when every check passes, 1 otherwise.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

import type { ControllerClient } from "../csi/generated/csi/v1/Controller.js";
import type { CreateVolumeGroupSnapshotResponse__Output } from "../csi/generated/csi/v1/CreateVolumeGroupSnapshotResponse.js";
import type { CreateSnapshotResponse__Output } from "../csi/generated/csi/v1/CreateSnapshotResponse.js";
import type { CreateVolumeRequest } from "../csi/generated/csi/v1/CreateVolumeRequest.js";
import type { CreateVolumeResponse__Output } from "../csi/generated/csi/v1/CreateVolumeResponse.js";
import { parseVolumeId } from "../driver/ids.js";
import { GIB, MIB } from "../simulator/config.js";
import { groupSnapshotStep } from "./demo-group-step.js";
import type { GroupStepDeps } from "./demo-group-step.js";
import { adminAuth, startStage, unaryCall } from "./demo-stage.js";
import type { Stage } from "./demo-stage.js";
import { UsageError } from "./usage-error.js";

export const DEMO_USAGE = `Usage: vsp-csi demo [options]

  --data-dir <dir>     keep the simulator's state and data here   [a temp dir, removed after]
  --data-mib <n>       MiB of pattern written to the source         [256]
  --log-level <level>  driver log level (to stderr)                 [silent]`;

const VOLUME_BYTES = GIB;
const CHUNK = 16 * MIB;
const BLOCK_CAP = { access_mode: { mode: "SINGLE_NODE_WRITER" as const }, block: {} };

interface Step {
  what: string;
  ms: number;
}

class Demo {
  readonly steps: Step[] = [];
  readonly failures: string[] = [];
  private readonly t0 = performance.now();

  constructor(private readonly stage: Stage) {}

  log(line: string): void {
    const s = ((performance.now() - this.t0) / 1000).toFixed(1).padStart(5);
    console.log(`[${s}s] ${line}`);
  }

  async timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await fn();
    const ms = performance.now() - started;
    this.steps.push({ what, ms });
    this.log(`${what} (${(ms / 1000).toFixed(2)} s)`);
    return result;
  }

  check(what: string, ok: boolean, detail: string): void {
    this.log(`${ok ? "ok  " : "FAIL"} ${what}${ok ? "" : `: ${detail}`}`);
    if (!ok) this.failures.push(what);
  }

  get controller(): ControllerClient {
    return this.stage.controller;
  }

  /** Writes `data` at `offset`, as a host would through its LU. */
  async writeAt(volumeId: string, offset: number, data: Buffer): Promise<void> {
    const ldevId = parseVolumeId(volumeId).ldevId;
    const res = await fetch(`${this.stage.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}`, {
      method: "PUT",
      headers: { Authorization: adminAuth(), "Content-Type": "application/octet-stream" },
      body: new Uint8Array(data),
    });
    if (res.status !== 200) throw new Error(`writing LDEV ${ldevId} failed: HTTP ${res.status}`);
  }

  /** Writes `bytes` of pattern `seed` at the start of the volume, as a host would through its LU. */
  async write(volumeId: string, seed: string, bytes: number): Promise<void> {
    for (let offset = 0; offset < bytes; offset += CHUNK) {
      await this.writeAt(volumeId, offset, pattern(seed, offset, Math.min(CHUNK, bytes - offset)));
    }
  }

  async read(volumeId: string, offset: number, length: number): Promise<Buffer> {
    const ldevId = parseVolumeId(volumeId).ldevId;
    const url = `${this.stage.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}&length=${length}`;
    const res = await fetch(url, { headers: { Authorization: adminAuth() } });
    if (res.status !== 200) throw new Error(`reading LDEV ${ldevId} failed: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  async sha256(volumeId: string): Promise<string> {
    const ldevId = parseVolumeId(volumeId).ldevId;
    const res = await fetch(`${this.stage.running.url}/simulator/ldevs/${ldevId}/sha256`, {
      headers: { Authorization: adminAuth() },
    });
    return ((await res.json()) as { sha256: string }).sha256;
  }

  /** Progress lines while the array copies into the volume, until its clone pair is gone. */
  async followCopy(volumeId: string, label: string): Promise<number> {
    const ldevId = parseVolumeId(volumeId).ldevId;
    const started = performance.now();
    let last = -1;
    for (;;) {
      const [pair] = await this.stage.rest.snapshots.list({ svolLdevId: ldevId });
      if (!pair) break;
      const rate = pair.progressRate ?? (pair.status === "PSUP" ? 0 : 100);
      if (rate !== last) this.log(`  ${label}: ${pair.status} ${String(rate).padStart(3)}% copied`);
      last = rate;
      await new Promise((r) => setTimeout(r, 250));
    }
    const ms = performance.now() - started;
    this.log(`  ${label}: copy finished, the volume is independent`);
    return ms;
  }
}

/** Deterministic, fast to make: each 4 KiB block is a digest of (seed, offset), repeated. */
function pattern(seed: string, offset: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4096) {
    const digest = createHash("sha256")
      .update(`${seed}:${offset + i}`)
      .digest();
    for (let j = 0; j < 4096 && i + j < bytes; j += digest.length) digest.copy(out, i + j);
  }
  return out;
}

/** sha256 of a volume holding pattern `seed` over its first `bytes` and zeros after. */
function expectedSha(seed: string, bytes: number, size = VOLUME_BYTES): string {
  const hash = createHash("sha256");
  for (let offset = 0; offset < bytes; offset += CHUNK)
    hash.update(pattern(seed, offset, Math.min(CHUNK, bytes - offset)));
  const zeros = Buffer.alloc(CHUNK);
  for (let done = bytes; done < size; done += CHUNK)
    hash.update(zeros.subarray(0, Math.min(CHUNK, size - done)));
  return hash.digest("hex");
}

async function createVolume(
  demo: Demo,
  name: string,
  source?: CreateVolumeRequest["volume_content_source"],
): Promise<string> {
  const req: CreateVolumeRequest = {
    name,
    volume_capabilities: [BLOCK_CAP],
    capacity_range: { required_bytes: String(VOLUME_BYTES) },
    ...(source ? { volume_content_source: source } : {}),
  };
  const res = await unaryCall<CreateVolumeResponse__Output>((cb) => demo.controller.CreateVolume(req, cb));
  return res.volume?.volume_id ?? "";
}

/** CreateSnapshot, repeated as the snapshotter does until ready_to_use. */
async function snapshotUntilReady(demo: Demo, name: string, sourceVolumeId: string): Promise<string> {
  for (;;) {
    const req = { name, source_volume_id: sourceVolumeId };
    const res = await unaryCall<CreateSnapshotResponse__Output>((cb) =>
      demo.controller.CreateSnapshot(req, cb),
    );
    if (res.snapshot?.ready_to_use) return res.snapshot.snapshot_id;
    demo.log(`  snapshot not ready yet; asking again`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function scenario(demo: Demo, dataBytes: number): Promise<void> {
  const mib = `${dataBytes / MIB} MiB`;
  const source = await demo.timed("CreateVolume demo-source (1 GiB)", () =>
    createVolume(demo, "demo-source"),
  );
  await demo.timed(`write pattern A (${mib})`, () => demo.write(source, "A", dataBytes));
  const snap = await demo.timed("CreateSnapshot demo-snap (until ready_to_use)", () =>
    snapshotUntilReady(demo, "demo-snap", source),
  );
  await demo.timed(`overwrite the source with pattern B (${mib})`, () => demo.write(source, "B", dataBytes));
  const restored = await demo.timed("CreateVolume demo-restored from the snapshot (usable)", () =>
    createVolume(demo, "demo-restored", { snapshot: { snapshot_id: snap } }),
  );
  demo.steps.push({
    what: "  restore copy in the background",
    ms: await demo.followCopy(restored, "restore"),
  });
  const clone = await demo.timed("CreateVolume demo-clone from demo-source (usable)", () =>
    createVolume(demo, "demo-clone", { volume: { volume_id: source } }),
  );
  demo.steps.push({ what: "  clone copy in the background", ms: await demo.followCopy(clone, "clone") });
  const [a, b] = [expectedSha("A", dataBytes), expectedSha("B", dataBytes)];
  for (const [what, id, want] of [
    ["restored volume holds pattern A (the snapshot)", restored, a],
    ["clone holds pattern B (the source when cloned)", clone, b],
    ["source holds pattern B", source, b],
  ] as const) {
    const got = await demo.sha256(id);
    demo.check(`sha256: ${what}`, got === want, `got ${got}, want ${want}`);
  }
  await demo.timed("DeleteSnapshot, DeleteVolume ×3", async () => {
    await unaryCall((cb) => demo.controller.DeleteSnapshot({ snapshot_id: snap }, cb));
    for (const id of [restored, clone, source]) {
      await unaryCall((cb) => demo.controller.DeleteVolume({ volume_id: id }, cb));
    }
  });
}

/** The demo's gRPC and data calls, as the group-snapshot step needs them. */
function groupStepDeps(demo: Demo, stage: Stage): GroupStepDeps {
  const group = stage.groupController;
  return {
    log: (line) => {
      demo.log(line);
    },
    timed: (what, fn) => demo.timed(what, fn),
    check: (what, ok, detail) => {
      demo.check(what, ok, detail);
    },
    createVolume: (name, fromSnapshotId) =>
      createVolume(demo, name, fromSnapshotId ? { snapshot: { snapshot_id: fromSnapshotId } } : undefined),
    deleteVolume: async (volumeId) => {
      await unaryCall((cb) => demo.controller.DeleteVolume({ volume_id: volumeId }, cb));
    },
    groupSnapshot: async (name, volumeIds) => {
      const req = { name, source_volume_ids: volumeIds };
      const res = await unaryCall<CreateVolumeGroupSnapshotResponse__Output>((cb) =>
        group.CreateVolumeGroupSnapshot(req, cb),
      );
      const g = res.group_snapshot;
      return {
        groupSnapshotId: g?.group_snapshot_id ?? "",
        members: (g?.snapshots ?? []).map((s) => ({
          snapshotId: s.snapshot_id,
          sourceVolumeId: s.source_volume_id,
        })),
      };
    },
    deleteGroupSnapshot: async (groupSnapshotId, snapshotIds) => {
      const req = { group_snapshot_id: groupSnapshotId, snapshot_ids: snapshotIds };
      await unaryCall((cb) => group.DeleteVolumeGroupSnapshot(req, cb));
    },
    followCopy: (volumeId, label) => demo.followCopy(volumeId, label),
    write: (volumeId, offset, data) => demo.writeAt(volumeId, offset, data),
    read: (volumeId, offset, length) => demo.read(volumeId, offset, length),
  };
}

function summary(demo: Demo): void {
  console.log("\nTimings (REALISTIC simulator timings: pair create 1 s, split 0.5 s, copy 200 MiB/s):");
  for (const s of demo.steps) console.log(`  ${s.what.padEnd(56)} ${(s.ms / 1000).toFixed(2).padStart(7)} s`);
}

export async function runDemoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      "data-dir": { type: "string" },
      "data-mib": { type: "string", default: "256" },
      "log-level": { type: "string", default: "silent" },
    },
  });
  const dataMib = Number(values["data-mib"]);
  if (!/^\d+$/.test(values["data-mib"]) || dataMib < 1 || dataMib > 1024) {
    throw new UsageError("--data-mib must be an integer from 1 to 1024");
  }
  const given = values["data-dir"];
  const dataDir = given ? resolve(given) : await mkdtemp(join(tmpdir(), "vsp-csi-demo-"));
  const stage = await startStage(dataDir, values["log-level"]);
  const demo = new Demo(stage);
  demo.log(`embedded VSP simulator at ${stage.running.url} (realistic timings), data in ${dataDir}`);
  try {
    await scenario(demo, dataMib * MIB);
    await groupSnapshotStep(groupStepDeps(demo, stage));
    const { state } = stage.sim.core;
    const left = Object.keys(state.ldevs).length + state.tiPairs.length + state.snapshotGroups.length;
    demo.check(
      "nothing left on the array (LDEVs, pairs, snapshot groups)",
      left === 0,
      `${left} objects left`,
    );
  } catch (err) {
    demo.failures.push(err instanceof Error ? err.message : String(err));
    demo.log(`FAIL ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await stage.close();
    if (!given) await rm(dataDir, { recursive: true, force: true });
  }
  summary(demo);
  console.log(
    demo.failures.length === 0 ? "\nall checks passed" : `\n${demo.failures.length} check(s) failed`,
  );
  return demo.failures.length === 0 ? 0 : 1;
}
