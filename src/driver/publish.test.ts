/**
 * ControllerPublish/Unpublish and the published-node views (ListVolumes, ControllerGetVolume)
 * through gRPC against the in-process simulator: the publish context a node needs, and the host
 * groups, initiators and LU paths the array holds afterwards.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";

import { call } from "../csi/test-support/clients.js";
import {
  BLOCK_RWO,
  BLOCK_RWX,
  FC_ARRAY,
  MIB,
  MOUNT_RWO,
  createVolume,
  expectStatus,
  fcNode,
  ldevIdOf,
  ldevIn,
  resetRequests,
  restRequests,
  startDriverHarness,
} from "../csi/test-support/driver-harness.js";
import type { ControllerClient, DriverHarness } from "../csi/test-support/driver-harness.js";
import type { VolumeCapability } from "../csi/generated/csi/v1/VolumeCapability.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import { affectedId } from "../simulator/test-support/harness.js";
import { seedLdev } from "../simulator/test-support/seed.js";
import { formatNodeId } from "./node-id.js";
import { nodeIdentity, simWwpn } from "../node/initiators.js";

let h: DriverHarness;

afterEach(async () => {
  await h.stop();
});

const W1 = fcNode("worker-1");
const W2 = fcNode("worker-2");

function publish(
  controller: ControllerClient,
  volumeId: string,
  nodeId: string,
  capability: VolumeCapability = MOUNT_RWO,
  readonly = false,
) {
  return call(controller, "ControllerPublishVolume", {
    volume_id: volumeId,
    node_id: nodeId,
    volume_capability: capability,
    readonly,
  });
}

/** Host groups, initiators and LU paths on the array, for before/after comparisons. */
function hostObjects(t: TestSim) {
  const { hostGroups, hostWwns, hostIscsis, luns } = t.sim.core.state;
  return structuredClone({ hostGroups, hostWwns, hostIscsis, luns });
}

/** What the driver made: k8s- host groups (each port also has its default group 0, CLx-y-G00). */
function driverObjects(t: TestSim) {
  const { hostGroups, hostWwns, hostIscsis, luns } = hostObjects(t);
  return {
    hostGroups: hostGroups.filter((g) => g.hostGroupName.startsWith("k8s-")),
    hostWwns,
    hostIscsis,
    luns,
  };
}

function groupsNamed(t: TestSim, name: string) {
  return t.sim.core.state.hostGroups.filter((g) => g.hostGroupName === name);
}

function pathsOf(t: TestSim, ldevId: number): { portId: string; group: string; lun: number }[] {
  const { luns, hostGroups } = t.sim.core.state;
  return luns
    .filter((l) => l.ldevId === ldevId)
    .map((l) => ({
      portId: l.portId,
      group:
        hostGroups.find((g) => g.portId === l.portId && g.hostGroupNumber === l.hostGroupNumber)
          ?.hostGroupName ?? "?",
      lun: l.lun,
    }))
    .sort((a, b) => a.group.localeCompare(b.group) || a.portId.localeCompare(b.portId));
}

