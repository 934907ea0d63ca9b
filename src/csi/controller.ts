/**
 * Controller service: thin handlers — validate, take the per-object lock before the first await,
 * call the driver, answer.
 *
 * Locks (inflight.ts): CreateVolume takes its name, plus its content source (`snapshot:<id>` — and
 * `group:<id>` for a group snapshot's member — or `volume:<id>`); CreateSnapshot takes its name and
 * its source volume; DeleteSnapshot its ID.
 */
import { CloneService } from "../driver/clones.js";
import type { ContentSource } from "../driver/clones.js";
import { InvalidArgumentError } from "../driver/errors.js";
import { groupSnapshotIdOfMember } from "../driver/ids.js";
import type { PublishService } from "../driver/publish.js";
import {
  parseMutableParameters,
  parseSnapshotParameters,
  parseVolumeParameters,
} from "../driver/parameters.js";
import { SnapshotService } from "../driver/snapshots.js";
import type { Snapshot } from "../driver/snapshots.js";
import type { Volume, VolumeService } from "../driver/volumes.js";
import type { Logger } from "../logging.js";
import { isSingleNode, requireSupported, unsupportedReason } from "./capabilities.js";
import type { ControllerHandlers } from "./generated/csi/v1/Controller.js";
import type { ControllerServiceCapability } from "./generated/csi/v1/ControllerServiceCapability.js";
import type { Snapshot as CsiSnapshot } from "./generated/csi/v1/Snapshot.js";
import type { Volume as CsiVolume } from "./generated/csi/v1/Volume.js";
import type { VolumeContentSource__Output } from "./generated/csi/v1/VolumeContentSource.js";
import { InFlight } from "./inflight.js";
import { unary } from "./pipeline.js";

export interface ControllerOptions {
  volumes: VolumeService;
  publish: PublishService;
  /** Pool capacity for GetCapacity: (array name?, pool?) → free bytes. */
  capacity: (parameters: Record<string, string>) => Promise<bigint>;
  logger: Logger;
  /** controller.operationTimeoutSeconds in ms: no call runs longer, gRPC deadline or not (pipeline.ts). */
  operationTimeoutMs?: number;
  /** Default: built over `volumes`. */
  snapshots?: SnapshotService;
  /** Default: built over `volumes` and `snapshots`. */
  clones?: CloneService;
  /** Per-object locks; shared with the GroupController so both see each other's calls. */
  inflight?: InFlight;
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
  "CREATE_DELETE_SNAPSHOT",
  "LIST_SNAPSHOTS",
  "GET_SNAPSHOT",
  "CLONE_VOLUME",
] as const;

/** The largest DP volume of current VSP models (256 TiB). */
const MAXIMUM_VOLUME_SIZE = { value: String(256n * 1024n ** 4n) };

function required(value: string | undefined, field: string): string {
  if (value === undefined || value === "") throw new InvalidArgumentError(`${field} is required`);
  return value;
}

function toCsiVolume(v: Volume, source?: VolumeContentSource__Output | null): CsiVolume {
  return {
    volume_id: v.volumeId,
    capacity_bytes: String(v.bytes),
    volume_context: { array: v.array.config.name },
    ...(source ? { content_source: source } : {}),
  };
}

export function toCsiSnapshot(s: Snapshot): CsiSnapshot {
  const ms = s.creationTime.getTime();
  return {
    snapshot_id: s.snapshotId,
    source_volume_id: s.sourceVolumeId,
    size_bytes: String(s.bytes),
    creation_time: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 },
    ready_to_use: s.readyToUse,
    ...(s.groupSnapshotId ? { group_snapshot_id: s.groupSnapshotId } : {}),
  };
}

/** The content source of a CreateVolume, or undefined; a source without its ID is refused. */
function contentSource(source: VolumeContentSource__Output | null | undefined): ContentSource | undefined {
  if (!source) return undefined;
  if (source.type === "snapshot") {
    return {
      kind: "snapshot",
      snapshotId: required(source.snapshot?.snapshot_id, "volume_content_source.snapshot.snapshot_id"),
    };
  }
  if (source.type === "volume") {
    return {
      kind: "volume",
      volumeId: required(source.volume?.volume_id, "volume_content_source.volume.volume_id"),
    };
  }
  throw new InvalidArgumentError("volume_content_source: snapshot or volume is required");
}

/**
 * What a copy from `source` locks: the source; for a member of a group snapshot also its group, the
 * key DeleteVolumeGroupSnapshot takes — the group's delete would empty the member's S-VOL under a
 * restore that has already checked it.
 */
function sourceLocks(source: ContentSource): string[] {
  if (source.kind === "volume") return [`volume:${source.volumeId}`];
  const group = groupSnapshotIdOfMember(source.snapshotId);
  return [`snapshot:${source.snapshotId}`, ...(group ? [`group:${group}`] : [])];
}

