/**
 * CreateVolume, DeleteVolume and ListVolumes through gRPC against the in-process simulator: what a
 * Kubernetes user relies on (status codes, messages) and what the array holds afterwards.
 */
import { status } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { call } from "../csi/test-support/clients.js";
import {
  BLOCK_RWX,
  DRIVER_NAME,
  FC_ARRAY,
  MIB,
  MOUNT_RWO,
  allLdevs,
  createVolume,
  expectStatus,
  fcNode,
  ldevIdOf,
  ldevIn,
  resetRequests,
  restRequests,
  startDriverHarness,
  writeData,
} from "../csi/test-support/driver-harness.js";
import type { DriverHarness } from "../csi/test-support/driver-harness.js";
import { affectedId } from "../simulator/test-support/harness.js";
import { seedLdev } from "../simulator/test-support/seed.js";
import { formatVolumeId } from "./ids.js";
import { windowFor } from "./ldev-placement.js";
import { volumeLabel } from "./names.js";

let h: DriverHarness;

beforeEach(async () => {
  h = await startDriverHarness();
});
afterEach(async () => {
  await h.stop();
});

function labelled(name: string) {
  const label = volumeLabel(DRIVER_NAME, name);
  return allLdevs(h.t).filter((l) => l.label === label);
}

/** Creates an LDEV through the REST API (unlabelled, as a crashed CreateVolume leaves it). */
async function restLdev(ldevId: number, bytes: number, poolId = 0): Promise<void> {
  const res = await h.t.job("POST", `${h.t.scoped}/ldevs`, { poolId, blockCapacity: bytes / 512, ldevId });
  expect(res.body.state, JSON.stringify(res.body.error)).toBe("Succeeded");
}

function windowOf(name: string) {
  const range = h.config.arrays[0]?.ldevRange ?? { start: 0, end: 65279 };
  return windowFor(volumeLabel(DRIVER_NAME, name), range);
}