describe("ControllerPublishVolume (FC)", () => {
  it("answers the context the node needs and builds one host group per port with the node's WWPN and LU paths", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-pub");
    const ldevId = ldevIdOf(volume.volume_id);
    const { publish_context: ctx } = await publish(h.controller, volume.volume_id, W1);
    const lun = h.t.sim.core.state.luns.find((l) => l.ldevId === ldevId)?.lun;
    expect(ctx).toEqual({
      transport: "fc",
      naa: ldevIn(h.t, ldevId)?.naaId,
      luns: `CL1-A:${lun},CL2-A:${lun}`,
      targetWwns: "CL1-A:50060e8012345600,CL2-A:50060e8012345610",
      readonly: "false",
      storageDeviceId: "886000123456",
      ldevId: String(ldevId),
    });
    expect(ctx.naa).toMatch(/^[0-9a-f]{32}$/);
    for (const portId of ["CL1-A", "CL2-A"]) {
      const groups = groupsNamed(h.t, "k8s-worker-1").filter((g) => g.portId === portId);
      expect(groups).toHaveLength(1);
      expect(groups[0]).toMatchObject({ hostMode: "LINUX/IRIX", hostModeOptions: [91] });
      const wwns = h.t.sim.core.state.hostWwns.filter(
        (w) => w.portId === portId && w.hostGroupNumber === groups[0]?.hostGroupNumber,
      );
      expect(wwns.map((w) => w.hostWwn.toLowerCase())).toEqual([simWwpn("worker-1")]);
    }
    expect(pathsOf(h.t, ldevId)).toEqual([
      { portId: "CL1-A", group: "k8s-worker-1", lun },
      { portId: "CL2-A", group: "k8s-worker-1", lun },
    ]);
  });

  it("answers a repeated publish with the identical context and changes nothing on the array", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-pub");
    const first = await publish(h.controller, volume.volume_id, W1);
    const before = hostObjects(h.t);
    await resetRequests(h.t);
    const again = await publish(h.controller, volume.volume_id, W1);
    expect(again).toEqual(first);
    expect(hostObjects(h.t)).toEqual(before);
    expect((await restRequests(h.t)).filter((r) => !r.startsWith("GET "))).toEqual([]);
  });

  it("refuses a publish to the same node with the other readonly flag as ALREADY_EXISTS", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-ro");
    await publish(h.controller, volume.volume_id, W1, MOUNT_RWO, false);
    await expectStatus(
      publish(h.controller, volume.volume_id, W1, MOUNT_RWO, true),
      status.ALREADY_EXISTS,
      /readonly=false/,
    );
  });

  it("publishes read-only when asked, and says so in the context", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-ro");
    const capability: VolumeCapability = { access_mode: { mode: "MULTI_NODE_READER_ONLY" }, mount: {} };
    const res = await publish(h.controller, volume.volume_id, W1, capability, true);
    expect(res.publish_context.readonly).toBe("true");
  });

  it("refuses a second node for a single-node volume as FAILED_PRECONDITION naming the first", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-rwo");
    await publish(h.controller, volume.volume_id, W1);
    await expectStatus(
      publish(h.controller, volume.volume_id, W2),
      status.FAILED_PRECONDITION,
      /published to another node \(k8s-worker-1\)/,
    );
    expect(pathsOf(h.t, ldevIdOf(volume.volume_id)).map((p) => p.group)).toEqual([
      "k8s-worker-1",
      "k8s-worker-1",
    ]);
  });

  it("publishes a multi-writer block volume to two nodes", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-rwx", { volume_capabilities: [BLOCK_RWX] });
    await publish(h.controller, volume.volume_id, W1, BLOCK_RWX);
    await publish(h.controller, volume.volume_id, W2, BLOCK_RWX);
    expect(pathsOf(h.t, ldevIdOf(volume.volume_id)).map((p) => `${p.group}@${p.portId}`)).toEqual([
      "k8s-worker-1@CL1-A",
      "k8s-worker-1@CL2-A",
      "k8s-worker-2@CL1-A",
      "k8s-worker-2@CL2-A",
    ]);
  });

  it.each([
    ["a node id with no initiators", "fake-node-id-1"],
    [
      "a node with only an IQN on an FC array",
      formatNodeId({ nodeName: "w9", wwpns: [], iqn: "iqn.1994-05.com.redhat:w9" }),
    ],
    ["a malformed node id", "worker-1;fc=nothex"],
  ])("answers NOT_FOUND for %s and creates nothing", async (_what, nodeId) => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-node");
    await expectStatus(publish(h.controller, volume.volume_id, nodeId), status.NOT_FOUND, /is not known/);
    expect(driverObjects(h.t)).toEqual({ hostGroups: [], hostWwns: [], hostIscsis: [], luns: [] });
  });

  it("answers NOT_FOUND for an unknown or deleted volume", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-gone");
    await call(h.controller, "DeleteVolume", { volume_id: volume.volume_id });
    await expectStatus(publish(h.controller, volume.volume_id, W1), status.NOT_FOUND, /does not exist/);
    await expectStatus(publish(h.controller, "fake-volume-id", W1), status.NOT_FOUND);
  });

  it.each([
    ["no node id", { node_id: "" }, /node_id is required/],
    ["no volume capability", { volume_capability: null }, /volume_capability is required/],
  ])("refuses %s as INVALID_ARGUMENT", async (_what, override, message) => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-arg");
    await expectStatus(
      call(h.controller, "ControllerPublishVolume", {
        volume_id: volume.volume_id,
        node_id: W1,
        volume_capability: MOUNT_RWO,
        ...override,
      }),
      status.INVALID_ARGUMENT,
      message,
    );
  });

  it("uses another LUN on a port where the node's usual LUN is taken, and says so in the context", async () => {
    h = await startDriverHarness();
    const a = await createVolume(h.controller, "pvc-a");
    const b = await createVolume(h.controller, "pvc-b");
    await publish(h.controller, a.volume_id, W1);
    // An administrator mapped something else at LUN 1 of the node's group on CL2-A.
    await seedLdev(h.t.sim.core, 900, MIB);
    const group = groupsNamed(h.t, "k8s-worker-1").find((g) => g.portId === "CL2-A");
    const res = await h.t.job("POST", `${h.t.scoped}/luns`, {
      portId: "CL2-A",
      hostGroupNumber: group?.hostGroupNumber,
      ldevId: 900,
      lun: 1,
    });
    expect(res.body.state).toBe("Succeeded");
    const { publish_context: ctx } = await publish(h.controller, b.volume_id, W1);
    const paths = pathsOf(h.t, ldevIdOf(b.volume_id));
    expect(paths.map((p) => `${p.portId}:${p.lun}`).join(",")).toBe(ctx.luns);
    expect(paths.find((p) => p.portId === "CL2-A")?.lun).not.toBe(1);
    expect((await publish(h.controller, b.volume_id, W1)).publish_context).toEqual(ctx);
  });

  it("takes over the WWPN from the empty group a renamed node left behind", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-renamed");
    const wwpn = "10000000c9abcdef";
    const old = formatNodeId({ nodeName: "worker-1", wwpns: [wwpn] });
    await publish(h.controller, volume.volume_id, old);
    await call(h.controller, "ControllerUnpublishVolume", { volume_id: volume.volume_id, node_id: old });
    // Same host, same HBA, new Kubernetes node name: the array allows a WWN in one group per port.
    const renamed = formatNodeId({ nodeName: "worker-1-new", wwpns: [wwpn] });
    await publish(h.controller, volume.volume_id, renamed);
    expect(groupsNamed(h.t, "k8s-worker-1")).toHaveLength(0);
    expect(groupsNamed(h.t, "k8s-worker-1-new")).toHaveLength(2);
    expect(h.t.sim.core.state.hostWwns.filter((w) => w.hostWwn === wwpn)).toHaveLength(2);
  });

  it("names the group that still maps volumes when a renamed node's WWPN is held there", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-held");
    const other = await createVolume(h.controller, "pvc-other");
    const wwpn = "10000000c9abcdef";
    await publish(h.controller, volume.volume_id, formatNodeId({ nodeName: "worker-1", wwpns: [wwpn] }));
    const renamed = formatNodeId({ nodeName: "worker-1-new", wwpns: [wwpn] });
    await expectStatus(
      publish(h.controller, other.volume_id, renamed),
      status.FAILED_PRECONDITION,
      new RegExp(`${wwpn}.*k8s-worker-1(?![\\w-]).*still has LU paths`),
    );
    expect(groupsNamed(h.t, "k8s-worker-1")).toHaveLength(2);
  });

  it("publishes two volumes to a new node at the same time (a pod with two PVCs)", async () => {
    h = await startDriverHarness();
    const a = await createVolume(h.controller, "pvc-a");
    const b = await createVolume(h.controller, "pvc-b");
    const results = await Promise.allSettled([
      publish(h.controller, a.volume_id, W1),
      publish(h.controller, b.volume_id, W1),
    ]);
    expect(results.map((r) => (r.status === "rejected" ? String(r.reason) : "ok"))).toEqual(["ok", "ok"]);
    expect(groupsNamed(h.t, "k8s-worker-1")).toHaveLength(2);
    for (const group of groupsNamed(h.t, "k8s-worker-1")) {
      const wwns = h.t.sim.core.state.hostWwns.filter(
        (w) => w.portId === group.portId && w.hostGroupNumber === group.hostGroupNumber,
      );
      expect(wwns.map((w) => w.hostWwn)).toEqual([simWwpn("worker-1")]);
    }
    for (const volume of [a, b]) {
      expect(pathsOf(h.t, ldevIdOf(volume.volume_id)).map((p) => `${p.group}@${p.portId}`)).toEqual([
        "k8s-worker-1@CL1-A",
        "k8s-worker-1@CL2-A",
      ]);
    }
  });
});

