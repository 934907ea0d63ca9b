/**
 * CloneService — CreateVolume from a snapshot (restore) or from a volume (PVC clone): crash
 * convergence at every REST call, growth after the copy, retries during the copy, a source gone,
 * StorageClass parameters, REST calls, and the time to a usable volume with realistic timings.
 * Against the in-process simulator; the gRPC view is in src/csi/snapshots.test.ts.
 */
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";

import { call } from "../csi/test-support/clients.js";
import type { DriverHarness } from "../csi/test-support/driver-harness.js";
import {
  BLOCK_RWO,
  expectStatus,
  ldevIn,
  resetRequests,
  restRequests,
  writeData,
} from "../csi/test-support/driver-harness.js";
import {
  CRASH_VARIANTS,
  Crash,
  MIB,
  copyEnded,
  crashingClient,
  holdings,
  pairs,
  pattern,
  servicesOver,
  sha256Of,
  shaOfImage,
  useServiceRig,
} from "../csi/test-support/snapshot-harness.js";
import type { Services } from "../csi/test-support/snapshot-harness.js";
import { REALISTIC_TIMINGS } from "../simulator/config.js";
import type { CloneInput, ContentSource } from "./clones.js";
import { OperationInProgressError } from "./errors.js";
import type { Snapshot } from "./snapshots.js";
import type { Volume } from "./volumes.js";

const SIZE = 8 * MIB;
const rig = useServiceRig();

function newVolume(s: Services, name: string): Promise<Volume> {
  return s.volumes.create({ name, range: { required_bytes: String(SIZE) }, parameters: {} });
}

/** A source volume holding `data`, and a snapshot of it; the source is overwritten afterwards. */
async function snapshotted(
  h: DriverHarness,
  s: Services,
  data: Buffer,
): Promise<{ source: Volume; snap: Snapshot }> {
  const source = await newVolume(s, "pvc-src");
  await writeData(h.t, source.ldev.ldevId, data);
  const snap = await s.snapshots.create({ name: "snap", sourceVolumeId: source.volumeId, parameters: {} });
  await writeData(h.t, source.ldev.ldevId, pattern("overwritten", data.length));
  return { source, snap };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it answers; bounded in tries, not in time asserted. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 1_000; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(10);
  }
  throw new Error(`gave up waiting for ${what}`);
}

function input(name: string, source: ContentSource, bytes = SIZE, parameters = {}): CloneInput {
  return { name, range: { required_bytes: String(bytes) }, parameters, source };
}

function snapshotSource(snap: Snapshot): ContentSource {
  return { kind: "snapshot", snapshotId: snap.snapshotId };
}

function volumeSource(v: Volume): ContentSource {
  return { kind: "volume", volumeId: v.volumeId };
}

/** A volume's fields a caller sees (not the array handle). */
function view(v: Volume) {
  return { volumeId: v.volumeId, bytes: v.bytes, ldevId: v.ldev.ldevId };
}

/** The volume the op made when it ran to its end, or undefined when it crashed. */
async function unlessCrashed(op: () => Promise<Volume>): Promise<Volume | undefined> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof Crash) return undefined;
    throw err;
  }
}

async function crashes(op: () => Promise<unknown>): Promise<boolean> {
  try {
    await op();
    return false;
  } catch (err) {
    if (err instanceof Crash) return true;
    throw err;
  }
}

