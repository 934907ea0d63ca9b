/**
 * The CSI Controller service end to end: the configuration loaded as the binary loads it, the
 * driver built by buildDriver, served over gRPC on a unix socket, against the in-process simulator.
 * CreateVolume/DeleteVolume/ListVolumes: src/driver/volumes.test.ts; publish: src/driver/publish.test.ts.
 */
import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { call } from "./test-support/clients.js";
import {
  BLOCK_RWO,
  BLOCK_RWX,
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
  writeData,
} from "./test-support/driver-harness.js";
import type { DriverHarness } from "./test-support/driver-harness.js";
import type { VolumeCapability } from "./generated/csi/v1/VolumeCapability.js";

let h: DriverHarness;

beforeEach(async () => {
  h = await startDriverHarness();
});
afterEach(async () => {
  await h.stop();
});

const GONE = "1.886000123456.v.4321.cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

describe("capabilities", () => {
  it("advertises every volume RPC the driver serves, each once", async () => {
    const res = await call(h.controller, "ControllerGetCapabilities", {});
    const types = res.capabilities.map((c) => c.rpc?.type);
    // Snapshot capabilities come with the snapshot work; the volume ones must all be there.
    expect(types).toEqual(
      expect.arrayContaining([
        "CREATE_DELETE_VOLUME",
        "PUBLISH_UNPUBLISH_VOLUME",
        "LIST_VOLUMES",
        "GET_CAPACITY",
        "EXPAND_VOLUME",
        "LIST_VOLUMES_PUBLISHED_NODES",
        "GET_VOLUME",
        "PUBLISH_READONLY",
        "MODIFY_VOLUME",
        "SINGLE_NODE_MULTI_WRITER",
      ]),
    );
    expect(new Set(types).size).toBe(types.length);
    expect(types).not.toContain("UNKNOWN");
  });

  it("advertises the controller and group controller services and online expansion, and is ready once the array answers", async () => {
    const res = await call(h.identity, "GetPluginCapabilities", {});
    expect(res.capabilities.map((c) => c.service?.type ?? c.volume_expansion?.type)).toEqual([
      "CONTROLLER_SERVICE",
      "ONLINE",
      "GROUP_CONTROLLER_SERVICE",
    ]);
    expect(await call(h.identity, "GetPluginInfo", {})).toMatchObject({ name: "csi.vsp-csi.dev" });
    expect((await call(h.identity, "Probe", {})).ready).toEqual({ value: true });
  });
});