/** The array requests `run` made, as "METHOD /path" (query strings left out). */
async function requestsOf(run: () => Promise<unknown>): Promise<string[]> {
  await resetRequests(h.t);
  await run();
  return restRequests(h.t);
}

/** A group made on the array directly (as an administrator, or a crash, leaves one). */
async function makeGroup(portId: string, hostGroupName: string, wwn?: string): Promise<number> {
  const res = await h.t.job("POST", `${h.t.scoped}/host-groups`, { portId, hostGroupName });
  expect(res.body.state).toBe("Succeeded");
  const hostGroupNumber = Number(affectedId(res.body).split(",").at(-1));
  if (wwn !== undefined) {
    const added = await h.t.job("POST", `${h.t.scoped}/host-wwns`, { portId, hostGroupNumber, hostWwn: wwn });
    expect(added.body.state).toBe("Succeeded");
  }
  return hostGroupNumber;
}

function groupOn(portId: string, name: string) {
  const group = groupsNamed(h.t, name).find((g) => g.portId === portId);
  if (!group) throw new Error(`no group ${name} on ${portId}`);
  return group;
}

function lunsIn(portId: string, hostGroupNumber: number) {
  return h.t.sim.core.state.luns.filter((l) => l.portId === portId && l.hostGroupNumber === hostGroupNumber);
}