describe("restore and clone with the controller killed between any two REST calls", () => {
  it.each(CRASH_VARIANTS)(
    "a restore into a larger volume converges to one volume with the snapshot's bytes (%s)",
    async (variant) => {
      const { h, healthy, inner } = await rig();
      const data = pattern("original", MIB);
      const { source, snap } = await snapshotted(h, healthy, data);
      const svol = snap.svolLdevId ?? -1;
      const crashPoints: string[] = [];
      for (let k = 0; k < 10; k++) {
        const request = input(`pvc-r-${variant}-${k}`, snapshotSource(snap), 2 * SIZE);
        const dying = crashingClient(inner, k, variant);
        const made = await unlessCrashed(() => servicesOver(h, dying.client).clones.create(request));
        if (made) {
          await healthy.volumes.delete(made.volumeId);
          break;
        }
        crashPoints.push(dying.changes.at(-1) ?? "?");
        const restored = await servicesOver(h, inner).clones.create(request);
        expect(view(await servicesOver(h, inner).clones.create(request))).toEqual(view(restored));
        expect(restored.bytes).toBe(BigInt(2 * SIZE));
        expect(await sha256Of(h.t, restored.ldev.ldevId)).toBe(shaOfImage(data, 2 * SIZE));
        const sorted = [source.ldev.ldevId, svol, restored.ldev.ldevId].sort((a, b) => a - b);
        expect(holdings(h.t)).toMatchObject({ ldevs: sorted, pairs: 1 });
        await healthy.volumes.delete(restored.volumeId);
      }
      expect(crashPoints).toEqual(["ldevs.create", "ldevs.modify", "snapshots.create", "ldevs.expand"]);
      await healthy.snapshots.delete(snap.snapshotId);
      await healthy.volumes.delete(source.volumeId);
      expect(holdings(h.t)).toEqual({ ldevs: [], pairs: 0, groups: [] });
    },
  );

  it.each(CRASH_VARIANTS)("a PVC clone converges to one independent volume (%s)", async (variant) => {
    const { h, healthy, inner } = await rig();
    const source = await newVolume(healthy, "pvc-src");
    const data = pattern("original", 2 * MIB);
    await writeData(h.t, source.ldev.ldevId, data);
    const crashPoints: string[] = [];
    for (let k = 0; k < 10; k++) {
      const request = input(`pvc-c-${variant}-${k}`, volumeSource(source));
      const dying = crashingClient(inner, k, variant);
      const made = await unlessCrashed(() => servicesOver(h, dying.client).clones.create(request));
      if (made) {
        await healthy.volumes.delete(made.volumeId);
        break;
      }
      crashPoints.push(dying.changes.at(-1) ?? "?");
      const clone = await servicesOver(h, inner).clones.create(request);
      expect(view(await servicesOver(h, inner).clones.create(request))).toEqual(view(clone));
      expect(await sha256Of(h.t, clone.ldev.ldevId)).toBe(shaOfImage(data, SIZE));
      expect(holdings(h.t)).toEqual({
        ldevs: [source.ldev.ldevId, clone.ldev.ldevId].sort((a, b) => a - b),
        pairs: 0,
        groups: [],
      });
      await healthy.volumes.delete(clone.volumeId);
    }
    expect(crashPoints).toEqual(["ldevs.create", "ldevs.modify", "snapshots.create"]);
    expect(holdings(h.t)).toEqual({ ldevs: [source.ldev.ldevId], pairs: 0, groups: [] });
  });
});

describe("a larger size than the source", () => {
  it("answers ABORTED while the copy runs, then grows the volume on the retry after it", async () => {
    const { h, inner } = await rig({ cloneMiBPerSecond: 2 });
    const services = servicesOver(h, inner, { waitMs: 0 });
    const data = pattern("original", MIB);
    const { snap } = await snapshotted(h, services, data);
    const request = input("pvc-big", snapshotSource(snap), 3 * SIZE);
    const err = await services.clones.create(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationInProgressError);
    expect(String(err)).toMatch(
      /copying from the snapshot \(\d+% done\); the volume will be grown to 25165824 bytes when the copy ends; retry/,
    );
    const into = pairs(h.t).find((p) => p.isClone)?.svolLdevId ?? -1;
    expect(ldevIn(h.t, into)?.blockCapacity).toBe(SIZE / 512);
    await copyEnded(h.t, into);
    const grown = await services.clones.create(request);
    expect(grown.ldev.ldevId).toBe(into);
    expect(grown.bytes).toBe(BigInt(3 * SIZE));
    expect(await sha256Of(h.t, into)).toBe(shaOfImage(data, 3 * SIZE));
  });

  it("waits for a short copy within the call when allowed to", async () => {
    const { h, inner } = await rig({ cloneMiBPerSecond: 4 });
    const services = servicesOver(h, inner, { waitMs: 3_000, pollMs: 50 });
    const data = pattern("original", MIB);
    const { snap } = await snapshotted(h, services, data);
    const grown = await services.clones.create(input("pvc-big", snapshotSource(snap), 2 * SIZE));
    expect(grown.bytes).toBe(BigInt(2 * SIZE));
    expect(await sha256Of(h.t, grown.ldev.ldevId)).toBe(shaOfImage(data, 2 * SIZE));
  });
});