describe("ControllerExpandVolume", () => {
  it("grows the LDEV; a raw block volume needs no node expansion", async () => {
    const volume = await createVolume(h.controller, "pvc-grow", { volume_capabilities: [BLOCK_RWO] });
    const res = await call(h.controller, "ControllerExpandVolume", {
      volume_id: volume.volume_id,
      capacity_range: { required_bytes: String(10 * MIB + 1) },
      volume_capability: BLOCK_RWO,
    });
    expect(res).toEqual({ capacity_bytes: String(11 * MIB), node_expansion_required: false });
    expect(ldevIn(h.t, ldevIdOf(volume.volume_id))?.blockCapacity).toBe((11 * MIB) / 512);
  });

  it("asks the node to grow a filesystem", async () => {
    const volume = await createVolume(h.controller, "pvc-grow");
    const res = await call(h.controller, "ControllerExpandVolume", {
      volume_id: volume.volume_id,
      capacity_range: { required_bytes: String(4 * MIB) },
      volume_capability: MOUNT_RWO,
    });
    expect(res).toEqual({ capacity_bytes: String(4 * MIB), node_expansion_required: true });
  });

  it("answers the current size for a smaller or equal request without changing the array", async () => {
    const volume = await createVolume(h.controller, "pvc-grow", {
      capacity_range: { required_bytes: String(8 * MIB) },
      volume_capabilities: [BLOCK_RWO],
    });
    await resetRequests(h.t);
    for (const bytes of [2 * MIB, 8 * MIB]) {
      const res = await call(h.controller, "ControllerExpandVolume", {
        volume_id: volume.volume_id,
        capacity_range: { required_bytes: String(bytes) },
        volume_capability: BLOCK_RWO,
      });
      expect(res.capacity_bytes).toBe(String(8 * MIB));
    }
    expect((await restRequests(h.t)).filter((r) => !r.startsWith("GET "))).toEqual([]);
    expect(ldevIn(h.t, ldevIdOf(volume.volume_id))?.blockCapacity).toBe((8 * MIB) / 512);
  });

  it("grows a volume that has a Thin Image snapshot", async () => {
    const volume = await createVolume(h.controller, "pvc-snapped", { volume_capabilities: [BLOCK_RWO] });
    const pvolLdevId = ldevIdOf(volume.volume_id);
    const snap = await h.t.job("POST", `${h.t.short}/snapshots`, {
      snapshotGroupName: "backup-1",
      snapshotPoolId: 0,
      pvolLdevId,
      autoSplit: true,
    });
    expect(snap.body.state, JSON.stringify(snap.body.error)).toBe("Succeeded");
    const res = await call(h.controller, "ControllerExpandVolume", {
      volume_id: volume.volume_id,
      capacity_range: { required_bytes: String(4 * MIB) },
      volume_capability: BLOCK_RWO,
    });
    expect(res.capacity_bytes).toBe(String(4 * MIB));
    expect(ldevIn(h.t, pvolLdevId)?.blockCapacity).toBe((4 * MIB) / 512);
  });

  it("answers NOT_FOUND for an unknown volume and INVALID_ARGUMENT without a range", async () => {
    const range = { required_bytes: String(MIB) };
    await expectStatus(
      call(h.controller, "ControllerExpandVolume", { volume_id: GONE, capacity_range: range }),
      status.NOT_FOUND,
      /does not exist/,
    );
    const volume = await createVolume(h.controller, "pvc-grow");
    await expectStatus(
      call(h.controller, "ControllerExpandVolume", { volume_id: volume.volume_id }),
      status.INVALID_ARGUMENT,
      /capacity_range is required/,
    );
  });
});

describe("ControllerModifyVolume", () => {
  it("sets the QoS limit and the data reduction the VolumeAttributesClass asks for", async () => {
    const volume = await createVolume(h.controller, "pvc-mod");
    await call(h.controller, "ControllerModifyVolume", {
      volume_id: volume.volume_id,
      mutable_parameters: { upperIops: "5000", dataReductionMode: "compression" },
    });
    expect(ldevIn(h.t, ldevIdOf(volume.volume_id))).toMatchObject({
      qos: { upperIops: 5000 },
      dataReductionMode: "compression",
    });
  });

  it.each([
    ["an unknown key", { maxIops: "5" }, /unknown key\(s\) "maxIops"/],
    ["a negative limit", { upperIops: "-1" }, /upperIops: must be a non-negative integer/],
    ["an unknown data reduction", { dataReductionMode: "zip" }, /dataReductionMode/],
  ])("refuses %s as INVALID_ARGUMENT and changes nothing", async (_what, mutable, message) => {
    const volume = await createVolume(h.controller, "pvc-mod");
    await expectStatus(
      call(h.controller, "ControllerModifyVolume", {
        volume_id: volume.volume_id,
        mutable_parameters: mutable,
      }),
      status.INVALID_ARGUMENT,
      message,
    );
    expect(ldevIn(h.t, ldevIdOf(volume.volume_id))?.qos ?? {}).toEqual({});
  });

  it("answers NOT_FOUND for an unknown volume", async () => {
    await expectStatus(
      call(h.controller, "ControllerModifyVolume", {
        volume_id: GONE,
        mutable_parameters: { upperIops: "1" },
      }),
      status.NOT_FOUND,
    );
  });
});