const FOREIGN_WWN = "50000000aaaabbbb";

describe("ControllerPublishVolume REST economy (2 target ports)", () => {
  it("publishes to a new node in at most 12 requests, never listing a port", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-new");
    const requests = await requestsOf(() => publish(h.controller, volume.volume_id, W1));
    // GET ldev; per port GET host-wwns (by name), POST host-groups, POST host-wwns; POST luns ×2;
    // GET ldev (naaId); GET ports ×2 (target WWNs, once per controller).
    expect(requests.length, requests.join("\n")).toBeLessThanOrEqual(12);
    expect(requests.filter((r) => r === "GET /host-groups")).toEqual([]);
  });

  it("publishes to a known node in at most 1 + 1 per port + 2 requests: no host group lookups", async () => {
    h = await startDriverHarness();
    const first = await createVolume(h.controller, "pvc-first");
    const second = await createVolume(h.controller, "pvc-second");
    await publish(h.controller, first.volume_id, W1);
    const requests = await requestsOf(() => publish(h.controller, second.volume_id, W1));
    const ldev = `GET /ldevs/${ldevIdOf(second.volume_id)}`;
    const witness = `GET /ldevs/${ldevIdOf(first.volume_id)}`;
    // The volume; a volume already mapped to the node (its ports[] confirm both group numbers);
    // a path per port; the volume again for the naaId an unmapped LDEV does not show.
    expect(requests).toEqual([ldev, witness, "POST /luns", "POST /luns", ldev]);
    expect(pathsOf(h.t, ldevIdOf(second.volume_id)).map((p) => p.group)).toEqual([
      "k8s-worker-1",
      "k8s-worker-1",
    ]);
  });

  it("does not read the volume again when its first read already had the naaId", async () => {
    h = await startDriverHarness();
    const shared = await createVolume(h.controller, "pvc-rwx", { volume_capabilities: [BLOCK_RWX] });
    const other = await createVolume(h.controller, "pvc-w1");
    await publish(h.controller, other.volume_id, W1);
    await publish(h.controller, shared.volume_id, W2, BLOCK_RWX);
    const requests = await requestsOf(() => publish(h.controller, shared.volume_id, W1, BLOCK_RWX));
    expect(requests.length, requests.join("\n")).toBeLessThanOrEqual(4);
    expect(requests.filter((r) => r === `GET /ldevs/${ldevIdOf(shared.volume_id)}`)).toHaveLength(1);
  });

  it("answers a repeated publish from one read of the volume", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-again");
    const first = await publish(h.controller, volume.volume_id, W1);
    const requests = await requestsOf(async () => {
      expect(await publish(h.controller, volume.volume_id, W1)).toEqual(first);
    });
    expect(requests).toEqual([`GET /ldevs/${ldevIdOf(volume.volume_id)}`]);
  });

  it("finds a known node's groups by name after a controller restart: 1 + 2 per port + 1", async () => {
    h = await startDriverHarness();
    const first = await createVolume(h.controller, "pvc-first");
    const second = await createVolume(h.controller, "pvc-second");
    await publish(h.controller, first.volume_id, W1);
    const fresh = await h.restart();
    const requests = await requestsOf(() => publish(fresh.controller, second.volume_id, W1));
    // A new controller also logs in and reads the target ports once.
    const steady = requests.filter((r) => r !== "POST /sessions" && !r.startsWith("GET /ports"));
    expect(steady.length, requests.join("\n")).toBeLessThanOrEqual(6);
    expect(requests.filter((r) => r === "GET /host-wwns")).toHaveLength(2);
    expect(requests.filter((r) => r === "GET /host-groups" || r.startsWith("POST /host"))).toEqual([]);
  });
});

