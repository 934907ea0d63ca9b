/**
 * Crash safety of the ShadowImage paths (ARCHITECTURE §3: the array is the only state): an SI
 * CreateSnapshot, an SI DeleteSnapshot and an SI PVC clone. The controller runs as a real child
 * process (support.ts); at every point between two of its REST change requests it is SIGKILLed, the
 * request it was waiting on is released as processed or dropped, a new controller is started and
 * the SAME CSI call is retried (twice). The array must then hold exactly one object with the right
 * bytes, and nothing left behind: no unlabelled LDEV, no ShadowImage pair or copy group that is not
 * the answer's.
 */

import { status } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";

import { DEFAULT_DRIVER_NAME } from "../../src/config/schema.js";
import { call } from "../../src/csi/test-support/clients.js";
import { pattern, sha256Of, shaOfImage } from "../../src/csi/test-support/snapshot-harness.js";
import { writeData } from "../../src/csi/test-support/driver-harness.js";
import { parseSnapshotId, parseVolumeId } from "../../src/driver/ids.js";
import { shadowImageCopyGroupName, volumeLabel } from "../../src/driver/names.js";
import type { LdevState, SimState } from "../../src/simulator/state.js";

import type { CrashReport, CsiClients, Variant } from "./support.js";
import { useCrashRig } from "./rig-lifecycle.js";
import { ldevFileIds, runCrashMatrix, stateDiff } from "./support.js";

const MIB = 1024 * 1024;
const SIZE = 8 * MIB;
const SI = { copyMethod: "shadowImage" };
const CAPABILITY = { access_mode: { mode: "SINGLE_NODE_WRITER" as const }, block: {} };
const TEST_TIMEOUT_MS = 120_000;

const { sim, crashRig } = useCrashRig("vsp-crash-si-");

// --- CSI calls ----------------------------------------------------------------------------------

async function createVolume(c: CsiClients, name: string, extra: Record<string, unknown> = {}) {
  const res = await call(c.controller, "CreateVolume", {
    name,
    capacity_range: { required_bytes: String(SIZE) },
    volume_capabilities: [CAPABILITY],
    parameters: {},
    ...extra,
  });
  if (!res.volume) throw new Error("CreateVolume returned no volume");
  return { volumeId: res.volume.volume_id, capacityBytes: res.volume.capacity_bytes };
}

async function sourceWith(c: CsiClients, name: string, data: Buffer): Promise<string> {
  const { volumeId } = await createVolume(c, name);
  await writeData(sim(), parseVolumeId(volumeId).ldevId, data);
  return volumeId;
}

async function createSnapshot(c: CsiClients, name: string, sourceVolumeId: string) {
  const res = await call(c.controller, "CreateSnapshot", {
    name,
    source_volume_id: sourceVolumeId,
    parameters: SI,
  });
  if (!res.snapshot) throw new Error("CreateSnapshot returned no snapshot");
  const { snapshot_id, source_volume_id, size_bytes, ready_to_use, creation_time } = res.snapshot;
  return { snapshot_id, source_volume_id, size_bytes, ready_to_use, creation_time };
}

// --- the array's side ---------------------------------------------------------------------------

function ldevs(): LdevState[] {
  return Object.values(sim().sim.core.state.ldevs);
}

function only<T>(list: T[]): T {
  expect(list).toHaveLength(1);
  const [first] = list;
  if (first === undefined) throw new Error("empty list");
  return first;
}

/** Every LDEV has a data file and every data file an LDEV: no block storage leaked or lost. */
async function expectBlockFilesMatchState(): Promise<void> {
  const ids = ldevs()
    .map((l) => l.ldevId)
    .sort((a, b) => a - b);
  expect(await ldevFileIds(sim())).toEqual(ids);
}

/** The collections that changed, and the labels of the LDEVs added and removed. */
function changes(before: SimState): { collections: string[]; added: string[]; removed: string[] } {
  const diff = stateDiff(before, structuredClone(sim().sim.core.state));
  const labels = (list: unknown[] | undefined) => ((list ?? []) as LdevState[]).map((l) => l.label).sort();
  return {
    collections: Object.keys(diff).sort(),
    added: labels(diff.ldevs?.added),
    removed: labels(diff.ldevs?.removed),
  };
}

/** A held request by kind: pair ids carry names and the pair's time, different per case. */
function kind(request: string): string {
  return request
    .replace(/local-clone-copypairs\/[^/]+\/actions\/(\w+)\/invoke/, "local-clone-copypairs/{id}/$1")
    .replace(/local-clone-copypairs\/ci-\S+/, "local-clone-copypairs/{id}");
}

/** Logs the crash points; both variants stopped before the same requests; answers them by kind. */
function report(operation: string, r: CrashReport): string[] {
  const points = (v: Variant) => r[v].map((h) => `${kind(h.request)} → ${h.status}`).join(", ");
  console.log(
    `[crash] ${operation}: ${r.process.length} crash points × 2 variants ` +
      `(process: ${points("process")}; drop: ${points("drop")})`,
  );
  // "process" = the array ran the request (202, job), "drop" = it never got it (503).
  expect(r.drop.map((h) => kind(h.request))).toEqual(r.process.map((h) => kind(h.request)));
  expect(r.process.map((h) => h.status)).toEqual(r.process.map(() => 202));
  expect(r.drop.map((h) => h.status)).toEqual(r.drop.map(() => 503));
  return r.drop.map((h) => kind(h.request));
}

// --- the operations -----------------------------------------------------------------------------

