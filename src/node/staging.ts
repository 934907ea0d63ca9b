/**
 * NodeStageVolume / NodeUnstageVolume.
 *
 * Stage: attach the exact device of the published LUN (devices/), write the volume's record, then
 *   - mount: make a filesystem only on a blank device, mount it at the staging path with the
 *     capability's mount flags (plus "ro" for reader-only modes and "nouuid" for xfs, whose
 *     restored snapshots share their source's UUID);
 *   - block: bind-mount the device node over <staging>/vsp-csi-block.
 * Staging again is a no-op once the staging path shows THIS volume's device (not merely "something
 * mounted": csi.md §6 pain point 6). If this call attached the device and a later step fails, the
 * device is detached again, so a final error leaves nothing behind.
 *
 * Unstage: refuse while a publication still shows the device, unmount, detach the device (sim:
 * losetup -d; fc/iscsi: multipath -f, delete the SCSI disks, iSCSI logout when unused), each step
 * verified, and only then forget the record. Nothing staged is success.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";

import { AlreadyExistsError, FailedPreconditionError } from "../driver/errors.js";
import { parseAttachTarget, transportOf } from "./devices/context.js";
import type { AttachedDevice, DeviceDriver } from "./devices/types.js";
import { describeIdentity } from "./devices/types.js";
import type { NodeDeps } from "./deps.js";
import { blockFile, currentDevice, isReaderOnly, showsDevice } from "./deps.js";
import { ensureFilesystem } from "./filesystem.js";
import type { AccessType, StageRecord } from "./records.js";

export interface StageRequest {
  volumeId: string;
  stagingPath: string;
  accessType: AccessType;
  /** "" = ext4 for a blank device, else whatever the device holds. */
  fsType: string;
  mountFlags: readonly string[];
  accessMode: string;
  publishContext: Record<string, string>;
  secrets: Record<string, string>;
}

/** Same volume, same path: the capability must match what was staged (ALREADY_EXISTS otherwise). */
function checkRestage(existing: StageRecord, req: StageRequest): void {
  if (existing.stagingPath !== req.stagingPath) {
    throw new FailedPreconditionError(
      `volume ${req.volumeId} is already staged at ${existing.stagingPath}; unstage it there first`,
    );
  }
  const incompatible =
    existing.accessType !== req.accessType ||
    (req.fsType !== "" && existing.fsType !== "" && req.fsType !== existing.fsType) ||
    existing.mountFlags.join(",") !== req.mountFlags.join(",") ||
    isReaderOnly(existing.accessMode) !== isReaderOnly(req.accessMode);
  if (incompatible) {
    throw new AlreadyExistsError(
      `volume ${req.volumeId} is staged at ${req.stagingPath} with another capability (${existing.accessType}` +
        `${existing.fsType ? ` ${existing.fsType}` : ""}, flags [${existing.mountFlags.join(",")}], ${existing.accessMode})`,
    );
  }
}

export async function stage(deps: NodeDeps, req: StageRequest): Promise<void> {
  const existing = await deps.records.get(req.volumeId);
  if (existing) checkRestage(existing, req);
  const transport = transportOf(
    req.publishContext,
    deps.forcedTransport,
    existing?.transport ?? deps.defaultTransport,
  );
  const target = parseAttachTarget(req.volumeId, transport, req.publishContext, req.secrets);
  const driver = deps.devices(transport);
  const attachedBefore = (await driver.find(await driver.identityOf(target))) !== undefined;
  const device = await driver.attach(target);
  let record: StageRecord = {
    version: 1,
    volumeId: req.volumeId,
    stagingPath: req.stagingPath,
    transport,
    identity: device.identity,
    device: device.path,
    accessType: req.accessType,
    fsType: existing?.fsType ?? "",
    mountFlags: [...req.mountFlags],
    accessMode: req.accessMode,
    publications: existing?.publications ?? {},
  };
  await deps.records.put(record);
  try {
    if (req.accessType === "mount") {
      record = { ...record, fsType: await stageFilesystem(deps, device, req) };
      await deps.records.put(record);
    } else {
      await stageBlock(deps, device, req.stagingPath);
    }
  } catch (err) {
    if (!attachedBefore && existing === undefined) await rollback(deps, driver, record);
    throw err;
  }
}

/** Called when the staging path does not show our device: any mount at or below it is another's. */
async function refuseOccupied(deps: NodeDeps, stagingPath: string): Promise<void> {
  const foreign = (await deps.host.mounts()).filter(
    (m) => m.mountPoint === stagingPath || m.mountPoint.startsWith(`${stagingPath}/`),
  );
  if (foreign.length > 0) {
    throw new FailedPreconditionError(
      `staging_target_path ${stagingPath} is in use by another device (${foreign.map((m) => `${m.source} at ${m.mountPoint}`).join(", ")})`,
    );
  }
}