describe("ControllerPublishVolume convergence", () => {
  it("adopts and completes a group a crash left without WWNs, on the first try", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-crash");
    const left = await makeGroup("CL1-A", "k8s-worker-1");
    await publish(h.controller, volume.volume_id, W1);
    expect(groupOn("CL1-A", "k8s-worker-1").hostGroupNumber).toBe(left);
    for (const portId of ["CL1-A", "CL2-A"]) {
      const group = groupOn(portId, "k8s-worker-1");
      expect(groupsNamed(h.t, "k8s-worker-1").filter((g) => g.portId === portId)).toHaveLength(1);
      const wwns = h.t.sim.core.state.hostWwns.filter(
        (w) => w.portId === portId && w.hostGroupNumber === group.hostGroupNumber,
      );
      expect(wwns.map((w) => w.hostWwn)).toEqual([simWwpn("worker-1")]);
    }
    expect(pathsOf(h.t, ldevIdOf(volume.volume_id)).map((p) => p.group)).toEqual([
      "k8s-worker-1",
      "k8s-worker-1",
    ]);
  });

  it("maps only the missing port after a crash between the two paths, with the same LUN", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-half");
    const ldevId = ldevIdOf(volume.volume_id);
    const gid = await makeGroup("CL1-A", "k8s-worker-1", simWwpn("worker-1"));
    await h.t.job("POST", `${h.t.scoped}/luns`, { portId: "CL1-A", hostGroupNumber: gid, ldevId, lun: 7 });
    const requests = await requestsOf(() => publish(h.controller, volume.volume_id, W1));
    expect(pathsOf(h.t, ldevId).map((p) => `${p.group}@${p.portId}:${p.lun}`)).toEqual([
      "k8s-worker-1@CL1-A:7",
      "k8s-worker-1@CL2-A:7",
    ]);
    expect(requests.filter((r) => r === "POST /luns")).toHaveLength(1);
  });

  it("never maps a cached group number whose group was replaced by another host's group", async () => {
    h = await startDriverHarness();
    const first = await createVolume(h.controller, "pvc-first");
    const second = await createVolume(h.controller, "pvc-second");
    await publish(h.controller, first.volume_id, W1);
    // Out of band: the node's group on CL1-A is deleted and its number goes to another host.
    const stale = groupOn("CL1-A", "k8s-worker-1").hostGroupNumber;
    const del = await h.t.job("DELETE", `${h.t.scoped}/host-groups/CL1-A,${stale}`);
    expect(del.body.state).toBe("Succeeded");
    expect(await makeGroup("CL1-A", "other-host", FOREIGN_WWN)).toBe(stale);

    const requests = await requestsOf(() => publish(h.controller, second.volume_id, W1));
    expect(lunsIn("CL1-A", stale)).toEqual([]);
    // Nothing had to be undone: the witness showed the number was no longer the node's.
    expect(requests.filter((r) => r.startsWith("DELETE"))).toEqual([]);
    expect(pathsOf(h.t, ldevIdOf(second.volume_id)).map((p) => `${p.group}@${p.portId}`)).toEqual([
      "k8s-worker-1@CL1-A",
      "k8s-worker-1@CL2-A",
    ]);
  });

  it("removes at once a path that landed in another host's group replaced under the publish, and redoes it by name", async () => {
    h = await startDriverHarness();
    const first = await createVolume(h.controller, "pvc-first");
    const second = await createVolume(h.controller, "pvc-second");
    await publish(h.controller, first.volume_id, W1);
    const number = groupOn("CL1-A", "k8s-worker-1").hostGroupNumber;
    // Hold the publish's first change (its POST luns on CL1-A, after the witness confirmed the
    // number) and replace the group under it, as an administrator racing the driver would.
    await h.t.admin("PUT", "/simulator/faults", { holdChangesAfter: 0 });
    await resetRequests(h.t);
    const publishing = publish(h.controller, second.volume_id, W1);
    await heldRequest();
    const state = h.t.sim.core.state;
    state.luns = state.luns.filter((l) => !(l.portId === "CL1-A" && l.hostGroupNumber === number));
    state.hostWwns = state.hostWwns.filter((w) => !(w.portId === "CL1-A" && w.hostGroupNumber === number));
    const group = groupOn("CL1-A", "k8s-worker-1");
    group.hostGroupName = "other-host";
    state.hostWwns.push({ portId: "CL1-A", hostGroupNumber: number, hostWwn: FOREIGN_WWN, wwnNickname: "" });
    await h.t.admin("PUT", "/simulator/faults", { holdChangesAfter: null });
    const { publish_context: ctx } = await publishing;

    expect(lunsIn("CL1-A", number)).toEqual([]);
    expect((await restRequests(h.t)).filter((r) => r.startsWith("DELETE /luns"))).toHaveLength(1);
    const paths = pathsOf(h.t, ldevIdOf(second.volume_id));
    expect(paths.map((p) => `${p.group}@${p.portId}`)).toEqual(["k8s-worker-1@CL1-A", "k8s-worker-1@CL2-A"]);
    expect(ctx.luns).toBe(paths.map((p) => `${p.portId}:${p.lun}`).join(","));
    expect(groupOn("CL1-A", "k8s-worker-1").hostGroupNumber).not.toBe(number);
  });
});

