/**
 * Volume capabilities: which access modes and types the driver serves, checked once here for
 * CreateVolume, ValidateVolumeCapabilities and ControllerPublish.
 *
 * A VSP LU is a block device. Raw block volumes may be shared by several nodes (clustered
 * databases coordinate their own writes); a filesystem may be mounted by one node for writing, or
 * read-only by many. Filesystems: ext4 and xfs.
 */
import { InvalidArgumentError } from "../driver/errors.js";
import type { VolumeCapability__Output } from "./generated/csi/v1/VolumeCapability.js";

const SINGLE_NODE = new Set([
  "SINGLE_NODE_WRITER",
  "SINGLE_NODE_READER_ONLY",
  "SINGLE_NODE_SINGLE_WRITER",
  "SINGLE_NODE_MULTI_WRITER",
]);
const MOUNT_MODES = new Set([...SINGLE_NODE, "MULTI_NODE_READER_ONLY"]);
const BLOCK_MODES = new Set([
  ...SINGLE_NODE,
  "MULTI_NODE_READER_ONLY",
  "MULTI_NODE_SINGLE_WRITER",
  "MULTI_NODE_MULTI_WRITER",
]);
export const FILESYSTEMS = new Set(["", "ext4", "xfs"]);

/** Why a capability is not served, or undefined when it is. Malformed capabilities throw. */
export function unsupportedReason(cap: VolumeCapability__Output): string | undefined {
  const mode = cap.access_mode?.mode;
  if (mode === undefined || mode === "UNKNOWN")
    throw new InvalidArgumentError("volume capability: access_mode is required");
  if (cap.access_type === "block") {
    return BLOCK_MODES.has(mode) ? undefined : `access mode ${mode} is not supported for block volumes`;
  }
  if (cap.access_type === "mount") {
    const fsType = cap.mount?.fs_type ?? "";
    if (!FILESYSTEMS.has(fsType)) return `filesystem "${fsType}" is not supported (ext4, xfs)`;
    return MOUNT_MODES.has(mode) ? undefined : `access mode ${mode} is not supported for filesystem volumes`;
  }
  throw new InvalidArgumentError("volume capability: access_type (mount or block) is required");
}

/** Every capability must be served: INVALID_ARGUMENT names the first that is not. */
export function requireSupported(caps: VolumeCapability__Output[] | undefined): void {
  if (!caps || caps.length === 0) throw new InvalidArgumentError("volume_capabilities are required");
  for (const cap of caps) {
    const reason = unsupportedReason(cap);
    if (reason !== undefined) throw new InvalidArgumentError(reason);
  }
}

export function isSingleNode(cap: VolumeCapability__Output): boolean {
  return SINGLE_NODE.has(cap.access_mode?.mode ?? "");
}
