/**
 * Helpers for the node plugin's host tests (src/csi/node.test.ts, src/node/e2e.test.ts): volume
 * capabilities, provisioning through the controller, stage/publish request shapes. Not part of the
 * build.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";

import type { VolumeCapability } from "../../csi/generated/csi/v1/VolumeCapability.js";
import { call } from "../../csi/test-support/clients.js";
import { allMounts } from "../mounts.js";
import type { NodeHarness } from "./node-harness.js";

export const exec = promisify(execFile);
export const MIB = 1024 * 1024;

export const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

/** CAP_SYS_RESOURCE (bit 24) in this process's effective capabilities: the kernel asks for it to grow ext4 online. */
export const canResizeExt4 = (() => {
  try {
    const hex = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
    return ((BigInt(`0x${hex}`) >> 24n) & 1n) === 1n;
  } catch {
    return false;
  }
})();

export const ext4 = (mode = "SINGLE_NODE_WRITER", flags: string[] = []): VolumeCapability => ({
  access_mode: { mode: mode as "SINGLE_NODE_WRITER" },
  mount: { fs_type: "ext4", mount_flags: flags },
});
export const xfs: VolumeCapability = {
  access_mode: { mode: "SINGLE_NODE_WRITER" },
  mount: { fs_type: "xfs" },
};
export const block = (mode = "SINGLE_NODE_WRITER"): VolumeCapability => ({
  access_mode: { mode: mode as "SINGLE_NODE_WRITER" },
  block: {},
});

/** A volume created and ControllerPublished to the harness's node, with fresh kubelet-style paths. */
export interface Provisioned {
  volumeId: string;
  ldevId: number;
  context: Record<string, string>;
  staging: string;
  target: string;
}

export function stageReq(v: Provisioned, cap: VolumeCapability) {
  return {
    volume_id: v.volumeId,
    staging_target_path: v.staging,
    volume_capability: cap,
    publish_context: v.context,
  };
}

export function publishReq(
  v: Provisioned,
  cap: VolumeCapability,
  extra: { readonly?: boolean; target_path?: string } = {},
) {
  return {
    volume_id: v.volumeId,
    staging_target_path: v.staging,
    target_path: v.target,
    volume_capability: cap,
    publish_context: v.context,
    ...extra,
  };
}

export async function mountsUnder(dir: string): Promise<string[]> {
  return (await allMounts()).filter((m) => m.mountPoint.startsWith(`${dir}/`)).map((m) => m.mountPoint);
}

/** Helpers bound to the harness of the running test (tests make a new one in beforeEach). */
export function nodeKit(harness: () => NodeHarness) {
  /** ControllerPublish of an existing volume to this node. */
  async function publishToNode(name: string, volumeId: string, cap: VolumeCapability): Promise<Provisioned> {
    const h = harness();
    const info = await call(h.clients.node, "NodeGetInfo", {});
    const published = await call(h.clients.controller, "ControllerPublishVolume", {
      volume_id: volumeId,
      node_id: info.node_id,
      volume_capability: cap,
    });
    const context = published.publish_context;
    return { volumeId, ldevId: Number(context.ldevId), context, ...(await h.paths(name)) };
  }

  return {
    publishToNode,
    async provision(
      name: string,
      cap: VolumeCapability,
      bytes = 64 * MIB,
      source?: string,
    ): Promise<Provisioned> {
      const created = await call(harness().clients.controller, "CreateVolume", {
        name,
        volume_capabilities: [cap],
        capacity_range: { required_bytes: String(bytes) },
        ...(source ? { volume_content_source: { snapshot: { snapshot_id: source } } } : {}),
      });
      return publishToNode(name, created.volume?.volume_id ?? "", cap);
    },
    async stageAndPublish(v: Provisioned, cap: VolumeCapability): Promise<void> {
      const { node } = harness().clients;
      await call(node, "NodeStageVolume", stageReq(v, cap));
      await call(node, "NodePublishVolume", publishReq(v, cap));
    },
    async unpublishAndUnstage(v: Provisioned): Promise<void> {
      const { node } = harness().clients;
      await call(node, "NodeUnpublishVolume", { volume_id: v.volumeId, target_path: v.target });
      await call(node, "NodeUnstageVolume", { volume_id: v.volumeId, staging_target_path: v.staging });
    },
    /** What an application does for a consistent snapshot: freeze the filesystem, snapshot, thaw. */
    async frozenSnapshot(v: Provisioned, name: string): Promise<string> {
      await exec("fsfreeze", ["--freeze", v.target]);
      try {
        const snap = await call(harness().clients.controller, "CreateSnapshot", {
          name,
          source_volume_id: v.volumeId,
        });
        return snap.snapshot?.snapshot_id ?? "";
      } finally {
        await exec("fsfreeze", ["--unfreeze", v.target]);
      }
    },
  };
}