/** Waits until the simulator holds a change request (holdChangesAfter). */
async function heldRequest(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await h.t.admin("GET", "/simulator/faults")).body.heldCount > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("no request was held");
}

describe("ControllerPublishVolume (iSCSI)", () => {
  it("answers portals and registers the node's IQN in a target per iSCSI port", async () => {
    h = await startDriverHarness({
      arrays: [FC_ARRAY, { name: "vsp2", transport: "iscsi", targetPorts: ["CL3-A", "CL4-A"] }],
    });
    const t2 = h.sims.vsp2;
    if (!t2) throw new Error("no second array");
    const volume = await createVolume(h.controller, "pvc-iscsi", { parameters: { array: "vsp2" } });
    expect(volume.volume_id).toMatch(/^1\.886000123457\.v\./);
    expect(volume.volume_context).toEqual({ array: "vsp2" });
    const iqn = "iqn.1994-05.com.redhat:worker-1";
    const node = formatNodeId({ nodeName: "worker-1", wwpns: [simWwpn("worker-1")], iqn });
    const { publish_context: ctx } = await publish(h.controller, volume.volume_id, node);
    const ldevId = ldevIdOf(volume.volume_id);
    const lun = t2.sim.core.state.luns.find((l) => l.ldevId === ldevId)?.lun;
    expect(ctx).toMatchObject({
      transport: "iscsi",
      portals: "CL3-A:127.0.0.1:3260,CL4-A:127.0.0.1:3261",
      luns: `CL3-A:${lun},CL4-A:${lun}`,
      naa: t2.sim.core.state.ldevs[String(ldevId)]?.naaId,
    });
    expect(ctx.targetWwns).toBeUndefined();
    const targets = groupsNamed(t2, "k8s-worker-1");
    expect(targets.map((g) => g.portId).sort()).toEqual(["CL3-A", "CL4-A"]);
    for (const target of targets) expect(target.hostModeOptions).toEqual([83, 91]);
    expect(t2.sim.core.state.hostIscsis.map((i) => `${i.portId}:${i.iscsiName}`).sort()).toEqual([
      `CL3-A:${iqn}`,
      `CL4-A:${iqn}`,
    ]);
    // Nothing landed on the FC array.
    expect(driverObjects(h.t).hostGroups).toEqual([]);
    // An FC-only node cannot use the iSCSI array.
    await expectStatus(publish(h.controller, volume.volume_id, W2), status.NOT_FOUND, /no iscsi initiators/);
  });
});