describe("CreateVolume", () => {
  it.each([
    ["1000 bytes", { required_bytes: "1000" }, MIB],
    ["exactly 1 MiB", { required_bytes: String(MIB) }, MIB],
    ["1 MiB + 1 byte", { required_bytes: String(MIB + 1) }, 2 * MIB],
    ["no range (the default)", null, 1024 * MIB],
    ["only a limit below the default", { limit_bytes: String(500 * MIB + 3) }, 500 * MIB],
  ])("for %s creates a whole-MiB volume and reports exactly its size", async (_what, range, bytes) => {
    const volume = await createVolume(h.controller, "pvc-size", { capacity_range: range });
    expect(volume.capacity_bytes).toBe(String(bytes));
    expect(volume.volume_id).toMatch(/^1\.886000123456\.v\.\d+\.cv-[a-z2-7]{29}$/);
    expect(volume.volume_context).toEqual({ array: "vsp1" });
    const ldev = ldevIn(h.t, ldevIdOf(volume.volume_id));
    expect(ldev?.blockCapacity).toBe(bytes / 512);
    expect(ldev?.label).toBe(volumeLabel(DRIVER_NAME, "pvc-size"));
    expect(ldev?.poolId).toBe(0);
  });

  it("is idempotent by name: the same volume, one labelled LDEV on the array", async () => {
    const first = await createVolume(h.controller, "pvc-idem");
    const second = await createVolume(h.controller, "pvc-idem");
    expect(second).toEqual(first);
    expect(labelled("pvc-idem")).toHaveLength(1);
    expect(allLdevs(h.t)).toHaveLength(1);
  });

  it("refuses the same name with an incompatible size or pool as ALREADY_EXISTS", async () => {
    await createVolume(h.controller, "pvc-clash");
    await expectStatus(
      createVolume(h.controller, "pvc-clash", { capacity_range: { required_bytes: String(10 * MIB) } }),
      status.ALREADY_EXISTS,
      /"pvc-clash" already exists but its size is 1048576 bytes/,
    );
    await expectStatus(
      createVolume(h.controller, "pvc-clash", { parameters: { pool: "1" } }),
      status.ALREADY_EXISTS,
      /it is in pool 0/,
    );
    expect(labelled("pvc-clash")).toHaveLength(1);
    expect(ldevIn(h.t, labelled("pvc-clash")[0]?.ldevId ?? -1)?.blockCapacity).toBe(MIB / 512);
  });

  it.each([
    ["128 ASCII bytes", "p".repeat(128)],
    ["128 bytes of 2-byte characters", "é".repeat(64)],
    ["Japanese and an emoji", "ボリューム-データ-😀"],
  ])("accepts a name of %s, idempotently", async (_what, name) => {
    const volume = await createVolume(h.controller, name);
    expect((await createVolume(h.controller, name)).volume_id).toBe(volume.volume_id);
    expect(labelled(name)).toHaveLength(1);
  });

  it.each([
    ["no name", { name: "" }, /name is required/],
    ["no capabilities", { volume_capabilities: [] }, /volume_capabilities are required/],
    ["no access mode", { volume_capabilities: [{ mount: {} }] }, /access_mode is required/],
    [
      "a filesystem shared for writing",
      { volume_capabilities: [{ access_mode: { mode: "MULTI_NODE_MULTI_WRITER" as const }, mount: {} }] },
      /MULTI_NODE_MULTI_WRITER is not supported for filesystem volumes/,
    ],
    [
      "an unknown filesystem",
      {
        volume_capabilities: [
          { access_mode: { mode: "SINGLE_NODE_WRITER" as const }, mount: { fs_type: "zfs" } },
        ],
      },
      /filesystem "zfs" is not supported/,
    ],
    ["an unknown StorageClass key", { parameters: { poool: "1" } }, /unknown key\(s\) "poool"/],
    ["pool x", { parameters: { pool: "x" } }, /pool: must be a non-negative integer/],
    ["dataReductionMode zip", { parameters: { dataReductionMode: "zip" } }, /dataReductionMode/],
    ["an unconfigured array", { parameters: { array: "vsp9" } }, /no array named "vsp9"/],
    ["an unknown mutable parameter", { mutable_parameters: { iops: "5" } }, /unknown key\(s\) "iops"/],
  ])("refuses %s as INVALID_ARGUMENT and creates nothing", async (_what, request, message) => {
    await expectStatus(createVolume(h.controller, "pvc-bad", request), status.INVALID_ARGUMENT, message);
    expect(allLdevs(h.t)).toEqual([]);
  });

  it("ignores the keys the Kubernetes sidecars add to the parameters", async () => {
    const parameters = { "csi.storage.k8s.io/pvc/name": "data", "csi.storage.k8s.io/pvc/namespace": "db" };
    const volume = await createVolume(h.controller, "pvc-sidecar", { parameters });
    expect(ldevIn(h.t, ldevIdOf(volume.volume_id))).toBeDefined();
  });

  it("creates the LDEV in the pool the StorageClass names, with its data reduction", async () => {
    const volume = await createVolume(h.controller, "pvc-pool1", {
      parameters: { pool: "1", dataReductionMode: "compression" },
    });
    expect(ldevIn(h.t, ldevIdOf(volume.volume_id))).toMatchObject({
      poolId: 1,
      dataReductionMode: "compression",
    });
  });

  it.each([
    ["a limit below one MiB", { limit_bytes: "1000" }, /whole MiB/],
    [
      "a required size that rounds above the limit",
      { required_bytes: "1000", limit_bytes: "1000" },
      /whole MiB/,
    ],
    ["more than 256 TiB", { required_bytes: String(257n * 1024n ** 4n) }, /256 TiB/],
  ])("answers OUT_OF_RANGE for %s", async (_what, range, message) => {
    await expectStatus(
      createVolume(h.controller, "pvc-range", { capacity_range: range }),
      status.OUT_OF_RANGE,
      message,
    );
    expect(allLdevs(h.t)).toEqual([]);
  });

  it("answers ABORTED to a concurrent duplicate while the first is still running, and ends with one volume", async () => {
    await h.t.admin("PUT", "/simulator/faults", { latencyMs: 100 });
    const results = await Promise.allSettled([
      createVolume(h.controller, "pvc-race"),
      createVolume(h.controller, "pvc-race"),
    ]);
    await h.t.admin("DELETE", "/simulator/faults");
    const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason as ServiceError] : []));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(errors.map((e) => status[e.code])).toEqual(["ABORTED"]);
    expect(errors[0]?.details).toContain("name:pvc-race");
    expect(labelled("pvc-race")).toHaveLength(1);
    // The sidecar's retry then gets the volume.
    expect((await createVolume(h.controller, "pvc-race")).volume_id).toContain(".v.");
  });

  it("answers RESOURCE_EXHAUSTED when the pool is full, leaving no LDEV behind, and works once it has room", async () => {
    await h.t.admin("PUT", "/simulator/faults", { poolFull: [0] });
    await expectStatus(createVolume(h.controller, "pvc-full"), status.RESOURCE_EXHAUSTED, /pool is full/);
    expect(allLdevs(h.t)).toEqual([]);
    await h.t.admin("DELETE", "/simulator/faults");
    await createVolume(h.controller, "pvc-full");
    expect(labelled("pvc-full")).toHaveLength(1);
  });

  it("applies mutable_parameters (VolumeAttributesClass) at creation", async () => {
    const volume = await createVolume(h.controller, "pvc-qos", {
      mutable_parameters: { upperIops: "1000", upperTransferRate: "200" },
    });
    expect(ldevIn(h.t, ldevIdOf(volume.volume_id))?.qos).toMatchObject({
      upperIops: 1000,
      upperTransferRate: 200,
    });
  });
});

