/**
 * NodePublishVolume / NodeUnpublishVolume: bind mounts from the staging path to each pod's target.
 *
 *   mount: the staging directory is bind-mounted on the target directory;
 *   block: <staging>/vsp-csi-block (the device node) is bind-mounted on the target file.
 * Read-only when the request says so, when the access mode is reader-only, or when the controller
 * published read-only; for raw block the device itself is made read-only too (a read-only bind of a
 * device node does not stop writes to it). Publishing the same target again with the same capability is a no-op; with
 * another capability ALREADY_EXISTS. SINGLE_NODE_SINGLE_WRITER allows one target: another is
 * FAILED_PRECONDITION (what csi-sanity checks).
 *
 * Unpublish unmounts the target (verified) and deletes the directory or file the plugin created
 * there (the CSI spec asks the SP to). Nothing published is success.
 */
import { lstat, mkdir, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

import { AlreadyExistsError, FailedPreconditionError } from "../driver/errors.js";
import type { NodeDeps } from "./deps.js";
import { blockFile, currentDevice, isReaderOnly, showsDevice } from "./deps.js";
import type { CurrentDevice } from "./deps.js";
import { isNotFound } from "./host.js";
import { isReadOnly } from "./mounts.js";
import type { AccessType, Publication, StageRecord } from "./records.js";

export interface PublishRequest {
  volumeId: string;
  stagingPath: string;
  targetPath: string;
  accessType: AccessType;
  accessMode: string;
  readonly: boolean;
  publishContext: Record<string, string>;
}

function samePublication(a: Publication, b: Publication): boolean {
  return a.readonly === b.readonly && a.accessMode === b.accessMode && a.accessType === b.accessType;
}

async function stagedRecord(deps: NodeDeps, req: PublishRequest): Promise<[StageRecord, CurrentDevice]> {
  const record = await deps.records.get(req.volumeId);
  if (record?.stagingPath !== req.stagingPath) {
    throw new FailedPreconditionError(`volume ${req.volumeId} is not staged at ${req.stagingPath}`);
  }
  if (record.accessType !== req.accessType) {
    throw new FailedPreconditionError(
      `volume ${req.volumeId} is staged as ${record.accessType}; it cannot be published as ${req.accessType}`,
    );
  }
  const device = await currentDevice(deps, record);
  const stagedAt = record.accessType === "block" ? blockFile(record.stagingPath) : record.stagingPath;
  if (!device || !(await showsDevice(deps, stagedAt, record.accessType, device))) {
    throw new FailedPreconditionError(
      `volume ${req.volumeId} is not staged at ${req.stagingPath} any more; stage it again`,
    );
  }
  return [record, device];
}

/** Other live publications that forbid this one (single-writer modes). */
async function refuseOtherWriters(
  deps: NodeDeps,
  record: StageRecord,
  device: CurrentDevice,
  req: PublishRequest,
): Promise<void> {
  for (const [path, pub] of Object.entries(record.publications)) {
    if (path === req.targetPath || !(await showsDevice(deps, path, record.accessType, device))) continue;
    if (req.accessMode === "SINGLE_NODE_SINGLE_WRITER" || pub.accessMode === "SINGLE_NODE_SINGLE_WRITER") {
      throw new FailedPreconditionError(
        `volume ${req.volumeId} is SINGLE_NODE_SINGLE_WRITER and already published at ${path}`,
      );
    }
  }
}

export async function publish(deps: NodeDeps, req: PublishRequest): Promise<void> {
  const [record, device] = await stagedRecord(deps, req);
  const readonly = req.readonly || isReaderOnly(req.accessMode) || req.publishContext.readonly === "true";
  const wanted: Publication = { readonly, accessMode: req.accessMode, accessType: req.accessType };
  const known = record.publications[req.targetPath];
  const top = await deps.mounter.top(req.targetPath);
  if (top) {
    if (!(await showsDevice(deps, req.targetPath, record.accessType, device))) {
      throw new FailedPreconditionError(
        `target_path ${req.targetPath} has another device mounted (${top.source})`,
      );
    }
    const current: Publication = known ?? { ...wanted, readonly: isReadOnly(top) };
    if (!samePublication(current, wanted) || isReadOnly(top) !== readonly) {
      throw new AlreadyExistsError(
        `volume ${req.volumeId} is already published at ${req.targetPath} with another capability (readonly=${current.readonly}, ${current.accessMode})`,
      );
    }
    if (!known) await savePublication(deps, record, req.targetPath, wanted); // adopted after a crash
    return;
  }
  await refuseOtherWriters(deps, record, device, req);
  const after = withPublication(record.publications, req.targetPath, wanted);
  if (record.accessType === "block") await enforceBlockReadOnly(deps, after, device);
  const created = await createTarget(req.targetPath, req.accessType);
  try {
    const source = req.accessType === "block" ? blockFile(req.stagingPath) : req.stagingPath;
    await deps.mounter.bind(source, req.targetPath, readonly);
    if (!(await showsDevice(deps, req.targetPath, req.accessType, device))) {
      throw new FailedPreconditionError(
        `${req.targetPath} does not show the volume's device after the bind mount`,
      );
    }
  } catch (err) {
    await deps.mounter.unmount(req.targetPath).catch(() => undefined);
    if (created) await removeTarget(req.targetPath).catch(() => undefined);
    if (record.accessType === "block") await enforceBlockReadOnly(deps, record.publications, device);
    throw err;
  }
  await savePublication(deps, record, req.targetPath, wanted);
}

type Publications = StageRecord["publications"];

function withPublication(
  publications: Publications,
  target: string,
  publication?: Publication,
): Publications {
  const next = Object.fromEntries(Object.entries(publications).filter(([path]) => path !== target));
  if (publication) next[target] = publication;
  return next;
}

async function savePublication(
  deps: NodeDeps,
  record: StageRecord,
  target: string,
  publication: Publication | undefined,
): Promise<Publications> {
  const publications = withPublication(record.publications, target, publication);
  await deps.records.put({ ...record, publications });
  return publications;
}

/**
 * A read-only bind mount of a device node does not stop writes to the device (only to files on a
 * filesystem), so raw block read-only is enforced on the device itself (BLKROSET): read-only while
 * every publication on this node is, writable as soon as one is not. Verified with --getro.
 */
async function enforceBlockReadOnly(
  deps: NodeDeps,
  publications: Publications,
  device: CurrentDevice,
): Promise<void> {
  const all = Object.values(publications);
  const readonly = all.length > 0 && all.every((p) => p.readonly);
  await deps.runner.run("blockdev", [readonly ? "--setro" : "--setrw", device.path]);
  const shown = (await deps.runner.run("blockdev", ["--getro", device.path])).stdout.trim();
  if (shown !== (readonly ? "1" : "0")) {
    throw new FailedPreconditionError(`${device.path} did not become ${readonly ? "read-only" : "writable"}`);
  }
}

/** A directory (mount) or an empty file (block) at the target; true when this call made it. */
async function createTarget(path: string, accessType: AccessType): Promise<boolean> {
  try {
    await lstat(path);
    return false;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (accessType === "mount") {
    await mkdir(path, { recursive: true });
  } else {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, "", { flag: "a" });
  }
  return true;
}

/** Deletes the empty directory or the file at the target; never anything inside a directory. */
async function removeTarget(path: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await lstat(path)).isDirectory();
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  try {
    if (isDir) await rmdir(path);
    else await rm(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOTEMPTY") {
      throw new FailedPreconditionError(`${path} is not empty after unmounting; not deleting its contents`);
    }
    throw err;
  }
}

export async function unpublish(deps: NodeDeps, volumeId: string, targetPath: string): Promise<void> {
  const record = await deps.records.get(volumeId);
  if ((await deps.mounter.top(targetPath)) !== undefined) {
    const device = record ? await currentDevice(deps, record) : undefined;
    if (record && device && !(await showsDevice(deps, targetPath, record.accessType, device))) {
      throw new FailedPreconditionError(
        `${targetPath} shows a device that is not volume ${volumeId}'s; not unmounting it`,
      );
    }
    await deps.mounter.unmount(targetPath);
  }
  await removeTarget(targetPath);
  if (!record?.publications[targetPath]) return;
  const left = await savePublication(deps, record, targetPath, undefined);
  const device = await currentDevice(deps, record);
  if (record.accessType === "block" && device) await enforceBlockReadOnly(deps, left, device);
}
