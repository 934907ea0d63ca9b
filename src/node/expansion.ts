/**
 * NodeExpandVolume and NodeGetVolumeStats: both name a volume and a path, and both answer
 * NOT_FOUND unless that path is the staging path or a publication of THAT volume and shows its
 * device now (csi-sanity checks both "unknown volume" and "volume not at this path").
 *
 * Expand: the device first shows the array's new size (sim: losetup -c; fc/iscsi: SCSI rescan of
 * each path and multipathd resize), then the mounted filesystem grows online (resize2fs on the
 * device, xfs_growfs on the mount point). Raw block needs nothing more. Returns the device size —
 * the size the volume really has, even when less than capacity_range asks (the node cannot grow
 * the LUN; ControllerExpandVolume does, and Kubernetes calls NodeExpand only after it).
 */
import { NotFoundError } from "../driver/errors.js";
import type { CurrentDevice, NodeDeps } from "./deps.js";
import { blockFile, currentDevice, showsDevice } from "./deps.js";
import { growFilesystem } from "./filesystem.js";
import type { StageRecord } from "./records.js";
import type { Usage } from "./stats.js";
import { blockDeviceSize, filesystemUsage } from "./stats.js";

/** The staged volume and its device, when `path` is one of its mounts showing that device. */
async function volumeAt(
  deps: NodeDeps,
  volumeId: string,
  path: string,
): Promise<[StageRecord, CurrentDevice]> {
  const record = await deps.records.get(volumeId);
  if (!record) throw new NotFoundError(`volume ${volumeId} is not staged on this node`);
  const known = path === record.stagingPath || record.publications[path] !== undefined;
  const shown = record.accessType === "block" && path === record.stagingPath ? blockFile(path) : path;
  const device = await currentDevice(deps, record);
  if (!known || !device || !(await showsDevice(deps, shown, record.accessType, device))) {
    throw new NotFoundError(`${path} is not a staging or publish path of volume ${volumeId} on this node`);
  }
  return [record, device];
}

export async function expand(
  deps: NodeDeps,
  volumeId: string,
  volumePath: string,
  requiredBytes: bigint,
): Promise<number> {
  const [record, before] = await volumeAt(deps, volumeId, volumePath);
  await deps.devices(record.transport).refreshSize(record.identity);
  const device = (await currentDevice(deps, record)) ?? before;
  const bytes = await blockDeviceSize(deps.runner, device.path);
  if (BigInt(bytes) < requiredBytes) {
    // The node cannot grow the LUN (ControllerExpandVolume does). Kubernetes calls NodeExpand only
    // after the controller finished; csi-sanity's split mode calls it alone. The answer says the
    // size the volume really has, as aws-ebs-csi-driver does.
    deps.log.warn(
      { volumeId, bytes, requiredBytes: String(requiredBytes) },
      "device is smaller than asked for",
    );
  }
  if (record.accessType === "mount") {
    await growFilesystem(deps.runner, record.fsType, device.path, record.stagingPath);
  }
  return bytes;
}

export async function volumeStats(deps: NodeDeps, volumeId: string, volumePath: string): Promise<Usage[]> {
  const [record, device] = await volumeAt(deps, volumeId, volumePath);
  if (record.accessType === "mount") return filesystemUsage(volumePath);
  // Raw block: only the size is known; how much of it the application uses is not.
  const total = BigInt(await blockDeviceSize(deps.runner, device.path));
  return [{ unit: "BYTES", total, available: 0n, used: 0n }];
}
