/**
 * The node plugin end to end on this machine, through gRPC (driver in mode "all", sim transport):
 * real loop devices over the simulator's LDEV files, real mkfs, mounts, binds, resize and statfs.
 * Bytes written through a published volume are read back after unstage/stage, from a restored
 * snapshot, and from the LDEV's data itself. Every test leaves no mount and no loop device behind
 * (the harness removes whatever a failed test left).
 */
import { open, readFile, stat, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { call } from "../csi/test-support/clients.js";
import { expectStatus } from "../csi/test-support/driver-harness.js";
import { allMounts } from "./mounts.js";
import { fsTypeOf, hostSupport, loopsOver, startNodeHarness } from "./test-support/node-harness.js";
import type { NodeHarness } from "./test-support/node-harness.js";
import type { Provisioned } from "./test-support/node-kit.js";
import {
  MIB,
  block,
  canResizeExt4,
  exec,
  ext4,
  mountsUnder,
  nodeKit,
  publishReq,
  sha256,
  stageReq,
  xfs,
} from "./test-support/node-kit.js";

const support = hostSupport();
if (support !== undefined) console.warn(`SKIPPING the node plugin host tests: ${support}`);

let h: NodeHarness;
const k = nodeKit(() => h);

describe.skipIf(support !== undefined)(
  `node plugin end to end on this host${support ? ` — SKIPPED: ${support}` : ""}`,
  () => {
    beforeEach(async () => {
      h = await startNodeHarness({
        logLevel: process.env.NODE_TEST_LOG ?? "silent",
      });
    });
    afterEach(async () => {
      await h.stop();
    });

    describe("a filesystem volume", () => {
      it("is formatted once, mounted, bind-published, and keeps its bytes across unstage and stage", async () => {
        const v = await k.provision("pvc-data", ext4());
        const file = h.ldevFile(v.ldevId);
        await k.stageAndPublish(v, ext4());
        // The staging mount is a loop device over exactly this LDEV's data file.
        const [loop] = await loopsOver(file);
        expect(loop).toBeDefined();
        const staged = (await allMounts()).find((m) => m.mountPoint === v.staging);
        expect(staged).toMatchObject({ source: loop, fsType: "ext4" });
        expect(await fsTypeOf(file)).toBe("ext4");

        const data = Buffer.alloc(3 * MIB);
        for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
        await writeFile(join(v.target, "data.bin"), data);
        await k.unpublishAndUnstage(v);
        expect(await mountsUnder(h.dir)).toEqual([]);
        expect(await loopsOver(file)).toEqual([]);
        await expect(stat(v.target)).rejects.toThrow(/ENOENT/); // the plugin deletes what it created

        await k.stageAndPublish(v, ext4()); // no mkfs this time: the filesystem is there
        expect(sha256(await readFile(join(v.target, "data.bin")))).toBe(sha256(data));
        await k.unpublishAndUnstage(v);
      });

      it("reports real usage: bytes and inodes grow after writing files", async () => {
        const v = await k.provision("pvc-stats", ext4());
        await k.stageAndPublish(v, ext4());
        const stats = () =>
          call(h.clients.node, "NodeGetVolumeStats", { volume_id: v.volumeId, volume_path: v.target });
        const before = await stats();
        await writeFile(join(v.target, "a.bin"), Buffer.alloc(8 * MIB, 1));
        await exec("sync");
        const after = await stats();
        const bytes = (r: typeof before) => r.usage.find((u) => u.unit === "BYTES");
        const inodes = (r: typeof before) => r.usage.find((u) => u.unit === "INODES");
        expect(Number(bytes(after)?.used) - Number(bytes(before)?.used)).toBeGreaterThanOrEqual(8 * MIB);
        expect(Number(inodes(after)?.used)).toBe(Number(inodes(before)?.used) + 1);
        const fs = await statfs(v.target);
        expect(bytes(after)?.total).toBe(String(fs.blocks * fs.bsize));
        await k.unpublishAndUnstage(v);
      });

      // The kernel lets only CAP_SYS_RESOURCE grow ext4 online; without it the plugin must say so.
      it(`grows ext4 online: ControllerExpand then NodeExpand, and df shows the new size${canResizeExt4 ? "" : " — this host lacks CAP_SYS_RESOURCE: expects the clear refusal instead"}`, async () => {
        const v = await k.provision("pvc-grow", ext4());
        await k.stageAndPublish(v, ext4());
        await writeFile(join(v.target, "keep.txt"), "still here");
        const before = await statfs(v.target);
        const grown = await call(h.clients.controller, "ControllerExpandVolume", {
          volume_id: v.volumeId,
          capacity_range: { required_bytes: String(128 * MIB) },
          volume_capability: ext4(),
        });
        expect(grown.node_expansion_required).toBe(true);
        const expandReq = {
          volume_id: v.volumeId,
          volume_path: v.target,
          capacity_range: { required_bytes: String(128 * MIB) },
        };
        if (!canResizeExt4) {
          await expectStatus(
            call(h.clients.node, "NodeExpandVolume", expandReq),
            status.FAILED_PRECONDITION,
            /CAP_SYS_RESOURCE/,
          );
          await k.unpublishAndUnstage(v);
          return;
        }
        const res = await call(h.clients.node, "NodeExpandVolume", expandReq);
        expect(Number(res.capacity_bytes)).toBeGreaterThanOrEqual(128 * MIB);
        const after = await statfs(v.target);
        expect(after.blocks * after.bsize).toBeGreaterThan(before.blocks * before.bsize + 50 * MIB);
        expect(await readFile(join(v.target, "keep.txt"), "utf8")).toBe("still here");
        await k.unpublishAndUnstage(v);
      });

      it("makes xfs (with nouuid) and grows it online", async () => {
        const v = await k.provision("pvc-xfs", xfs, 320 * MIB);
        await k.stageAndPublish(v, xfs);
        const staged = (await allMounts()).find((m) => m.mountPoint === v.staging);
        expect(staged?.fsType).toBe("xfs");
        await writeFile(join(v.target, "x.txt"), "xfs data");
        await call(h.clients.controller, "ControllerExpandVolume", {
          volume_id: v.volumeId,
          capacity_range: { required_bytes: String(400 * MIB) },
          volume_capability: xfs,
        });
        const before = await statfs(v.target);
        await call(h.clients.node, "NodeExpandVolume", { volume_id: v.volumeId, volume_path: v.target });
        const after = await statfs(v.target);
        expect(after.blocks * after.bsize).toBeGreaterThan(before.blocks * before.bsize + 60 * MIB);
        expect(await readFile(join(v.target, "x.txt"), "utf8")).toBe("xfs data");
        await k.unpublishAndUnstage(v);
        expect(await loopsOver(h.ldevFile(v.ldevId))).toEqual([]);
      });

      it("refuses xfs on a volume too small for it, and leaves no loop device behind", async () => {
        const v = await k.provision("pvc-xfs-small", xfs, 64 * MIB);
        await expectStatus(
          call(h.clients.node, "NodeStageVolume", stageReq(v, xfs)),
          status.FAILED_PRECONDITION,
          /300 MiB/,
        );
        expect(await loopsOver(h.ldevFile(v.ldevId))).toEqual([]);
        expect(await mountsUnder(h.dir)).toEqual([]);
        // Nothing was staged, so unstage has nothing to do.
        await call(h.clients.node, "NodeUnstageVolume", {
          volume_id: v.volumeId,
          staging_target_path: v.staging,
        });
      });

      it("never formats over an existing filesystem of another type", async () => {
        const v = await k.provision("pvc-typed", ext4());
        await call(h.clients.node, "NodeStageVolume", stageReq(v, ext4()));
        await call(h.clients.node, "NodeUnstageVolume", {
          volume_id: v.volumeId,
          staging_target_path: v.staging,
        });
        await expectStatus(
          call(h.clients.node, "NodeStageVolume", stageReq(v, xfs)),
          status.FAILED_PRECONDITION,
          /already holds ext4/,
        );
        expect(await fsTypeOf(h.ldevFile(v.ldevId))).toBe("ext4");
        expect(await loopsOver(h.ldevFile(v.ldevId))).toEqual([]);
      });

      it("publishes read-only when asked: writes fail with EROFS", async () => {
        const v = await k.provision("pvc-ro", ext4());
        await call(h.clients.node, "NodeStageVolume", stageReq(v, ext4()));
        await call(h.clients.node, "NodePublishVolume", publishReq(v, ext4(), { readonly: true }));
        await expect(writeFile(join(v.target, "nope"), "x")).rejects.toThrow(/EROFS/);
        const mount = (await allMounts()).find((m) => m.mountPoint === v.target);
        expect(mount?.options.split(",")).toContain("ro");
        await k.unpublishAndUnstage(v);
      });

      it("passes the capability's mount flags to the staging mount", async () => {
        const v = await k.provision("pvc-flags", ext4("SINGLE_NODE_WRITER", ["noatime", "nodev"]));
        const cap = ext4("SINGLE_NODE_WRITER", ["noatime", "nodev"]);
        await call(h.clients.node, "NodeStageVolume", stageReq(v, cap));
        const mount = (await allMounts()).find((m) => m.mountPoint === v.staging);
        expect(mount?.options.split(",")).toEqual(expect.arrayContaining(["noatime", "nodev"]));
        await call(h.clients.node, "NodeUnstageVolume", {
          volume_id: v.volumeId,
          staging_target_path: v.staging,
        });
      });
    });

    describe("a volume restored from a snapshot", () => {
      it("reads the bytes written before the snapshot, while the source has moved on", async () => {
        const src = await k.provision("pvc-src", ext4());
        await k.stageAndPublish(src, ext4());
        const data = Buffer.alloc(2 * MIB);
        for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 40503 + 7) >>> 0, i);
        await writeFile(join(src.target, "db.bin"), data);
        const snapshotId = await k.frozenSnapshot(src, "snap-1");
        await writeFile(join(src.target, "db.bin"), Buffer.alloc(2 * MIB, 0xee)); // the source moves on

        const restored = await k.provision("pvc-restored", ext4(), 64 * MIB, snapshotId);
        expect(restored.ldevId).not.toBe(src.ldevId);
        await k.stageAndPublish(restored, ext4());
        expect(sha256(await readFile(join(restored.target, "db.bin")))).toBe(sha256(data));
        expect((await readFile(join(src.target, "db.bin")))[0]).toBe(0xee);
        await k.unpublishAndUnstage(restored);
        await k.unpublishAndUnstage(src);
        expect(await mountsUnder(h.dir)).toEqual([]);
      });

      it("mounts a restored xfs next to its source although both have the same UUID (nouuid)", async () => {
        const src = await k.provision("pvc-xfs-src", xfs, 320 * MIB);
        await k.stageAndPublish(src, xfs);
        await writeFile(join(src.target, "note.txt"), "before the snapshot");
        const snapshotId = await k.frozenSnapshot(src, "snap-xfs");
        const copy = await k.provision("pvc-xfs-restored", xfs, 320 * MIB, snapshotId);
        const uuid = async (v: Provisioned) =>
          (await exec("blkid", ["-p", "-s", "UUID", "-o", "value", h.ldevFile(v.ldevId)])).stdout.trim();
        expect(await uuid(copy)).toBe(await uuid(src));
        await k.stageAndPublish(copy, xfs);
        expect(await readFile(join(copy.target, "note.txt"), "utf8")).toBe("before the snapshot");
        await k.unpublishAndUnstage(copy);
        await k.unpublishAndUnstage(src);
      });
    });

    describe("a raw block volume", () => {
      it("is staged as a bind of the loop device, published as a file, and its bytes are the LDEV's", async () => {
        const v = await k.provision("pvc-block", block());
        const file = h.ldevFile(v.ldevId);
        await k.stageAndPublish(v, block());
        expect((await stat(v.target)).isBlockDevice()).toBe(true);
        const payload = Buffer.from("raw block bytes at 1 MiB");
        const handle = await open(v.target, "r+");
        await handle.write(payload, 0, payload.length, MIB);
        await handle.sync();
        await handle.close();
        expect(await fsTypeOf(file)).toBe(""); // no filesystem was made
        const stats = await call(h.clients.node, "NodeGetVolumeStats", {
          volume_id: v.volumeId,
          volume_path: v.target,
        });
        expect(stats.usage).toEqual([
          expect.objectContaining({ unit: "BYTES", total: String((await stat(file)).size) }),
        ]);
        await k.unpublishAndUnstage(v);
        expect(await loopsOver(file)).toEqual([]);
        await expect(stat(v.target)).rejects.toThrow(/ENOENT/);
        const onArray = await readFile(file);
        expect(onArray.subarray(MIB, MIB + payload.length)).toEqual(payload);
      });

      it("is read-only on the device itself while every publication is read-only", async () => {
        const v = await k.provision("pvc-block-ro", block("MULTI_NODE_MULTI_WRITER"));
        await call(h.clients.node, "NodeStageVolume", stageReq(v, block("MULTI_NODE_MULTI_WRITER")));
        await call(
          h.clients.node,
          "NodePublishVolume",
          publishReq(v, block("MULTI_NODE_MULTI_WRITER"), { readonly: true }),
        );
        // A read-only bind of a device node alone would not stop this write.
        await expect(
          exec("dd", ["if=/dev/zero", `of=${v.target}`, "bs=4096", "count=1", "conv=notrunc"]),
        ).rejects.toThrow(/Operation not permitted|Read-only/);
        const rw = `${v.target}-rw`;
        await call(
          h.clients.node,
          "NodePublishVolume",
          publishReq(v, block("MULTI_NODE_MULTI_WRITER"), { target_path: rw }),
        );
        await exec("dd", ["if=/dev/zero", `of=${rw}`, "bs=4096", "count=1", "conv=notrunc"]);
        await call(h.clients.node, "NodeUnpublishVolume", { volume_id: v.volumeId, target_path: rw });
        await expect(exec("blockdev", ["--getro", v.target])).resolves.toMatchObject({ stdout: "1\n" });
        await k.unpublishAndUnstage(v);
      });

      it("answers the size the device really has when NodeExpand comes without ControllerExpand", async () => {
        const v = await k.provision("pvc-no-ctl-expand", block());
        await k.stageAndPublish(v, block());
        const res = await call(h.clients.node, "NodeExpandVolume", {
          volume_id: v.volumeId,
          volume_path: v.target,
          capacity_range: { required_bytes: String(512 * MIB) },
        });
        expect(res.capacity_bytes).toBe(String((await stat(h.ldevFile(v.ldevId))).size));
        expect(Number(res.capacity_bytes)).toBeLessThan(512 * MIB);
        await k.unpublishAndUnstage(v);
      });

      it("expands: the device shows the new size, nothing else to grow", async () => {
        const v = await k.provision("pvc-block-grow", block());
        await k.stageAndPublish(v, block());
        await call(h.clients.controller, "ControllerExpandVolume", {
          volume_id: v.volumeId,
          capacity_range: { required_bytes: String(96 * MIB) },
          volume_capability: block(),
        });
        const res = await call(h.clients.node, "NodeExpandVolume", {
          volume_id: v.volumeId,
          volume_path: v.target,
        });
        const { stdout } = await exec("blockdev", ["--getsize64", v.target]);
        expect(res.capacity_bytes).toBe(stdout.trim());
        expect(Number(stdout)).toBeGreaterThanOrEqual(96 * MIB);
        await k.unpublishAndUnstage(v);
      });
    });
  },
);