describe("ControllerUnpublishVolume", () => {
  it("removes only that node's paths; a repeat is OK", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-un", { volume_capabilities: [BLOCK_RWX] });
    await publish(h.controller, volume.volume_id, W1, BLOCK_RWX);
    await publish(h.controller, volume.volume_id, W2, BLOCK_RWX);
    const req = { volume_id: volume.volume_id, node_id: W1 };
    await call(h.controller, "ControllerUnpublishVolume", req);
    const groups = pathsOf(h.t, ldevIdOf(volume.volume_id)).map((p) => p.group);
    expect(groups).toEqual(["k8s-worker-2", "k8s-worker-2"]);
    await call(h.controller, "ControllerUnpublishVolume", req);
    expect(pathsOf(h.t, ldevIdOf(volume.volume_id))).toHaveLength(2);
  });

  it("answers OK for a deleted volume, a garbage id and an unknown node", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-un");
    await publish(h.controller, volume.volume_id, W1);
    await call(h.controller, "ControllerUnpublishVolume", {
      volume_id: volume.volume_id,
      node_id: "fake-node",
    });
    expect(pathsOf(h.t, ldevIdOf(volume.volume_id))).toHaveLength(2);
    await call(h.controller, "ControllerUnpublishVolume", { volume_id: volume.volume_id, node_id: W1 });
    await call(h.controller, "DeleteVolume", { volume_id: volume.volume_id });
    await call(h.controller, "ControllerUnpublishVolume", { volume_id: volume.volume_id, node_id: W1 });
    await call(h.controller, "ControllerUnpublishVolume", { volume_id: "fake-volume-id", node_id: W1 });
  });

  it("with no node id removes every k8s- path and leaves paths the driver did not make", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-all", { volume_capabilities: [BLOCK_RWX] });
    const ldevId = ldevIdOf(volume.volume_id);
    await publish(h.controller, volume.volume_id, W1, BLOCK_RWX);
    await publish(h.controller, volume.volume_id, W2, BLOCK_RWX);
    const group = await h.t.job("POST", `${h.t.scoped}/host-groups`, {
      portId: "CL1-A",
      hostGroupName: "backup-host",
    });
    const hostGroupNumber = Number(affectedId(group.body).split(",").at(-1));
    await h.t.job("POST", `${h.t.scoped}/luns`, { portId: "CL1-A", hostGroupNumber, ldevId });
    await call(h.controller, "ControllerUnpublishVolume", { volume_id: volume.volume_id, node_id: "" });
    expect(pathsOf(h.t, ldevId).map((p) => p.group)).toEqual(["backup-host"]);
  });
});

