/**
 * Crash safety of CreateVolume, DeleteVolume and ControllerPublish/Unpublish (ARCHITECTURE §3: the
 * array is the only state). The controller runs as a real child process; at every point between
 * two of its REST change requests it is SIGKILLed while the simulator keeps running, the request
 * it was waiting on is released as processed or dropped, a new controller is started, and the SAME
 * CSI call is retried. The array must then hold exactly one object, and nothing left behind.
 */

import { describe, expect, it } from "vitest";

import { DEFAULT_DRIVER_NAME } from "../../src/config/schema.js";
import { call } from "../../src/csi/test-support/clients.js";
import { formatVolumeId } from "../../src/driver/ids.js";
import { volumeLabel } from "../../src/driver/names.js";
import { formatNodeId } from "../../src/driver/node-id.js";
import type { LdevState, SimState } from "../../src/simulator/state.js";

import type { CrashReport, CsiClients, Variant } from "./support.js";
import { useCrashRig } from "./rig-lifecycle.js";
import { ldevFileIds, runCrashMatrix, stateDiff } from "./support.js";

const MIB = 1024 * 1024;
const PORTS = ["CL1-A", "CL2-A"];
const CAPABILITY = { access_mode: { mode: "SINGLE_NODE_WRITER" as const }, mount: { fs_type: "ext4" } };
const TEST_TIMEOUT_MS = 120_000;

const { sim, crashRig } = useCrashRig("vsp-crash-");

// --- CSI calls ----------------------------------------------------------------------------------

async function createVolume(c: CsiClients, name: string, bytes: number) {
  const res = await call(c.controller, "CreateVolume", {
    name,
    capacity_range: { required_bytes: String(bytes) },
    volume_capabilities: [CAPABILITY],
    parameters: {},
  });
  if (!res.volume) throw new Error("CreateVolume returned no volume");
  return { volumeId: res.volume.volume_id, capacityBytes: res.volume.capacity_bytes };
}

async function publish(c: CsiClients, volumeId: string, nodeId: string): Promise<Record<string, string>> {
  const res = await call(c.controller, "ControllerPublishVolume", {
    volume_id: volumeId,
    node_id: nodeId,
    volume_capability: CAPABILITY,
    readonly: false,
  });
  return res.publish_context;
}

async function unpublish(c: CsiClients, volumeId: string, nodeId: string): Promise<object> {
  return call(c.controller, "ControllerUnpublishVolume", { volume_id: volumeId, node_id: nodeId });
}

async function deleteVolume(c: CsiClients, volumeId: string): Promise<object> {
  return call(c.controller, "DeleteVolume", { volume_id: volumeId });
}

// --- the array's side ---------------------------------------------------------------------------

function ldevs(): LdevState[] {
  return Object.values(sim().sim.core.state.ldevs);
}

function ldevOf(volumeId: string): LdevState {
  const found = ldevs().find((l) => volumeId.endsWith(`.${l.ldevId}.${l.label}`));
  if (!found) throw new Error(`no LDEV for ${volumeId}`);
  return found;
}

/** The one element of a list that must hold exactly one. */
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

function nodeFor(name: string, serial: number): { nodeName: string; wwpn: string; nodeId: string } {
  const wwpn = `10000090fa${serial.toString(16).padStart(6, "0")}`;
  return { nodeName: name, wwpn, nodeId: formatNodeId({ nodeName: name, wwpns: [wwpn] }) };
}

function report(operation: string, r: CrashReport): void {
  const points = (v: Variant) => r[v].map((h) => `${h.request} → ${h.status}`).join(", ");
  console.log(
    `[crash] ${operation}: ${r.process.length} crash points × 2 variants ` +
      `(process: ${points("process")}; drop: ${points("drop")})`,
  );
  // Both variants stop the controller before the same requests, and the release did what it says:
  // "process" = the array ran the request (202, job), "drop" = it never got it (503).
  expect(r.drop.map((h) => h.request)).toEqual(r.process.map((h) => h.request));
  expect(
    r.process.map((h) => `${h.request} → ${h.status}`),
    "held requests released with heldOnRelease=process must be processed by the array",
  ).toEqual(r.process.map((h) => `${h.request} → 202`));
  expect(r.drop.map((h) => h.status)).toEqual(r.drop.map(() => 503));
}

/** Every defined LDEV as a client of the REST API sees it (label is absent when empty). */
async function restLdevs(): Promise<{ ldevId: number; label?: string; blockCapacity: number }[]> {
  const res = await sim().req("GET", `${sim().scoped}/ldevs?ldevOption=defined&count=16384`);
  expect(res.status).toBe(200);
  return res.body.data as { ldevId: number; label?: string; blockCapacity: number }[];
}