describe("CreateVolume after a crash between 'create LDEV' and 'label it'", () => {
  it("adopts an empty unlabelled LDEV of the right size in the name's window", async () => {
    const { head } = windowOf("pvc-orphan");
    await restLdev(head, MIB);
    const naa = ldevIn(h.t, head)?.naaId;
    const volume = await createVolume(h.controller, "pvc-orphan");
    expect(ldevIdOf(volume.volume_id)).toBe(head);
    expect(ldevIn(h.t, head)).toMatchObject({ label: volumeLabel(DRIVER_NAME, "pvc-orphan"), naaId: naa });
    expect(allLdevs(h.t)).toHaveLength(1);
  });

  it("deletes an orphan of the wrong size and creates the volume anew", async () => {
    const { head } = windowOf("pvc-orphan");
    await restLdev(head, 2 * MIB);
    const naa = ldevIn(h.t, head)?.naaId;
    await resetRequests(h.t);
    const volume = await createVolume(h.controller, "pvc-orphan");
    expect(await restRequests(h.t)).toContain(`DELETE /ldevs/${head}`);
    expect(allLdevs(h.t)).toHaveLength(1);
    const ldev = ldevIn(h.t, ldevIdOf(volume.volume_id));
    expect(ldev?.blockCapacity).toBe(MIB / 512);
    expect(ldev?.naaId).not.toBe(naa);
  });

  it("never adopts an unlabelled LDEV holding data: it stays untouched, the volume goes elsewhere", async () => {
    const { head } = windowOf("pvc-orphan");
    await restLdev(head, MIB);
    await writeData(h.t, head, Buffer.alloc(4096, 0x5a));
    const volume = await createVolume(h.controller, "pvc-orphan");
    expect(ldevIdOf(volume.volume_id)).not.toBe(head);
    expect(ldevIn(h.t, head)).toMatchObject({ label: "", blockCapacity: MIB / 512 });
    expect(allLdevs(h.t)).toHaveLength(2);
  });

  it("never adopts an unlabelled LDEV with an LU path", async () => {
    const { head } = windowOf("pvc-orphan");
    await restLdev(head, MIB);
    const group = await h.t.job("POST", `${h.t.scoped}/host-groups`, {
      portId: "CL1-A",
      hostGroupName: "app-host",
    });
    const hostGroupNumber = Number(affectedId(group.body).split(",").at(-1));
    const lun = await h.t.job("POST", `${h.t.scoped}/luns`, {
      portId: "CL1-A",
      hostGroupNumber,
      ldevId: head,
    });
    expect(lun.body.state).toBe("Succeeded");
    const volume = await createVolume(h.controller, "pvc-orphan");
    expect(ldevIdOf(volume.volume_id)).not.toBe(head);
    expect(ldevIn(h.t, head)?.label).toBe("");
    expect(h.t.sim.core.state.luns.filter((l) => l.ldevId === head)).toHaveLength(1);
  });

  it("does not adopt an orphan whose data reduction differs from the StorageClass's, so a retry still succeeds", async () => {
    const { head } = windowOf("pvc-zip");
    await restLdev(head, MIB); // data reduction disabled, e.g. left by a PVC of another StorageClass
    const request = { parameters: { dataReductionMode: "compression" } };
    const volume = await createVolume(h.controller, "pvc-zip", request);
    expect(ldevIn(h.t, ldevIdOf(volume.volume_id))?.dataReductionMode).toBe("compression");
    // The provisioner's retry of the same request (its first answer was lost) must not be refused.
    expect((await createVolume(h.controller, "pvc-zip", request)).volume_id).toBe(volume.volume_id);
  });

  it("never adopts an unlabelled LDEV of another pool", async () => {
    const { head } = windowOf("pvc-orphan");
    await restLdev(head, MIB, 1);
    const volume = await createVolume(h.controller, "pvc-orphan");
    expect(ldevIdOf(volume.volume_id)).not.toBe(head);
    expect(ldevIn(h.t, head)).toMatchObject({ label: "", poolId: 1 });
  });
});

