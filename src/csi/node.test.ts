/**
 * The CSI Node service through gRPC on this machine (driver in mode "all", sim transport: real
 * loop devices, mkfs and mounts): identity, idempotency and conflicts, NOT_FOUND for paths that are
 * not the volume's, request validation. Data, snapshots, growth and raw block: src/node/e2e.test.ts.
 * Device discovery for fc and iscsi (fake sysfs): src/node/devices/*.test.ts.
 */
import { execFile } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { formatNodeId } from "../driver/node-id.js";
import { simWwpn } from "../node/initiators.js";
import { allMounts } from "../node/mounts.js";
import { hostSupport, loopsOver, startNodeHarness } from "../node/test-support/node-harness.js";
import type { NodeHarness } from "../node/test-support/node-harness.js";
import { ext4, mountsUnder, nodeKit, publishReq, stageReq } from "../node/test-support/node-kit.js";
import { call } from "./test-support/clients.js";
import { expectStatus } from "./test-support/driver-harness.js";

const exec = promisify(execFile);
const support = hostSupport();
if (support !== undefined) console.warn(`SKIPPING the node plugin host tests: ${support}`);

let h: NodeHarness;
const k = nodeKit(() => h);

describe.skipIf(support !== undefined)(
  `CSI Node service on this host${support ? ` — SKIPPED: ${support}` : ""}`,
  () => {
    beforeEach(async () => {
      h = await startNodeHarness({
        node: { maxVolumesPerNode: 16 },
        logLevel: process.env.NODE_TEST_LOG ?? "silent",
      });
    });
    afterEach(async () => {
      await h.stop();
    });

    describe("NodeGetInfo and NodeGetCapabilities", () => {
      it("reports the node id with its initiators, the volume limit and no topology", async () => {
        const info = await call(h.clients.node, "NodeGetInfo", {});
        expect(info.node_id).toBe(formatNodeId({ nodeName: "node-1", wwpns: [simWwpn("node-1")] }));
        expect(info.max_volumes_per_node).toBe("16");
        expect(info.accessible_topology).toBeNull();
      });

      it("advertises stage, stats, expand and single-node multi-writer, and not VOLUME_MOUNT_GROUP", async () => {
        const res = await call(h.clients.node, "NodeGetCapabilities", {});
        expect(res.capabilities.map((c) => c.rpc?.type).sort()).toEqual([
          "EXPAND_VOLUME",
          "GET_VOLUME_STATS",
          "SINGLE_NODE_MULTI_WRITER",
          "STAGE_UNSTAGE_VOLUME",
        ]);
      });
    });

    describe("idempotency and conflicts", () => {
      it("stages and publishes twice with the same capability without a second mount", async () => {
        const v = await k.provision("pvc-twice", ext4());
        await k.stageAndPublish(v, ext4());
        await k.stageAndPublish(v, ext4());
        const mounts = await mountsUnder(h.dir);
        expect(mounts.filter((m) => m === v.staging)).toHaveLength(1);
        expect(mounts.filter((m) => m === v.target)).toHaveLength(1);
        await k.unpublishAndUnstage(v);
        await k.unpublishAndUnstage(v); // already gone: OK
      });

      it("answers ALREADY_EXISTS for a different capability at the same path", async () => {
        const v = await k.provision("pvc-cap", ext4());
        await k.stageAndPublish(v, ext4());
        await expectStatus(
          call(h.clients.node, "NodeStageVolume", stageReq(v, ext4("SINGLE_NODE_WRITER", ["noatime"]))),
          status.ALREADY_EXISTS,
        );
        await expectStatus(
          call(h.clients.node, "NodePublishVolume", publishReq(v, ext4(), { readonly: true })),
          status.ALREADY_EXISTS,
        );
        await k.unpublishAndUnstage(v);
      });

      it("refuses a staging path another volume occupies, and a second staging path for one volume", async () => {
        const a = await k.provision("pvc-a", ext4());
        const b = await k.provision("pvc-b", ext4());
        await call(h.clients.node, "NodeStageVolume", stageReq(a, ext4()));
        await expectStatus(
          call(h.clients.node, "NodeStageVolume", { ...stageReq(b, ext4()), staging_target_path: a.staging }),
          status.FAILED_PRECONDITION,
          /in use by another device/,
        );
        expect(await loopsOver(h.ldevFile(b.ldevId))).toEqual([]); // b's attach was undone
        // Unstaging b "there" succeeds (nothing of b is staged) and leaves a's mount alone.
        await call(h.clients.node, "NodeUnstageVolume", {
          volume_id: b.volumeId,
          staging_target_path: a.staging,
        });
        expect(await mountsUnder(h.dir)).toEqual([a.staging]);
        await expectStatus(
          call(h.clients.node, "NodeStageVolume", { ...stageReq(a, ext4()), staging_target_path: b.staging }),
          status.FAILED_PRECONDITION,
          /already staged at/,
        );
        await call(h.clients.node, "NodeUnstageVolume", {
          volume_id: a.volumeId,
          staging_target_path: a.staging,
        });
      });

      it("allows one target for SINGLE_NODE_SINGLE_WRITER and several for SINGLE_NODE_MULTI_WRITER", async () => {
        const single = ext4("SINGLE_NODE_SINGLE_WRITER");
        const v = await k.provision("pvc-snsw", single);
        await k.stageAndPublish(v, single);
        const other = join(h.dir, "other-target");
        await expectStatus(
          call(h.clients.node, "NodePublishVolume", publishReq(v, single, { target_path: other })),
          status.FAILED_PRECONDITION,
        );
        await k.unpublishAndUnstage(v);

        const multi = ext4("SINGLE_NODE_MULTI_WRITER");
        const w = await k.provision("pvc-snmw", multi);
        await k.stageAndPublish(w, multi);
        await call(h.clients.node, "NodePublishVolume", publishReq(w, multi, { target_path: other }));
        await writeFile(join(other, "shared"), "one filesystem");
        expect(await readFile(join(w.target, "shared"), "utf8")).toBe("one filesystem");
        await call(h.clients.node, "NodeUnpublishVolume", { volume_id: w.volumeId, target_path: other });
        await k.unpublishAndUnstage(w);
      });

      it("refuses to publish an unstaged volume and to unstage a published one", async () => {
        const v = await k.provision("pvc-order", ext4());
        await expectStatus(
          call(h.clients.node, "NodePublishVolume", publishReq(v, ext4())),
          status.FAILED_PRECONDITION,
        );
        await k.stageAndPublish(v, ext4());
        await expectStatus(
          call(h.clients.node, "NodeUnstageVolume", {
            volume_id: v.volumeId,
            staging_target_path: v.staging,
          }),
          status.FAILED_PRECONDITION,
          /still published/,
        );
        expect(await mountsUnder(h.dir)).toEqual(expect.arrayContaining([v.staging, v.target]));
        await k.unpublishAndUnstage(v);
        expect(await mountsUnder(h.dir)).toEqual([]);
      });

      it("answers ABORTED to a concurrent duplicate stage, and the first one completes", async () => {
        const v = await k.provision("pvc-race", ext4());
        const results = await Promise.allSettled([
          call(h.clients.node, "NodeStageVolume", stageReq(v, ext4())),
          call(h.clients.node, "NodeStageVolume", stageReq(v, ext4())),
        ]);
        const codes = results.map((r) =>
          r.status === "fulfilled" ? "OK" : status[(r.reason as { code: number }).code],
        );
        expect(codes.sort()).toEqual(["ABORTED", "OK"]);
        expect(await mountsUnder(h.dir)).toEqual([v.staging]);
        await call(h.clients.node, "NodeUnstageVolume", {
          volume_id: v.volumeId,
          staging_target_path: v.staging,
        });
      });

      it("never takes a loop device left over a deleted LDEV file for the volume now at that LDEV", async () => {
        const v = await k.provision("pvc-reuse", ext4());
        const file = h.ldevFile(v.ldevId);
        // A stale loop device over the old inode, then the LDEV's file replaced (the LDEV number reused).
        const { stdout } = await exec("losetup", ["--find", "--show", file]);
        const stale = stdout.trim();
        const size = (await stat(file)).size;
        await exec("rm", [file]);
        await exec("truncate", ["-s", String(size), file]);
        await call(h.clients.node, "NodeStageVolume", stageReq(v, ext4()));
        const staged = (await allMounts()).find((m) => m.mountPoint === v.staging);
        expect(staged?.source).not.toBe(stale);
        expect(await loopsOver(file)).toEqual([staged?.source]);
        await call(h.clients.node, "NodeUnstageVolume", {
          volume_id: v.volumeId,
          staging_target_path: v.staging,
        });
        await exec("losetup", ["-d", stale]);
      });
    });

    describe("stats and expand of paths that are not the volume's", () => {
      it("answers NOT_FOUND for an unknown volume, another volume's path, and a path that is not mounted", async () => {
        const a = await k.provision("pvc-x", ext4());
        const b = await k.provision("pvc-y", ext4());
        await k.stageAndPublish(a, ext4());
        const { node } = h.clients;
        await expectStatus(
          call(node, "NodeGetVolumeStats", {
            volume_id: "1.886000123456.v.4321.cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            volume_path: a.target,
          }),
          status.NOT_FOUND,
        );
        await expectStatus(
          call(node, "NodeGetVolumeStats", { volume_id: b.volumeId, volume_path: a.target }),
          status.NOT_FOUND,
        );
        await expectStatus(
          call(node, "NodeGetVolumeStats", { volume_id: a.volumeId, volume_path: "/some/path" }),
          status.NOT_FOUND,
        );
        await expectStatus(
          call(node, "NodeExpandVolume", { volume_id: a.volumeId, volume_path: "/some/path" }),
          status.NOT_FOUND,
        );
        await expectStatus(
          call(node, "NodeExpandVolume", { volume_id: b.volumeId, volume_path: a.target }),
          status.NOT_FOUND,
        );
        await k.unpublishAndUnstage(a);
        await expectStatus(
          call(node, "NodeGetVolumeStats", { volume_id: a.volumeId, volume_path: a.target }),
          status.NOT_FOUND,
        );
      });
    });

    describe("request validation", () => {
      const cap = ext4();
      const cases: [string, string, Record<string, unknown>, RegExp][] = [
        [
          "NodeStageVolume",
          "no volume id",
          { staging_target_path: "/x", volume_capability: cap },
          /volume_id/,
        ],
        [
          "NodeStageVolume",
          "no staging path",
          { volume_id: "v", volume_capability: cap },
          /staging_target_path/,
        ],
        [
          "NodeStageVolume",
          "no capability",
          { volume_id: "v", staging_target_path: "/x" },
          /volume_capability/,
        ],
        [
          "NodeStageVolume",
          "an unsupported filesystem",
          {
            volume_id: "v",
            staging_target_path: "/x",
            volume_capability: { access_mode: { mode: "SINGLE_NODE_WRITER" }, mount: { fs_type: "ntfs" } },
          },
          /ntfs/,
        ],
        [
          "NodeStageVolume",
          "a mount group (VOLUME_MOUNT_GROUP is not served)",
          {
            volume_id: "v",
            staging_target_path: "/x",
            volume_capability: {
              access_mode: { mode: "SINGLE_NODE_WRITER" },
              mount: { volume_mount_group: "2000" },
            },
          },
          /volume_mount_group/,
        ],
        ["NodeUnstageVolume", "no volume id", { staging_target_path: "/x" }, /volume_id/],
        ["NodeUnstageVolume", "no staging path", { volume_id: "v" }, /staging_target_path/],
        ["NodePublishVolume", "no volume id", { target_path: "/t" }, /volume_id/],
        ["NodePublishVolume", "no target path", { volume_id: "v" }, /target_path/],
        ["NodePublishVolume", "no capability", { volume_id: "v", target_path: "/t" }, /volume_capability/],
        [
          "NodePublishVolume",
          "no staging path",
          { volume_id: "v", target_path: "/t", volume_capability: cap },
          /staging_target_path/,
        ],
        ["NodeUnpublishVolume", "no volume id", { target_path: "/t" }, /volume_id/],
        ["NodeUnpublishVolume", "no target path", { volume_id: "v" }, /target_path/],
        ["NodeGetVolumeStats", "no volume id", { volume_path: "/p" }, /volume_id/],
        ["NodeGetVolumeStats", "no volume path", { volume_id: "v" }, /volume_path/],
        ["NodeExpandVolume", "no volume id", { volume_path: "/p" }, /volume_id/],
        ["NodeExpandVolume", "no volume path", { volume_id: "v" }, /volume_path/],
      ];
      it.each(cases)("%s with %s is INVALID_ARGUMENT", async (rpc, _what, req, message) => {
        const node = h.clients.node as unknown as Record<string, unknown>;
        await expectStatus(call(node, rpc, req as never), status.INVALID_ARGUMENT, message);
      });

      it("refuses a publish context whose LDEV is not the volume's", async () => {
        const v = await k.provision("pvc-ctx", ext4());
        await expectStatus(
          call(h.clients.node, "NodeStageVolume", {
            ...stageReq(v, ext4()),
            publish_context: { ...v.context, ldevId: String(v.ldevId + 1) },
          }),
          status.INVALID_ARGUMENT,
          /ldevId/,
        );
        expect(await loopsOver(h.ldevFile(v.ldevId))).toEqual([]);
      });
    });
  },
);
