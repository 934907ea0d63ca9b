/**
 * Node service. This release answers NodeGetInfo (the node id with its initiators, which the
 * controller needs to publish) and NodeGetCapabilities. Staging and mounting arrive with the node
 * plugin work: until then NodeUnpublish/NodeUnstage succeed where nothing is mounted (the
 * idempotent case the spec requires) and answer UNIMPLEMENTED where something is.
 */
import { rm } from "node:fs/promises";

import { InvalidArgumentError, NotImplementedError } from "../driver/errors.js";
import { mountsAt } from "../node/mounts.js";
import type { Logger } from "../logging.js";
import type { NodeHandlers } from "./generated/csi/v1/Node.js";
import { unary } from "./pipeline.js";

export interface NodeOptions {
  nodeId: string;
  maxVolumesPerNode: number | undefined;
  logger: Logger;
}

export function nodeService(options: NodeOptions): NodeHandlers {
  const { logger } = options;
  const notYet = (rpc: string) =>
    unary(rpc, logger, () => Promise.reject(new NotImplementedError(`${rpc} is not implemented yet`)));
  return {
    NodeGetInfo: unary("NodeGetInfo", logger, () =>
      Promise.resolve({
        node_id: options.nodeId,
        max_volumes_per_node: String(options.maxVolumesPerNode ?? 0),
      }),
    ),
    NodeGetCapabilities: unary("NodeGetCapabilities", logger, () => Promise.resolve({ capabilities: [] })),
    NodeStageVolume: notYet("NodeStageVolume"),
    NodeUnstageVolume: unary("NodeUnstageVolume", logger, (req) =>
      releasePath(req.volume_id, req.staging_target_path, "staging_target_path"),
    ),
    NodePublishVolume: notYet("NodePublishVolume"),
    NodeUnpublishVolume: unary("NodeUnpublishVolume", logger, (req) =>
      releasePath(req.volume_id, req.target_path, "target_path"),
    ),
    NodeGetVolumeStats: notYet("NodeGetVolumeStats"),
    NodeExpandVolume: notYet("NodeExpandVolume"),
  };
}

/** Nothing mounted at the path: done (removing an empty target); a mount: not handled yet. */
async function releasePath(volumeId: string, path: string, field: string): Promise<Record<string, never>> {
  if (volumeId === "") throw new InvalidArgumentError("volume_id is required");
  if (path === "") throw new InvalidArgumentError(`${field} is required`);
  if ((await mountsAt(path)).length > 0)
    throw new NotImplementedError(`unmounting ${path} is not implemented yet`);
  if (field === "target_path") await rm(path, { recursive: false, force: true }).catch(() => undefined);
  return {};
}