describe("DeleteVolume", () => {
  it("deletes the LDEV, and a repeated delete is OK", async () => {
    const volume = await createVolume(h.controller, "pvc-del");
    await call(h.controller, "DeleteVolume", { volume_id: volume.volume_id });
    expect(allLdevs(h.t)).toEqual([]);
    await call(h.controller, "DeleteVolume", { volume_id: volume.volume_id });
  });

  it("deletes a capacity-saving volume (the array wants the force flag for those)", async () => {
    const volume = await createVolume(h.controller, "pvc-drm", {
      parameters: { dataReductionMode: "compression" },
    });
    await call(h.controller, "DeleteVolume", { volume_id: volume.volume_id });
    expect(allLdevs(h.t)).toEqual([]);
  });

  const label = volumeLabel(DRIVER_NAME, "x");
  it.each([
    ["garbage", "fake-volume-id"],
    ["an unconfigured array", formatVolumeId({ storageDeviceId: "886000999999", ldevId: 5, label })],
    ["a free LDEV id", formatVolumeId({ storageDeviceId: "886000123456", ldevId: 5, label })],
  ])("answers OK for the id of %s", async (_what, volumeId) => {
    await createVolume(h.controller, "pvc-bystander");
    await call(h.controller, "DeleteVolume", { volume_id: volumeId });
    expect(labelled("pvc-bystander")).toHaveLength(1);
  });

  it("refuses an empty id as INVALID_ARGUMENT", async () => {
    await expectStatus(call(h.controller, "DeleteVolume", { volume_id: "" }), status.INVALID_ARGUMENT);
  });

  it("answers OK for a stale id whose LDEV number now holds another volume, and leaves that one alone", async () => {
    const old = await createVolume(h.controller, "pvc-old");
    const ldevId = ldevIdOf(old.volume_id);
    await call(h.controller, "DeleteVolume", { volume_id: old.volume_id });
    await restLdev(ldevId, MIB);
    const other = volumeLabel(DRIVER_NAME, "pvc-new");
    const res = await h.t.job("PATCH", `${h.t.scoped}/ldevs/${ldevId}`, { label: other });
    expect(res.body.state).toBe("Succeeded");
    await call(h.controller, "DeleteVolume", { volume_id: old.volume_id });
    expect(ldevIn(h.t, ldevId)?.label).toBe(other);
  });

  it("refuses a volume still mapped to a node as FAILED_PRECONDITION naming the mapping", async () => {
    const volume = await createVolume(h.controller, "pvc-mapped");
    const node = fcNode("worker-1");
    await call(h.controller, "ControllerPublishVolume", {
      volume_id: volume.volume_id,
      node_id: node,
      volume_capability: MOUNT_RWO,
    });
    await expectStatus(
      call(h.controller, "DeleteVolume", { volume_id: volume.volume_id }),
      status.FAILED_PRECONDITION,
      /mapped to hosts \(CL1-A\/k8s-worker-1, CL2-A\/k8s-worker-1\); unpublish it first/,
    );
    expect(ldevIn(h.t, ldevIdOf(volume.volume_id))).toBeDefined();
    await call(h.controller, "ControllerUnpublishVolume", { volume_id: volume.volume_id, node_id: node });
    await call(h.controller, "DeleteVolume", { volume_id: volume.volume_id });
    expect(allLdevs(h.t)).toEqual([]);
  });

  it("refuses a volume in a Thin Image pair as FAILED_PRECONDITION and keeps the LDEV", async () => {
    const volume = await createVolume(h.controller, "pvc-snapped");
    const pvolLdevId = ldevIdOf(volume.volume_id);
    const snap = await h.t.job("POST", `${h.t.short}/snapshots`, {
      snapshotGroupName: "backup-1",
      snapshotPoolId: 0,
      pvolLdevId,
      autoSplit: true,
    });
    expect(snap.body.state, JSON.stringify(snap.body.error)).toBe("Succeeded");
    await expectStatus(
      call(h.controller, "DeleteVolume", { volume_id: volume.volume_id }),
      status.FAILED_PRECONDITION,
      /snapshots/,
    );
    expect(ldevIn(h.t, pvolLdevId)).toBeDefined();
  });
});