describe("sources and names", () => {
  it("returns the finished volume to a retry after its snapshot was deleted", async () => {
    const { h, healthy } = await rig();
    const data = pattern("original", MIB);
    const { snap } = await snapshotted(h, healthy, data);
    const first = await healthy.clones.create(input("pvc-r", snapshotSource(snap)));
    await healthy.snapshots.delete(snap.snapshotId);
    expect(view(await healthy.clones.create(input("pvc-r", snapshotSource(snap))))).toEqual(view(first));
  });

  it("removes a half-made volume when its snapshot is gone before the retry: NOT_FOUND, nothing left", async () => {
    const { h, healthy, inner } = await rig();
    const { source, snap } = await snapshotted(h, healthy, pattern("original", MIB));
    const dying = crashingClient(inner, 2, "drop"); // labelled, no clone pair yet
    expect(
      await crashes(() => servicesOver(h, dying.client).clones.create(input("pvc-r", snapshotSource(snap)))),
    ).toBe(true);
    await healthy.snapshots.delete(snap.snapshotId);
    await expect(healthy.clones.create(input("pvc-r", snapshotSource(snap)))).rejects.toThrow(
      /does not exist/,
    );
    expect(holdings(h.t)).toEqual({ ldevs: [source.ldev.ldevId], pairs: 0, groups: [] });
  });

  it("refuses a name already copying from another source with ALREADY_EXISTS", async () => {
    const { h, healthy } = await rig({ cloneMiBPerSecond: 1 });
    const a = await newVolume(healthy, "pvc-a");
    const b = await newVolume(healthy, "pvc-b");
    await writeData(h.t, a.ldev.ldevId, pattern("a", MIB));
    await healthy.clones.create(input("pvc-c", volumeSource(a)));
    await expect(healthy.clones.create(input("pvc-c", volumeSource(b)))).rejects.toThrow(
      /already exists, copied from another source/,
    );
  });

  it("puts the copy in the StorageClass's pool at its copy speed; refuses another array", async () => {
    const { h, healthy } = await rig({ cloneMiBPerSecond: 1 });
    const source = await newVolume(healthy, "pvc-src");
    await writeData(h.t, source.ldev.ldevId, pattern("a", MIB));
    const clone = await healthy.clones.create(
      input("pvc-c", volumeSource(source), SIZE, { pool: 1, copySpeed: "faster" }),
    );
    expect(clone.ldev.poolId).toBe(1);
    expect(pairs(h.t).find((p) => p.isClone)).toMatchObject({ copySpeed: "faster", status: "PSUP" });
    await expect(
      healthy.clones.create(input("pvc-d", volumeSource(source), SIZE, { array: "elsewhere" })),
    ).rejects.toThrow(/the source volume is on array "vsp1", and a copy stays on its array/);
  });

  it("refuses an unknown copySpeed in the StorageClass with INVALID_ARGUMENT", async () => {
    const { h } = await rig();
    await expectStatus(
      call(h.controller, "CreateVolume", {
        name: "pvc-c",
        volume_capabilities: [BLOCK_RWO],
        parameters: { copySpeed: "ludicrous" },
        volume_content_source: {
          volume: { volume_id: "1.886000123456.v.1.cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
        },
      }),
      status.INVALID_ARGUMENT,
      /StorageClass parameters: copySpeed/,
    );
  });
});

describe("REST calls and time to a usable volume", () => {
  it("restore: 6 calls; clone: 5 calls", async () => {
    const { h } = await rig();
    const vol = await call(h.controller, "CreateVolume", {
      name: "pvc-a",
      volume_capabilities: [BLOCK_RWO],
      capacity_range: { required_bytes: String(SIZE) },
    });
    const volumeId = vol.volume?.volume_id ?? "";
    const snap = await call(h.controller, "CreateSnapshot", { name: "snap-a", source_volume_id: volumeId });
    const placeNew = [
      "GET /ldevs", // the new volume's window (64 ids)
      "POST /ldevs",
      expect.stringMatching(/^PATCH \/ldevs\/\d+$/),
      "POST /snapshots", // the clone pair, whose job ends once the copy runs (PSUP)
    ];
    await resetRequests(h.t);
    await call(h.controller, "CreateVolume", {
      name: "pvc-r",
      volume_capabilities: [BLOCK_RWO],
      volume_content_source: { snapshot: { snapshot_id: snap.snapshot?.snapshot_id ?? "" } },
    });
    expect(await restRequests(h.t)).toEqual([
      expect.stringMatching(/^GET \/snapshots\/\d+,0$/), // the snapshot pair
      expect.stringMatching(/^GET \/ldevs\/\d+$/), // its S-VOL: size, pool
      ...placeNew,
    ]);
    await resetRequests(h.t);
    await call(h.controller, "CreateVolume", {
      name: "pvc-c",
      volume_capabilities: [BLOCK_RWO],
      volume_content_source: { volume: { volume_id: volumeId } },
    });
    expect(await restRequests(h.t)).toEqual([expect.stringMatching(/^GET \/ldevs\/\d+$/), ...placeNew]);
  });

  it("with realistic timings, a restore answers once the copy runs (PSUP), never while the pair is still in COPY", async () => {
    // A slow copy, so that it provably still runs when the call answers (order, not wall-clock).
    const { h, healthy } = await rig({ ...REALISTIC_TIMINGS, cloneMiBPerSecond: 0.01 });
    const data = pattern("original", 4 * MIB);
    const { snap } = await snapshotted(h, healthy, data);
    await until("the snapshot is ready", async () =>
      (await healthy.snapshots.get(snap.snapshotId)).readyToUse ? true : undefined,
    );
    const restored = await healthy.clones.create(input("pvc-r", snapshotSource(snap)));
    expect(pairs(h.t).find((p) => p.svolLdevId === restored.ldev.ldevId)?.status).toBe("PSUP");
    expect(await sha256Of(h.t, restored.ldev.ldevId)).toBe(shaOfImage(data, SIZE));
  });
});