describe("published nodes", () => {
  it("ListVolumes and ControllerGetVolume show the node after publish, and a fresh driver rebuilds it from the array", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-seen", { volume_capabilities: [BLOCK_RWO] });
    const node = formatNodeId({ nodeName: "worker-1", wwpns: [simWwpn("worker-1"), "10000000c9abcdef"] });
    await publish(h.controller, volume.volume_id, node, BLOCK_RWO);
    const listed = await call(h.controller, "ListVolumes", {});
    expect(listed.entries.map((e) => e.status?.published_node_ids)).toEqual([[node]]);
    const got = await call(h.controller, "ControllerGetVolume", { volume_id: volume.volume_id });
    expect(got.status?.published_node_ids).toEqual([node]);
    expect(got.status?.volume_condition).toEqual({ abnormal: false, message: "" });

    const fresh = await h.restart();
    const relisted = await call(fresh.controller, "ListVolumes", {});
    expect(relisted.entries.map((e) => e.status?.published_node_ids)).toEqual([[node]]);

    await call(fresh.controller, "ControllerUnpublishVolume", { volume_id: volume.volume_id, node_id: node });
    const after = await call(h.controller, "ControllerGetVolume", { volume_id: volume.volume_id });
    expect(after.status?.published_node_ids).toEqual([]);
  });

  it("a fresh driver reports the node id NodeGetInfo gave for an FC node that also has an iSCSI initiator name", async () => {
    h = await startDriverHarness();
    const volume = await createVolume(h.controller, "pvc-seen", { volume_capabilities: [BLOCK_RWO] });
    // A RHEL host with an FC HBA has /etc/iscsi/initiatorname.iscsi too; the FC node id leaves it out.
    const hostRoot = await mkdtemp(join(tmpdir(), "vsp-host-"));
    await mkdir(join(hostRoot, "sys/class/fc_host/host0"), { recursive: true });
    await writeFile(join(hostRoot, "sys/class/fc_host/host0/port_name"), `0x${simWwpn("worker-1")}\n`);
    await mkdir(join(hostRoot, "etc/iscsi"), { recursive: true });
    await writeFile(
      join(hostRoot, "etc/iscsi/initiatorname.iscsi"),
      "InitiatorName=iqn.1994-05.com.redhat:4f3e2d1c\n",
    );
    const node = formatNodeId(await nodeIdentity("worker-1", "fc", hostRoot));
    await rm(hostRoot, { recursive: true, force: true });
    expect(node).toBe(`worker-1;fc=${simWwpn("worker-1")}`);
    await publish(h.controller, volume.volume_id, node, BLOCK_RWO);
    const fresh = await h.restart();
    const listed = await call(fresh.controller, "ListVolumes", {});
    expect(listed.entries.map((e) => e.status?.published_node_ids)).toEqual([[node]]);
  });
});