describe("ShadowImage: controller killed between REST calls, restarted, call retried", () => {
  it(
    "CreateSnapshot converges to one split pair, one copy group and one S-VOL holding the image",
    async () => {
      const data = pattern("source", MIB);
      const r = await runCrashMatrix(crashRig(), {
        prepare: async (c, k, variant) => ({
          name: `snap-${variant}-${k}`,
          source: await sourceWith(c, `pvc-${variant}-${k}`, data),
        }),
        call: (c, input) => createSnapshot(c, input.name, input.source),
        verify: async (input, result, before) => {
          const group = shadowImageCopyGroupName(DEFAULT_DRIVER_NAME, input.name);
          expect(result).toMatchObject({
            source_volume_id: input.source,
            size_bytes: String(SIZE),
            ready_to_use: true,
          });
          const id = parseSnapshotId(result.snapshot_id);
          expect(id).toMatchObject({ kind: "si-snapshot", copyGroupName: group });
          expect(changes(before)).toEqual({
            collections: ["ldevs", "siCopyGroups", "siPairs"],
            added: [group],
            removed: [],
          });
          const state = sim().sim.core.state;
          const svol = only(ldevs().filter((l) => l.label === group));
          expect(only(state.siCopyGroups.filter((g) => g.copyGroupName === group))).toBeDefined();
          expect(only(state.siPairs.filter((p) => p.copyGroupName === group))).toMatchObject({
            pvolLdevId: parseVolumeId(input.source).ldevId,
            svolLdevId: svol.ldevId,
            status: "PSUS",
          });
          expect(ldevs().filter((l) => l.label === "")).toEqual([]);
          expect(await sha256Of(sim(), svol.ldevId)).toBe(shaOfImage(data, SIZE));
          await expectBlockFilesMatchState();
        },
      });
      expect(report("ShadowImage CreateSnapshot", r)).toEqual([
        "POST ldevs",
        "PATCH ldevs/{id}",
        "POST local-clone-copypairs",
        "POST local-clone-copypairs/{id}/split",
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "DeleteSnapshot converges to nothing: pair, copy group and S-VOL gone, the source untouched",
    async () => {
      const data = pattern("source", MIB);
      const r = await runCrashMatrix(crashRig(), {
        prepare: async (c, k, variant) => {
          const source = await sourceWith(c, `pvc-del-${variant}-${k}`, data);
          const snap = await createSnapshot(c, `snap-del-${variant}-${k}`, source);
          return { source, snapshotId: snap.snapshot_id, name: `snap-del-${variant}-${k}` };
        },
        call: (c, input) => call(c.controller, "DeleteSnapshot", { snapshot_id: input.snapshotId }),
        verify: async (input, result, before) => {
          expect(result).toEqual({});
          const group = shadowImageCopyGroupName(DEFAULT_DRIVER_NAME, input.name);
          expect(changes(before)).toEqual({
            collections: ["ldevs", "siCopyGroups", "siPairs"],
            added: [],
            removed: [group],
          });
          const state = sim().sim.core.state;
          expect(state.siPairs.filter((p) => p.copyGroupName === group)).toEqual([]);
          expect(state.siCopyGroups.filter((g) => g.copyGroupName === group)).toEqual([]);
          const err = await call(crashRig().clients.controller, "GetSnapshot", {
            snapshot_id: input.snapshotId,
          }).then(
            () => undefined,
            (e: unknown) => e as ServiceError,
          );
          expect(err?.code).toBe(status.NOT_FOUND);
          expect(await sha256Of(sim(), parseVolumeId(input.source).ldevId)).toBe(shaOfImage(data, SIZE));
          await expectBlockFilesMatchState();
        },
      });
      expect(report("ShadowImage DeleteSnapshot", r)).toEqual([
        "DELETE local-clone-copypairs/{id}",
        "DELETE ldevs/{id}",
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "a PVC clone converges to one independent volume with the source's bytes and no pair left",
    async () => {
      const data = pattern("original", MIB);
      const r = await runCrashMatrix(crashRig(), {
        prepare: async (c, k, variant) => ({
          name: `pvc-clone-${variant}-${k}`,
          source: await sourceWith(c, `pvc-src-${variant}-${k}`, data),
        }),
        call: (c, input) =>
          createVolume(c, input.name, {
            parameters: SI,
            volume_content_source: { volume: { volume_id: input.source } },
          }),
        verify: async (input, result, before) => {
          const label = volumeLabel(DEFAULT_DRIVER_NAME, input.name);
          expect(parseVolumeId(result.volumeId).label).toBe(label);
          expect(result.capacityBytes).toBe(String(SIZE));
          expect(changes(before)).toEqual({ collections: ["ldevs"], added: [label], removed: [] });
          const state = sim().sim.core.state;
          expect(state.siPairs).toEqual([]);
          expect(state.siCopyGroups).toEqual([]);
          expect(ldevs().filter((l) => l.label === "")).toEqual([]);
          expect(await sha256Of(sim(), parseVolumeId(result.volumeId).ldevId)).toBe(shaOfImage(data, SIZE));
          await expectBlockFilesMatchState();
        },
      });
      expect(report("ShadowImage PVC clone", r)).toEqual([
        "POST ldevs",
        "PATCH ldevs/{id}",
        "POST local-clone-copypairs",
        "POST local-clone-copypairs/{id}/split",
        "DELETE local-clone-copypairs/{id}",
      ]);
    },
    TEST_TIMEOUT_MS,
  );
});
