/**
 * GroupController service (CSI 1.11+ VolumeGroupSnapshots): thin handlers over
 * GroupSnapshotService (src/driver/group-snapshots.ts) — validate, lock, call, answer.
 *
 * Locks (inflight.ts, shared with the Controller service): CreateVolumeGroupSnapshot takes its
 * name and every source volume (`volume:<id>`, the key CreateSnapshot and DeleteVolume take), so a
 * volume is never snapshotted alone and in a group, or deleted, at the same time; Delete takes the
 * group snapshot ID.
 */
import type { GroupSnapshot, GroupSnapshotService } from "../driver/group-snapshots.js";
import { InvalidArgumentError } from "../driver/errors.js";
import { parseSnapshotParameters } from "../driver/parameters.js";
import type { Logger } from "../logging.js";
import { toCsiSnapshot } from "./controller.js";
import type { GroupControllerHandlers } from "./generated/csi/v1/GroupController.js";
import type { VolumeGroupSnapshot } from "./generated/csi/v1/VolumeGroupSnapshot.js";
import type { InFlight } from "./inflight.js";
import { unary } from "./pipeline.js";

export interface GroupControllerOptions {
  groups: GroupSnapshotService;
  inflight: InFlight;
  logger: Logger;
  /** controller.operationTimeoutSeconds in ms: no call runs longer, gRPC deadline or not (pipeline.ts). */
  operationTimeoutMs?: number;
}

function required(value: string | undefined, field: string): string {
  if (value === undefined || value === "") throw new InvalidArgumentError(`${field} is required`);
  return value;
}

function toCsiGroupSnapshot(g: GroupSnapshot): VolumeGroupSnapshot {
  const ms = g.creationTime.getTime();
  return {
    group_snapshot_id: g.groupSnapshotId,
    snapshots: g.snapshots.map(toCsiSnapshot),
    creation_time: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 },
    ready_to_use: g.readyToUse,
  };
}

export function groupControllerService(options: GroupControllerOptions): GroupControllerHandlers {
  const { groups, inflight } = options;
  return {
    GroupControllerGetCapabilities: unary("GroupControllerGetCapabilities", options, () =>
      Promise.resolve({ capabilities: [{ rpc: { type: "CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT" } }] }),
    ),

    CreateVolumeGroupSnapshot: unary("CreateVolumeGroupSnapshot", options, (req) => {
      const name = required(req.name, "name");
      const sourceVolumeIds = req.source_volume_ids;
      if (sourceVolumeIds.length === 0) throw new InvalidArgumentError("source_volume_ids are required");
      const parameters = parseSnapshotParameters(req.parameters);
      if (parameters.copyMethod === "shadowImage") {
        // One point in time across volumes is a Thin Image consistency group's split.
        throw new InvalidArgumentError(
          "VolumeGroupSnapshotClass parameters: copyMethod: group snapshots are Thin Image consistency groups; shadowImage is not supported",
        );
      }
      const keys = [`group-name:${name}`, ...new Set(sourceVolumeIds.map((id) => `volume:${id}`))];
      return inflight.withLocks(keys, async () => ({
        group_snapshot: toCsiGroupSnapshot(await groups.create({ name, sourceVolumeIds, parameters })),
      }));
    }),

    DeleteVolumeGroupSnapshot: unary("DeleteVolumeGroupSnapshot", options, (req) => {
      const groupSnapshotId = required(req.group_snapshot_id, "group_snapshot_id");
      return inflight.withLocks([`group:${groupSnapshotId}`], async () => {
        await groups.delete(groupSnapshotId, req.snapshot_ids);
        return {};
      });
    }),

    GetVolumeGroupSnapshot: unary("GetVolumeGroupSnapshot", options, async (req) => {
      const groupSnapshotId = required(req.group_snapshot_id, "group_snapshot_id");
      return { group_snapshot: toCsiGroupSnapshot(await groups.get(groupSnapshotId, req.snapshot_ids)) };
    }),
  };
}
