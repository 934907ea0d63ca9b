/**
 * What the stage/publish/expand logic works with, and the checks they share: which device a
 * staged volume has now, and whether a path shows exactly that device.
 */
import { join } from "node:path";

import type { Logger } from "../logging.js";
import type { DeviceDrivers } from "./devices/index.js";
import type { Host } from "./host.js";
import type { NodeTransport } from "./initiators.js";
import type { Mounter } from "./mounter.js";
import type { AccessType, RecordStore, StageRecord } from "./records.js";
import type { Runner } from "./runner.js";

export interface NodeDeps {
  runner: Runner;
  host: Host;
  mounter: Mounter;
  records: RecordStore;
  devices: DeviceDrivers;
  /** node.transport: overrides the publish context's. */
  forcedTransport?: NodeTransport;
  /** The transport when neither the configuration nor the publish context names one. */
  defaultTransport: NodeTransport;
  log: Logger;
}

/**
 * Raw block staging: the device node is bind-mounted over this file inside the staging directory
 * (as ceph-csi does), so the staging path itself records which device was staged — in the
 * kernel's mount table, where it survives a restart of the plugin.
 */
export const BLOCK_FILE = "vsp-csi-block";

export function blockFile(stagingPath: string): string {
  return join(stagingPath, BLOCK_FILE);
}

const READER_ONLY = new Set(["SINGLE_NODE_READER_ONLY", "MULTI_NODE_READER_ONLY"]);

export function isReaderOnly(accessMode: string): boolean {
  return READER_ONLY.has(accessMode);
}

export interface CurrentDevice {
  path: string;
  /** "major:minor" */
  number: string;
}

/** The staged volume's device as attached now (re-found from its identity), or undefined. */
export async function currentDevice(deps: NodeDeps, record: StageRecord): Promise<CurrentDevice | undefined> {
  const path = await deps.devices(record.transport).find(record.identity);
  if (path === undefined) return undefined;
  const number = await deps.host.deviceNumber(path);
  return number === undefined ? undefined : { path, number };
}

/**
 * Whether `path` shows the device: for a filesystem, the topmost mount there is that device's
 * filesystem; for raw block, the path is (a bind mount of) that device node.
 */
export async function showsDevice(
  deps: NodeDeps,
  path: string,
  accessType: AccessType,
  device: CurrentDevice,
): Promise<boolean> {
  const top = await deps.mounter.top(path);
  if (!top) return false;
  if (accessType === "mount") return top.devId === device.number;
  return (await deps.host.deviceNumber(path)) === device.number;
}