describe("GetCapacity", () => {
  async function poolFreeBytes(poolId: number): Promise<string> {
    const res = await h.t.req("GET", `${h.t.scoped}/pools/${poolId}`);
    expect(res.status).toBe(200);
    return String(BigInt(res.body.availableVolumeCapacity as number) * BigInt(MIB));
  }

  it("reports the pool's free capacity in bytes, per pool, and follows writes", async () => {
    const before = await call(h.controller, "GetCapacity", { volume_capabilities: [MOUNT_RWO] });
    expect(before.available_capacity).toBe(await poolFreeBytes(0));
    expect(before.maximum_volume_size).toEqual({ value: String(256n * 1024n ** 4n) });
    const pool1 = await call(h.controller, "GetCapacity", { parameters: { pool: "1" } });
    expect(pool1.available_capacity).toBe(await poolFreeBytes(1));
    expect(pool1.available_capacity).not.toBe(before.available_capacity);

    // Thin provisioning: a new volume takes no pages, written data does.
    const volume = await createVolume(h.controller, "pvc-cap", {
      capacity_range: { required_bytes: String(100 * MIB) },
    });
    const afterCreate = await call(h.controller, "GetCapacity", {});
    expect(afterCreate.available_capacity).toBe(await poolFreeBytes(0));
    await writeData(h.t, ldevIdOf(volume.volume_id), Buffer.alloc(MIB, 1));
    const afterWrite = await call(h.controller, "GetCapacity", {});
    expect(afterWrite.available_capacity).toBe(await poolFreeBytes(0));
    expect(BigInt(afterWrite.available_capacity)).toBeLessThan(BigInt(afterCreate.available_capacity));
  });

  it("reports 0 for capabilities the driver cannot serve", async () => {
    const cap: VolumeCapability = { access_mode: { mode: "MULTI_NODE_MULTI_WRITER" }, mount: {} };
    const res = await call(h.controller, "GetCapacity", { volume_capabilities: [cap] });
    expect(res.available_capacity).toBe("0");
  });

  it("refuses a bad StorageClass parameter as INVALID_ARGUMENT", async () => {
    await expectStatus(
      call(h.controller, "GetCapacity", { parameters: { pool: "x" } }),
      status.INVALID_ARGUMENT,
      /pool/,
    );
  });
});

describe("ValidateVolumeCapabilities", () => {
  it("confirms a single-writer ext4 filesystem, echoing what it confirmed", async () => {
    const volume = await createVolume(h.controller, "pvc-val");
    const res = await call(h.controller, "ValidateVolumeCapabilities", {
      volume_id: volume.volume_id,
      volume_capabilities: [MOUNT_RWO],
      volume_context: volume.volume_context,
    });
    expect(res.message).toBe("");
    expect(res.confirmed?.volume_capabilities).toHaveLength(1);
    expect(res.confirmed?.volume_capabilities[0]).toMatchObject({
      access_mode: { mode: "SINGLE_NODE_WRITER" },
      mount: { fs_type: "ext4" },
    });
    expect(res.confirmed?.volume_context).toEqual({ array: "vsp1" });
  });

  it("does not confirm a filesystem shared for writing, and says why", async () => {
    const volume = await createVolume(h.controller, "pvc-val");
    const cap: VolumeCapability = { access_mode: { mode: "MULTI_NODE_MULTI_WRITER" }, mount: {} };
    const res = await call(h.controller, "ValidateVolumeCapabilities", {
      volume_id: volume.volume_id,
      volume_capabilities: [MOUNT_RWO, cap],
    });
    expect(res.confirmed).toBeNull();
    expect(res.message).toMatch(/MULTI_NODE_MULTI_WRITER is not supported for filesystem volumes/);
  });

  it("confirms a multi-writer raw block volume", async () => {
    const volume = await createVolume(h.controller, "pvc-val", { volume_capabilities: [BLOCK_RWX] });
    const res = await call(h.controller, "ValidateVolumeCapabilities", {
      volume_id: volume.volume_id,
      volume_capabilities: [BLOCK_RWX],
    });
    expect(res.confirmed).not.toBeNull();
  });

  it("answers NOT_FOUND for an unknown volume and INVALID_ARGUMENT without capabilities", async () => {
    await expectStatus(
      call(h.controller, "ValidateVolumeCapabilities", { volume_id: GONE, volume_capabilities: [MOUNT_RWO] }),
      status.NOT_FOUND,
    );
    await expectStatus(
      call(h.controller, "ValidateVolumeCapabilities", { volume_id: GONE, volume_capabilities: [] }),
      status.INVALID_ARGUMENT,
    );
  });
});