async function stageFilesystem(deps: NodeDeps, device: AttachedDevice, req: StageRequest): Promise<string> {
  const number = await deps.host.deviceNumber(device.path);
  if (number === undefined) throw new FailedPreconditionError(`${device.path} is not a block device`);
  const top = await deps.mounter.top(req.stagingPath);
  if (top?.devId === number) return top.fsType; // staged already
  await refuseOccupied(deps, req.stagingPath);
  await mkdir(req.stagingPath, { recursive: true });
  const fsType = await ensureFilesystem(deps.runner, device.path, req.fsType);
  const options = [...req.mountFlags];
  if (isReaderOnly(req.accessMode) && !options.includes("ro")) options.push("ro");
  if (fsType === "xfs" && !options.includes("nouuid")) options.push("nouuid");
  await deps.mounter.mountDevice(device.path, req.stagingPath, fsType, options);
  return fsType;
}

async function stageBlock(deps: NodeDeps, device: AttachedDevice, stagingPath: string): Promise<void> {
  const file = blockFile(stagingPath);
  const number = await deps.host.deviceNumber(device.path);
  if (number === undefined) throw new FailedPreconditionError(`${device.path} is not a block device`);
  if ((await deps.mounter.top(file)) && (await deps.host.deviceNumber(file)) === number) return; // staged already
  await refuseOccupied(deps, stagingPath);
  await mkdir(stagingPath, { recursive: true });
  await writeFile(file, "", { flag: "a" });
  await deps.mounter.bind(device.path, file, false);
  if ((await deps.host.deviceNumber(file)) !== number) {
    throw new FailedPreconditionError(`${file} does not show ${device.path} after the bind mount`);
  }
}

/** Undoes a failed first stage: whatever got mounted, then the device this call attached. */
async function rollback(deps: NodeDeps, driver: DeviceDriver, record: StageRecord): Promise<void> {
  try {
    await unmountStaging(deps, record);
    await driver.detach(record.identity);
    await deps.records.remove(record.volumeId);
  } catch (err) {
    // The record stays: NodeUnstage (kubelet calls it after an uncertain stage) finishes the job.
    deps.log.warn({ err, volumeId: record.volumeId }, "could not undo a failed stage");
  }
}

/**
 * Unmounts the staging mount (or block bind) unless it demonstrably shows another device. A device
 * that vanished under its mount (a lost path) does not make the mount someone else's.
 */
async function unmountStaging(deps: NodeDeps, record: StageRecord): Promise<void> {
  const device = await currentDevice(deps, record);
  const path = record.accessType === "block" ? blockFile(record.stagingPath) : record.stagingPath;
  if ((await deps.mounter.top(path)) !== undefined) {
    if (!device || (await showsDevice(deps, path, record.accessType, device))) {
      await deps.mounter.unmount(path);
    } else {
      deps.log.warn(
        { path, volumeId: record.volumeId },
        "staging path shows another device; leaving it mounted",
      );
    }
  }
  if (record.accessType === "block" && (await deps.mounter.top(path)) === undefined) {
    await rm(path, { force: true });
  }
}

export async function unstage(deps: NodeDeps, volumeId: string, stagingPath: string): Promise<void> {
  const record = await deps.records.get(volumeId);
  if (record?.stagingPath !== stagingPath) {
    await unstageUnknown(deps, volumeId, stagingPath);
    return;
  }
  const device = await currentDevice(deps, record);
  if (device) {
    for (const target of Object.keys(record.publications)) {
      if (await showsDevice(deps, target, record.accessType, device)) {
        throw new FailedPreconditionError(
          `volume ${volumeId} is still published at ${target}; NodeUnpublishVolume first`,
        );
      }
    }
  }
  await unmountStaging(deps, record);
  await deps.devices(record.transport).detach(record.identity);
  if ((await deps.devices(record.transport).find(record.identity)) !== undefined) {
    throw new FailedPreconditionError(`the device of ${describeIdentity(record.identity)} is still present`);
  }
  await deps.records.remove(volumeId);
}

/**
 * No record of this volume at this path: nothing this plugin staged. A mount left there (a lost
 * state directory) is unmounted — kubelet's staging paths are per volume — unless another volume's
 * record claims the path; no device is detached, since nothing says which one is the volume's.
 */
async function unstageUnknown(deps: NodeDeps, volumeId: string, stagingPath: string): Promise<void> {
  const owner = (await deps.records.all()).find(
    (r) => r.stagingPath === stagingPath && r.volumeId !== volumeId,
  );
  if (owner) return; // another volume is staged there: nothing of this one to undo
  for (const path of [blockFile(stagingPath), stagingPath]) {
    if ((await deps.mounter.top(path)) === undefined) continue;
    deps.log.warn({ volumeId, path }, "unmounting a staging mount this node has no record of");
    await deps.mounter.unmount(path);
  }
  await rm(blockFile(stagingPath), { force: true });
}