// --- the operations -----------------------------------------------------------------------------

describe("controller killed between REST calls, restarted, call retried", () => {
  it(
    "CreateVolume: exactly one labelled LDEV of the requested size, no orphan, same id on every retry",
    async () => {
      const size = (k: number, v: Variant) => (64 + k + (v === "drop" ? 32 : 0)) * MIB;
      const r = await runCrashMatrix(crashRig(), {
        prepare: (_c, k, variant) =>
          Promise.resolve({ name: `pvc-crash-${variant}-${k}`, bytes: size(k, variant) }),
        call: (c, input) => createVolume(c, input.name, input.bytes),
        verify: async (input, result, before) => {
          const label = volumeLabel(DEFAULT_DRIVER_NAME, input.name);
          const ldev = only(ldevs().filter((l) => l.label === label));
          expect(ldev.blockCapacity * 512).toBe(input.bytes);
          expect(ldev.poolId).toBe(0);
          // Nothing leaked: no unlabelled LDEV anywhere, and the new volume is the only change.
          expect(ldevs().filter((l) => l.label === "")).toEqual([]);
          expect(stateDiff(before, sim().sim.core.state)).toEqual({
            ldevs: { added: [ldev], removed: [] },
          });
          await expectBlockFilesMatchState();
          const storageDeviceId = sim().sim.core.config.storageDeviceId;
          expect(result).toEqual({
            volumeId: formatVolumeId({ storageDeviceId, ldevId: ldev.ldevId, label }),
            capacityBytes: String(input.bytes),
          });
          // What any REST client sees: the labelled volume, and no unlabelled LDEV.
          const viaRest = await restLdevs();
          expect(viaRest.filter((l) => l.label === undefined)).toEqual([]);
          expect(viaRest.filter((l) => l.label === label)).toMatchObject([
            { ldevId: ldev.ldevId, blockCapacity: input.bytes / 512 },
          ]);
        },
      });
      report("CreateVolume", r);
      // create the LDEV, label it: at least these two points must have been exercised.
      expect(r.process.length).toBeGreaterThanOrEqual(2);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "DeleteVolume after publish/unpublish: the LDEV and its data are gone, nothing else changed",
    async () => {
      const node = nodeFor("crash-del-node", 1);
      const r = await runCrashMatrix(crashRig(), {
        prepare: async (c, k, variant) => {
          const { volumeId } = await createVolume(c, `pvc-del-${variant}-${k}`, 32 * MIB);
          await publish(c, volumeId, node.nodeId);
          await unpublish(c, volumeId, node.nodeId);
          return { volumeId, ldev: ldevOf(volumeId) };
        },
        call: (c, input) => deleteVolume(c, input.volumeId),
        verify: async (input, result, before) => {
          expect(result).toEqual({});
          expect(stateDiff(before, sim().sim.core.state)).toEqual({
            ldevs: { added: [], removed: [input.ldev] },
          });
          await expectBlockFilesMatchState();
          for (const root of [sim().scoped, sim().short]) {
            const res = await sim().req("GET", `${root}/ldevs/${input.ldev.ldevId}`);
            expect(res.status).toBe(200);
            expect(res.body.emulationType).toBe("NOT DEFINED");
          }
        },
      });
      report("DeleteVolume", r);
      expect(r.process.length).toBeGreaterThanOrEqual(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "ControllerPublishVolume: one host group per port holding the WWPN once, one LU path per port, full context",
    async () => {
      const { volumeId } = await createVolume(crashRig().clients, "pvc-publish", 48 * MIB);
      let serial = 0x100;
      const r = await runCrashMatrix(crashRig(), {
        prepare: async (c, k, variant) => {
          // A fresh node each time, so every step (groups, WWPNs, paths) is exercised again.
          await unpublish(c, volumeId, "");
          return nodeFor(`crash-pub-${variant}-${k}`, serial++);
        },
        call: (c, node) => publish(c, volumeId, node.nodeId),
        verify: async (node, context, before) => {
          const paths = expectPublished(volumeId, node, before);
          expectContext(volumeId, context, paths);
          await expectPublishedViaRest(volumeId, node);
        },
      });
      report("ControllerPublishVolume", r);
      // per port: create the host group, register the WWPN, create the LU path.
      expect(r.process.length).toBeGreaterThanOrEqual(3 * PORTS.length);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "ControllerUnpublishVolume: the node's LU paths are gone, its host groups and WWPNs untouched",
    async () => {
      const { volumeId } = await createVolume(crashRig().clients, "pvc-unpublish", 48 * MIB);
      let serial = 0x200;
      const r = await runCrashMatrix(crashRig(), {
        prepare: async (c, k, variant) => {
          const node = nodeFor(`crash-unpub-${variant}-${k}`, serial++);
          await publish(c, volumeId, node.nodeId);
          return node;
        },
        call: (c, node) => unpublish(c, volumeId, node.nodeId),
        verify: async (_node, result, before) => {
          expect(result).toEqual({});
          const { ldevId } = ldevOf(volumeId);
          const removed = before.luns.filter((l) => l.ldevId === ldevId);
          expect(removed).toHaveLength(PORTS.length);
          expect(stateDiff(before, sim().sim.core.state)).toEqual({ luns: { added: [], removed } });
          const res = await sim().req("GET", `${sim().short}/ldevs/${ldevId}`);
          expect(res.body.ports).toBeUndefined();
        },
      });
      report("ControllerUnpublishVolume", r);
      expect(r.process.length).toBeGreaterThanOrEqual(PORTS.length);
    },
    TEST_TIMEOUT_MS,
  );
});

type Node = ReturnType<typeof nodeFor>;
type LunState = SimState["luns"][number];

/** Asserts the array holds exactly the node's publication and nothing else new; its LU paths. */
function expectPublished(volumeId: string, node: Node, before: SimState): LunState[] {
  const state = sim().sim.core.state;
  const { ldevId } = ldevOf(volumeId);
  const groups = state.hostGroups.filter((g) => g.hostGroupName === `k8s-${node.nodeName}`);
  expect(groups.map((g) => g.portId).sort()).toEqual(PORTS);
  const inGroups = (x: { portId: string; hostGroupNumber: number }) =>
    groups.some((g) => g.portId === x.portId && g.hostGroupNumber === x.hostGroupNumber);
  const wwns = state.hostWwns.filter(inGroups);
  for (const g of groups) {
    const here = wwns.filter((w) => w.portId === g.portId && w.hostGroupNumber === g.hostGroupNumber);
    expect(here.map((w) => w.hostWwn.toLowerCase())).toEqual([node.wwpn]);
  }
  const paths = state.luns.filter((l) => l.ldevId === ldevId);
  expect(paths.map((p) => p.portId).sort()).toEqual(PORTS);
  expect(paths.every(inGroups)).toBe(true);
  expect(stateDiff(before, state)).toEqual({
    hostGroups: { added: groups, removed: [] },
    hostWwns: { added: wwns, removed: [] },
    luns: { added: paths, removed: [] },
  });
  return paths;
}

const sortedList = (list: string | undefined) => (list ?? "").split(",").sort().join(",");

function expectContext(volumeId: string, context: Record<string, string>, paths: LunState[]): void {
  const state = sim().sim.core.state;
  const ldev = ldevOf(volumeId);
  const wwnOf = (portId: string) => state.ports.find((p) => p.portId === portId)?.wwn ?? "?";
  expect({ ...context, luns: sortedList(context.luns), targetWwns: sortedList(context.targetWwns) }).toEqual({
    transport: "sim",
    naa: ldev.naaId,
    luns: paths
      .map((p) => `${p.portId}:${p.lun}`)
      .sort()
      .join(","),
    readonly: "false",
    storageDeviceId: sim().sim.core.config.storageDeviceId,
    ldevId: String(ldev.ldevId),
    targetWwns: PORTS.map((p) => `${p}:${wwnOf(p)}`).join(","),
  });
}

/** The same publication as the REST API shows it to any client. */
async function expectPublishedViaRest(volumeId: string, node: Node): Promise<void> {
  const { ldevId } = ldevOf(volumeId);
  const ldev = await sim().req("GET", `${sim().scoped}/ldevs/${ldevId}`);
  expect(
    ldev.body.ports.map((p: { portId: string; hostGroupName: string }) => [p.portId, p.hostGroupName]),
  ).toEqual(PORTS.map((p) => [p, `k8s-${node.nodeName}`]));
  for (const portId of PORTS) {
    const groups = await sim().req("GET", `${sim().short}/host-groups?portId=${portId}`);
    const named = groups.body.data.filter(
      (g: { hostGroupName: string }) => g.hostGroupName === `k8s-${node.nodeName}`,
    );
    expect(named).toHaveLength(1);
    const wwns = await sim().req(
      "GET",
      `${sim().short}/host-wwns?portId=${portId}&hostGroupNumber=${named[0].hostGroupNumber}`,
    );
    expect(wwns.body.data.map((w: { hostWwn: string }) => w.hostWwn.toLowerCase())).toEqual([node.wwpn]);
  }
}