describe("ControllerGetVolume", () => {
  it("answers the volume, its size and the nodes it is published to", async () => {
    const volume = await createVolume(h.controller, "pvc-get", { volume_capabilities: [BLOCK_RWX] });
    for (const node of ["worker-2", "worker-1"]) {
      await call(h.controller, "ControllerPublishVolume", {
        volume_id: volume.volume_id,
        node_id: fcNode(node),
        volume_capability: BLOCK_RWX,
      });
    }
    const res = await call(h.controller, "ControllerGetVolume", { volume_id: volume.volume_id });
    expect(res.volume).toMatchObject({ volume_id: volume.volume_id, capacity_bytes: String(MIB) });
    expect(res.status?.published_node_ids).toEqual([fcNode("worker-1"), fcNode("worker-2")]);
    expect(res.status?.volume_condition?.abnormal).toBe(false);
  });

  it("answers NOT_FOUND for a deleted volume", async () => {
    const volume = await createVolume(h.controller, "pvc-get");
    await call(h.controller, "DeleteVolume", { volume_id: volume.volume_id });
    await expectStatus(
      call(h.controller, "ControllerGetVolume", { volume_id: volume.volume_id }),
      status.NOT_FOUND,
    );
  });
});

describe("REST calls per CSI call", () => {
  /** Measured on the simulator, pinned as upper bounds: a change that adds array round trips shows here. */
  const BOUNDS = {
    create: 3,
    publishFresh: 12,
    publishRepeat: 1,
    publishKnownNode: 5,
    unpublish: 3,
    delete: 2,
  };

  it("stays within the measured number of array requests", async () => {
    await call(h.controller, "GetCapacity", {}); // logs the session in: steady state from here
    const counts: Record<string, number> = {};
    const detail: Record<string, string[]> = {};
    async function measure(step: keyof typeof BOUNDS, run: () => Promise<unknown>): Promise<void> {
      await resetRequests(h.t);
      await run();
      detail[step] = await restRequests(h.t);
      counts[step] = detail[step].length;
    }
    let volumeId = "";
    const node = fcNode("worker-1");
    const publishReq = () => ({ volume_id: volumeId, node_id: node, volume_capability: MOUNT_RWO });
    await measure("create", async () => {
      volumeId = (await createVolume(h.controller, "pvc-count")).volume_id;
    });
    await measure("publishFresh", () => call(h.controller, "ControllerPublishVolume", publishReq()));
    await measure("publishRepeat", () => call(h.controller, "ControllerPublishVolume", publishReq()));
    const other = (await createVolume(h.controller, "pvc-count-2")).volume_id;
    await measure("publishKnownNode", () =>
      call(h.controller, "ControllerPublishVolume", { ...publishReq(), volume_id: other }),
    );
    await measure("unpublish", () =>
      call(h.controller, "ControllerUnpublishVolume", { volume_id: volumeId, node_id: node }),
    );
    await measure("delete", () => call(h.controller, "DeleteVolume", { volume_id: volumeId }));
    console.log(`REST requests per CSI call: ${JSON.stringify(counts)}\n${JSON.stringify(detail, null, 1)}`);
    for (const [step, bound] of Object.entries(BOUNDS)) {
      expect(counts[step], `${step}: ${JSON.stringify(detail[step])}`).toBeLessThanOrEqual(bound);
    }
  });
});