describe("ListVolumes", () => {
  it("pages through 7 volumes with max_entries, each exactly once in LDEV order, skipping others' LDEVs", async () => {
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await createVolume(h.controller, `pvc-list-${i}`));
    // Not ours: an unlabelled LDEV and one with a Cinder-style label, both in the range.
    await restLdev(60000, MIB);
    await restLdev(60001, MIB);
    await h.t.job("PATCH", `${h.t.scoped}/ldevs/60001`, { label: "0123456789abcdef0123456789abcdef" });
    const expected = created.map((v) => v.volume_id).sort((a, b) => ldevIdOf(a) - ldevIdOf(b));

    const seen: string[] = [];
    const tokens: string[] = [];
    let token = "";
    do {
      const page = await call(h.controller, "ListVolumes", { max_entries: 3, starting_token: token });
      expect(page.entries.length).toBeLessThanOrEqual(3);
      seen.push(...page.entries.map((e) => e.volume?.volume_id ?? ""));
      for (const e of page.entries) expect(e.volume?.capacity_bytes).toBe(String(MIB));
      token = page.next_token;
      tokens.push(token);
    } while (token !== "" && tokens.length < 10);
    expect(seen).toEqual(expected);
    expect(tokens).toHaveLength(3);
    expect(tokens.at(-1)).toBe("");

    const all = await call(h.controller, "ListVolumes", { max_entries: 0, starting_token: "" });
    expect(all.entries.map((e) => e.volume?.volume_id)).toEqual(expected);
    expect(all.next_token).toBe("");
  });

  it.each(["garbage", "7.0", "0.70000", "-1.5"])("answers ABORTED for the token %j", async (token) => {
    await expectStatus(
      call(h.controller, "ListVolumes", { max_entries: 2, starting_token: token }),
      status.ABORTED,
      /starting_token .* is not valid/,
    );
  });

  it("shows raw block volumes published to several nodes", async () => {
    const volume = await createVolume(h.controller, "pvc-shared", { volume_capabilities: [BLOCK_RWX] });
    for (const node of ["worker-1", "worker-2"]) {
      await call(h.controller, "ControllerPublishVolume", {
        volume_id: volume.volume_id,
        node_id: fcNode(node),
        volume_capability: BLOCK_RWX,
      });
    }
    const list = await call(h.controller, "ListVolumes", {});
    expect(list.entries[0]?.status?.published_node_ids).toEqual([fcNode("worker-1"), fcNode("worker-2")]);
  });
});

