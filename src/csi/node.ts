/**
 * CSI Node service: request validation, per-volume locks and the CSI shapes; the host work lives in
 * src/node (staging.ts, publishing.ts, expansion.ts).
 *
 * Locks: every call that changes the host takes `volume:<id>` and its path (`path:<path>`) without
 * waiting — a concurrent duplicate gets ABORTED at once and kubelet retries — and every host command
 * below has a timeout (src/node/runner.ts), so no call holds a lock forever (csi.md §6 pain point 7).
 *
 * Capabilities: STAGE_UNSTAGE_VOLUME, GET_VOLUME_STATS, EXPAND_VOLUME, SINGLE_NODE_MULTI_WRITER
 * (the controller serves it too). NOT VOLUME_MOUNT_GROUP: ext4 and xfs have no gid= mount option,
 * so honouring a mount group would mean a recursive chgrp on every publish — which kubelet already
 * does itself for fsGroup when the CSIDriver says fsGroupPolicy: File. A request that carries a
 * volume_mount_group anyway is refused, never silently ignored.
 */
import { InvalidArgumentError } from "../driver/errors.js";
import type { Logger } from "../logging.js";
import type { NodeDeps } from "../node/deps.js";
import { asDriverError } from "../node/errors.js";
import { expand, volumeStats } from "../node/expansion.js";
import { publish, unpublish } from "../node/publishing.js";
import type { AccessType } from "../node/records.js";
import { stage, unstage } from "../node/staging.js";
import { unsupportedReason } from "./capabilities.js";
import type { NodeHandlers } from "./generated/csi/v1/Node.js";
import type { NodeServiceCapability } from "./generated/csi/v1/NodeServiceCapability.js";
import type { VolumeCapability__Output } from "./generated/csi/v1/VolumeCapability.js";
import { InFlight } from "./inflight.js";
import { unary } from "./pipeline.js";

export interface NodeOptions {
  nodeId: string;
  maxVolumesPerNode: number | undefined;
  logger: Logger;
  deps: NodeDeps;
}

const RPCS = [
  "STAGE_UNSTAGE_VOLUME",
  "GET_VOLUME_STATS",
  "EXPAND_VOLUME",
  "SINGLE_NODE_MULTI_WRITER",
] as const;

interface Capability {
  accessType: AccessType;
  fsType: string;
  mountFlags: string[];
  accessMode: string;
}

function required(value: string, field: string): string {
  if (value === "") throw new InvalidArgumentError(`${field} is required`);
  return value;
}

/** The capability as the node uses it; INVALID_ARGUMENT when missing, malformed or not served. */
export function nodeCapability(cap: VolumeCapability__Output | null | undefined): Capability {
  if (!cap) throw new InvalidArgumentError("volume_capability is required");
  const reason = unsupportedReason(cap);
  if (reason !== undefined) throw new InvalidArgumentError(reason);
  const accessMode = cap.access_mode?.mode ?? "UNKNOWN";
  if (cap.access_type === "block") return { accessType: "block", fsType: "", mountFlags: [], accessMode };
  if (cap.mount?.volume_mount_group) {
    throw new InvalidArgumentError(
      "volume_mount_group is not supported (no VOLUME_MOUNT_GROUP): kubelet applies fsGroup itself with fsGroupPolicy File",
    );
  }
  return {
    accessType: "mount",
    fsType: cap.mount?.fs_type ?? "",
    mountFlags: cap.mount?.mount_flags ?? [],
    accessMode,
  };
}

export function nodeService(options: NodeOptions): NodeHandlers {
  const { logger, deps } = options;
  const locks = new InFlight();
  /** Takes the keys synchronously (before any await), runs, and gives host failures their text. */
  const locked = <T>(keys: string[], fn: () => Promise<T>): Promise<T> =>
    locks.withLocks(keys, async () => {
      try {
        return await fn();
      } catch (err) {
        throw asDriverError(err);
      }
    });
  return {
    NodeGetInfo: unary("NodeGetInfo", logger, () =>
      // No accessible_topology: the driver reports no topology (identity: no ACCESSIBILITY_CONSTRAINTS).
      Promise.resolve({
        node_id: options.nodeId,
        max_volumes_per_node: String(options.maxVolumesPerNode ?? 0),
      }),
    ),
    NodeGetCapabilities: unary("NodeGetCapabilities", logger, () =>
      Promise.resolve({ capabilities: RPCS.map((type): NodeServiceCapability => ({ rpc: { type } })) }),
    ),
    NodeStageVolume: unary("NodeStageVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const stagingPath = required(req.staging_target_path, "staging_target_path");
      const cap = nodeCapability(req.volume_capability);
      return locked([`volume:${volumeId}`, `path:${stagingPath}`], async () => {
        await stage(deps, {
          volumeId,
          stagingPath,
          ...cap,
          publishContext: req.publish_context,
          secrets: req.secrets,
        });
        return {};
      });
    }),
    NodeUnstageVolume: unary("NodeUnstageVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const stagingPath = required(req.staging_target_path, "staging_target_path");
      return locked([`volume:${volumeId}`, `path:${stagingPath}`], async () => {
        await unstage(deps, volumeId, stagingPath);
        return {};
      });
    }),
    NodePublishVolume: unary("NodePublishVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const targetPath = required(req.target_path, "target_path");
      const cap = nodeCapability(req.volume_capability);
      const stagingPath = required(req.staging_target_path, "staging_target_path");
      return locked([`volume:${volumeId}`, `path:${targetPath}`], async () => {
        await publish(deps, {
          volumeId,
          stagingPath,
          targetPath,
          accessType: cap.accessType,
          accessMode: cap.accessMode,
          readonly: req.readonly,
          publishContext: req.publish_context,
        });
        return {};
      });
    }),
    NodeUnpublishVolume: unary("NodeUnpublishVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const targetPath = required(req.target_path, "target_path");
      return locked([`volume:${volumeId}`, `path:${targetPath}`], async () => {
        await unpublish(deps, volumeId, targetPath);
        return {};
      });
    }),
    NodeGetVolumeStats: unary("NodeGetVolumeStats", logger, async (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const volumePath = required(req.volume_path, "volume_path");
      // Read-only and frequent (kubelet polls it): no lock.
      try {
        const usage = await volumeStats(deps, volumeId, volumePath);
        return {
          usage: usage.map((u) => ({
            unit: u.unit,
            total: String(u.total),
            available: String(u.available),
            used: String(u.used),
          })),
        };
      } catch (err) {
        throw asDriverError(err);
      }
    }),
    NodeExpandVolume: unary("NodeExpandVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const volumePath = required(req.volume_path, "volume_path");
      const requiredBytes = BigInt(req.capacity_range?.required_bytes ?? "0");
      return locked([`volume:${volumeId}`], async () => {
        const bytes = await expand(deps, volumeId, volumePath, requiredBytes);
        return { capacity_bytes: String(bytes) };
      });
    }),
  };
}
