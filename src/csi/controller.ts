/**
 * Controller service: thin handlers — validate, take the per-object lock before the first await,
 * call the driver, answer. Snapshot RPCs arrive with the snapshot work (not advertised yet).
 */
import { InvalidArgumentError, NotImplementedError } from "../driver/errors.js";
import type { PublishService } from "../driver/publish.js";
import { parseMutableParameters, parseVolumeParameters } from "../driver/parameters.js";
import type { Volume, VolumeService } from "../driver/volumes.js";
import type { Logger } from "../logging.js";
import { isSingleNode, requireSupported, unsupportedReason } from "./capabilities.js";
import type { ControllerHandlers } from "./generated/csi/v1/Controller.js";
import type { ControllerServiceCapability } from "./generated/csi/v1/ControllerServiceCapability.js";
import type { Volume as CsiVolume } from "./generated/csi/v1/Volume.js";
import { InFlight } from "./inflight.js";
import { unary } from "./pipeline.js";

export interface ControllerOptions {
  volumes: VolumeService;
  publish: PublishService;
  /** Pool capacity for GetCapacity: (array name?, pool?) → free bytes. */
  capacity: (parameters: Record<string, string>) => Promise<bigint>;
  logger: Logger;
}

const RPCS = [
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
] as const;

/** The largest DP volume of current VSP models (256 TiB). */
const MAXIMUM_VOLUME_SIZE = { value: String(256n * 1024n ** 4n) };

function required(value: string | undefined, field: string): string {
  if (value === undefined || value === "") throw new InvalidArgumentError(`${field} is required`);
  return value;
}

function toCsiVolume(v: Volume): CsiVolume {
  return {
    volume_id: v.volumeId,
    capacity_bytes: String(v.bytes),
    volume_context: { array: v.array.config.name },
  };
}

export function controllerService(options: ControllerOptions): ControllerHandlers {
  const { volumes, publish, logger } = options;
  const inflight = new InFlight();
  const withLocks = <T>(keys: string[], fn: () => Promise<T>) => inflight.withLocks(keys, fn);
  const notYet = (rpc: string) =>
    unary(rpc, logger, () => Promise.reject(new NotImplementedError(`${rpc} is not implemented yet`)));
  return {
    ControllerGetCapabilities: unary("ControllerGetCapabilities", logger, () =>
      Promise.resolve({ capabilities: RPCS.map((type): ControllerServiceCapability => ({ rpc: { type } })) }),
    ),

    CreateVolume: unary("CreateVolume", logger, (req) => {
      const name = required(req.name, "name");
      requireSupported(req.volume_capabilities);
      if (req.volume_content_source)
        throw new NotImplementedError("volumes from snapshots or volumes are not implemented yet");
      const parameters = parseVolumeParameters(req.parameters);
      const mutable = parseMutableParameters(req.mutable_parameters);
      return withLocks([`name:${name}`], async () => {
        const volume = await volumes.create({ name, range: req.capacity_range, parameters });
        // VolumeAttributesClass settings at creation: applied like a ModifyVolume (idempotent).
        if (Object.keys(mutable).length > 0) await volumes.modify(volume.volumeId, mutable);
        return { volume: toCsiVolume(volume) };
      });
    }),

    DeleteVolume: unary("DeleteVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      return withLocks([`volume:${volumeId}`], async () => {
        await volumes.delete(volumeId);
        return {};
      });
    }),

    ControllerPublishVolume: unary("ControllerPublishVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const nodeId = required(req.node_id, "node_id");
      if (!req.volume_capability) throw new InvalidArgumentError("volume_capability is required");
      requireSupported([req.volume_capability]);
      const singleNode = isSingleNode(req.volume_capability);
      return withLocks([`volume:${volumeId}`], async () => ({
        publish_context: await publish.publish({ volumeId, nodeId, readonly: req.readonly, singleNode }),
      }));
    }),

    ControllerUnpublishVolume: unary("ControllerUnpublishVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      return withLocks([`volume:${volumeId}`], async () => {
        await publish.unpublish(volumeId, req.node_id);
        return {};
      });
    }),

    ValidateVolumeCapabilities: unary("ValidateVolumeCapabilities", logger, async (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      if (req.volume_capabilities.length === 0)
        throw new InvalidArgumentError("volume_capabilities are required");
      await volumes.get(volumeId);
      const reasons = req.volume_capabilities
        .map(unsupportedReason)
        .filter((r): r is string => r !== undefined);
      if (reasons.length > 0) return { message: reasons.join("; ") };
      return {
        confirmed: {
          volume_context: req.volume_context,
          volume_capabilities: req.volume_capabilities,
          parameters: req.parameters,
          mutable_parameters: req.mutable_parameters,
        },
      };
    }),

    ListVolumes: unary("ListVolumes", logger, async (req) => {
      const { volumes: page, nextToken } = await volumes.list(req.max_entries, req.starting_token);
      const entries = [];
      for (const v of page) {
        entries.push({
          volume: toCsiVolume(v),
          status: { published_node_ids: await publish.publishedNodes(v) },
        });
      }
      return { entries, next_token: nextToken };
    }),

    ControllerGetVolume: unary("ControllerGetVolume", logger, async (req) => {
      const v = await volumes.get(required(req.volume_id, "volume_id"));
      const abnormal = (v.ldev.status ?? "NML") !== "NML";
      return {
        volume: toCsiVolume(v),
        status: {
          published_node_ids: await publish.publishedNodes(v),
          volume_condition: { abnormal, message: abnormal ? `LDEV status is ${v.ldev.status ?? "?"}` : "" },
        },
      };
    }),

    GetCapacity: unary("GetCapacity", logger, async (req) => {
      if (req.volume_capabilities.some((c) => unsupportedReason(c) !== undefined)) {
        return { available_capacity: "0", maximum_volume_size: MAXIMUM_VOLUME_SIZE };
      }
      return {
        available_capacity: String(await options.capacity(req.parameters)),
        maximum_volume_size: MAXIMUM_VOLUME_SIZE,
      };
    }),

    ControllerExpandVolume: unary("ControllerExpandVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      if (!req.capacity_range) throw new InvalidArgumentError("capacity_range is required");
      const range = req.capacity_range;
      return withLocks([`volume:${volumeId}`], async () => ({
        capacity_bytes: String(await volumes.expand(volumeId, range)),
        // A filesystem must be grown by the node; a raw block device needs nothing more.
        node_expansion_required: req.volume_capability?.access_type !== "block",
      }));
    }),

    ControllerModifyVolume: unary("ControllerModifyVolume", logger, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const changes = parseMutableParameters(req.mutable_parameters);
      return withLocks([`volume:${volumeId}`], async () => {
        await volumes.modify(volumeId, changes);
        return {};
      });
    }),

    CreateSnapshot: notYet("CreateSnapshot"),
    DeleteSnapshot: notYet("DeleteSnapshot"),
    ListSnapshots: notYet("ListSnapshots"),
    GetSnapshot: notYet("GetSnapshot"),
  };
}