describe("CreateVolume when the name's window is full", () => {
  /** A driver over `range`, with every id of the name's window held by other volumes. */
  async function crowded(name: string, range = { start: 100, end: 399 }) {
    await h.stop();
    h = await startDriverHarness({ arrays: [{ ...FC_ARRAY, ldevRange: range }] });
    const window = windowOf(name);
    for (let id = window.head; id < window.head + window.count; id++) {
      await seedLdev(h.t.sim.core, id, MIB, { label: volumeLabel(DRIVER_NAME, `other-${id}`) });
    }
    return window;
  }

  it("answers RESOURCE_EXHAUSTED naming the window and the range, and creates nothing elsewhere", async () => {
    const window = await crowded("pvc-crowded");
    const before = allLdevs(h.t).length;
    await expectStatus(
      createVolume(h.controller, "pvc-crowded"),
      status.RESOURCE_EXHAUSTED,
      new RegExp(
        `no free LDEV id: the 64 ids this name may use \\(${window.head}-${window.head + 63}\\).*ldevRange \\(100-399\\)`,
      ),
    );
    expect(allLdevs(h.t)).toHaveLength(before);
    expect(labelled("pvc-crowded")).toEqual([]);
  });

  it("creates in the window once one of its ids is freed, and finds that volume again by name", async () => {
    const window = await crowded("pvc-crowded");
    const res = await h.t.job("DELETE", `${h.t.scoped}/ldevs/${window.head + 5}`);
    expect(res.body.state).toBe("Succeeded");
    const volume = await createVolume(h.controller, "pvc-crowded");
    expect(ldevIdOf(volume.volume_id)).toBe(window.head + 5);
    expect((await createVolume(h.controller, "pvc-crowded")).volume_id).toBe(volume.volume_id);
    expect(labelled("pvc-crowded")).toHaveLength(1);
  });

  it("answers RESOURCE_EXHAUSTED when the whole ldevRange is taken", async () => {
    await crowded("pvc-nofree", { start: 100, end: 115 });
    await expectStatus(
      createVolume(h.controller, "pvc-nofree"),
      status.RESOURCE_EXHAUSTED,
      /no free LDEV id/,
    );
    expect(labelled("pvc-nofree")).toEqual([]);
  });
});

describe("CreateVolume cost on a full array", () => {
  it("reads one window of 64 LDEVs whatever the array holds: 3 requests, the same at 10 and 3,000 LDEVs", async () => {
    const measure = async (name: string) => {
      await resetRequests(h.t);
      await createVolume(h.controller, name);
      const res = await h.t.admin("GET", "/simulator/requests");
      const log = res.body.data as { method: string; path: string; query?: string }[];
      return log.map((e) => `${e.method} ${e.path}${e.query === undefined ? "" : `?${e.query}`}`);
    };
    await createVolume(h.controller, "pvc-warm"); // logs the session in
    const few = await measure("pvc-few");
    for (let id = 20_000; id < 23_000; id++) await seedLdev(h.t.sim.core, id, MIB, { label: "other-tool" });
    const many = await measure("pvc-many");
    for (const requests of [few, many]) {
      expect(requests).toHaveLength(3);
      expect(requests[0]).toMatch(/^GET .*\/ldevs\?(?=.*headLdevId=\d+)(?=.*count=64)/);
      expect(requests[1]).toMatch(/^POST .*\/ldevs$/);
      expect(requests[2]).toMatch(/^PATCH .*\/ldevs\/\d+$/);
    }
  });
});