export function controllerService(options: ControllerOptions): ControllerHandlers {
  const { volumes, publish } = options;
  const snapshots = options.snapshots ?? new SnapshotService(volumes);
  const clones = options.clones ?? new CloneService(volumes, snapshots);
  const inflight = options.inflight ?? new InFlight();
  const withLocks = <T>(keys: string[], fn: () => Promise<T>) => inflight.withLocks(keys, fn);
  return {
    ControllerGetCapabilities: unary("ControllerGetCapabilities", options, () =>
      Promise.resolve({ capabilities: RPCS.map((type): ControllerServiceCapability => ({ rpc: { type } })) }),
    ),

    CreateVolume: unary("CreateVolume", options, (req) => {
      const name = required(req.name, "name");
      requireSupported(req.volume_capabilities);
      const source = contentSource(req.volume_content_source);
      const parameters = parseVolumeParameters(req.parameters);
      const mutable = parseMutableParameters(req.mutable_parameters);
      const keys = [`name:${name}`, ...(source ? sourceLocks(source) : [])];
      return withLocks(keys, async () => {
        const input = { name, range: req.capacity_range, parameters };
        const volume = source ? await clones.create({ ...input, source }) : await volumes.create(input);
        // VolumeAttributesClass settings at creation: applied like a ModifyVolume (idempotent).
        if (Object.keys(mutable).length > 0) await volumes.modify(volume.volumeId, mutable);
        return { volume: toCsiVolume(volume, req.volume_content_source) };
      });
    }),

    DeleteVolume: unary("DeleteVolume", options, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      return withLocks([`volume:${volumeId}`], async () => {
        await volumes.delete(volumeId);
        return {};
      });
    }),

    ControllerPublishVolume: unary("ControllerPublishVolume", options, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const nodeId = required(req.node_id, "node_id");
      if (!req.volume_capability) throw new InvalidArgumentError("volume_capability is required");
      requireSupported([req.volume_capability]);
      const singleNode = isSingleNode(req.volume_capability);
      return withLocks([`volume:${volumeId}`], async () => ({
        publish_context: await publish.publish({ volumeId, nodeId, readonly: req.readonly, singleNode }),
      }));
    }),

    ControllerUnpublishVolume: unary("ControllerUnpublishVolume", options, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      return withLocks([`volume:${volumeId}`], async () => {
        await publish.unpublish(volumeId, req.node_id);
        return {};
      });
    }),

    ValidateVolumeCapabilities: unary("ValidateVolumeCapabilities", options, async (req) => {
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

    ListVolumes: unary("ListVolumes", options, async (req) => {
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

    ControllerGetVolume: unary("ControllerGetVolume", options, async (req) => {
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

    GetCapacity: unary("GetCapacity", options, async (req) => {
      if (req.volume_capabilities.some((c) => unsupportedReason(c) !== undefined)) {
        return { available_capacity: "0", maximum_volume_size: MAXIMUM_VOLUME_SIZE };
      }
      return {
        available_capacity: String(await options.capacity(req.parameters)),
        maximum_volume_size: MAXIMUM_VOLUME_SIZE,
      };
    }),

    ControllerExpandVolume: unary("ControllerExpandVolume", options, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      if (!req.capacity_range) throw new InvalidArgumentError("capacity_range is required");
      const range = req.capacity_range;
      return withLocks([`volume:${volumeId}`], async () => ({
        capacity_bytes: String(await volumes.expand(volumeId, range)),
        // A filesystem must be grown by the node; a raw block device needs nothing more.
        node_expansion_required: req.volume_capability?.access_type !== "block",
      }));
    }),

    ControllerModifyVolume: unary("ControllerModifyVolume", options, (req) => {
      const volumeId = required(req.volume_id, "volume_id");
      const changes = parseMutableParameters(req.mutable_parameters);
      return withLocks([`volume:${volumeId}`], async () => {
        await volumes.modify(volumeId, changes);
        return {};
      });
    }),

    CreateSnapshot: unary("CreateSnapshot", options, (req) => {
      const name = required(req.name, "name");
      const sourceVolumeId = required(req.source_volume_id, "source_volume_id");
      const parameters = parseSnapshotParameters(req.parameters);
      return withLocks([`snapshot-name:${name}`, `volume:${sourceVolumeId}`], async () => ({
        snapshot: toCsiSnapshot(await snapshots.create({ name, sourceVolumeId, parameters })),
      }));
    }),

    DeleteSnapshot: unary("DeleteSnapshot", options, (req) => {
      const snapshotId = required(req.snapshot_id, "snapshot_id");
      return withLocks([`snapshot:${snapshotId}`], async () => {
        await snapshots.delete(snapshotId);
        return {};
      });
    }),

    ListSnapshots: unary("ListSnapshots", options, async (req) => {
      if (req.max_entries < 0) throw new InvalidArgumentError("max_entries must not be negative");
      const page = await snapshots.list({
        snapshotId: req.snapshot_id,
        sourceVolumeId: req.source_volume_id,
        maxEntries: req.max_entries,
        startingToken: req.starting_token,
      });
      return {
        entries: page.snapshots.map((s) => ({ snapshot: toCsiSnapshot(s) })),
        next_token: page.nextToken,
      };
    }),

    GetSnapshot: unary("GetSnapshot", options, async (req) => ({
      snapshot: toCsiSnapshot(await snapshots.get(required(req.snapshot_id, "snapshot_id"))),
    })),
  };
}
