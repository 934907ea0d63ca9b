/**
 * What a transport does for the node plugin: attach the exact device of a published LUN, find it
 * again, refresh its size, and detach it with every step verified.
 */
import type { NodeTransport } from "../initiators.js";

/**
 * What makes a device THE volume's device, checked on every attach, stage, stats and unstage:
 * - loop (sim): the loop device's backing file is the LDEV's data file. The kernel reports the
 *   backing file of an unlinked file as "<path> (deleted)", so a loop device left over a deleted
 *   LDEV (same file name, old inode) never matches a new volume that reused the LDEV number;
 * - wwid (fc, iscsi): the SCSI WWID is "3" + the LDEV's NAA id (vsp-rest-api.md: host WWID).
 */
export type DeviceIdentity =
  { readonly kind: "loop"; readonly backingFile: string } | { readonly kind: "wwid"; readonly wwid: string };

export interface AttachedDevice {
  /** The device node to mount: /dev/loop3, /dev/dm-2, /dev/sdc. */
  readonly path: string;
  readonly identity: DeviceIdentity;
}

export interface LunPath {
  readonly portId: string;
  readonly lun: number;
}

export interface Portal {
  readonly address: string;
  readonly port: number;
}

/** CHAP for the iSCSI session (NodeStage secrets, the keys of the Kubernetes iSCSI volume). */
export interface Chap {
  readonly username: string;
  readonly password: string;
  readonly usernameIn?: string;
  readonly passwordIn?: string;
}

/** Everything the publish context (src/driver/publish.ts `context()`) says about the LUN. */
export interface AttachTarget {
  readonly volumeId: string;
  readonly ldevId: number;
  /** 32 hex digits, lower case; the host's WWID is "3" + naa. Absent only for sim. */
  readonly naa?: string;
  readonly luns: readonly LunPath[];
  readonly targetWwns: ReadonlyMap<string, string>;
  readonly portals: ReadonlyMap<string, Portal>;
  /** Optional: iSCSI target IQN per port; without it the node logs in to what discovery returns. */
  readonly targetIqns: ReadonlyMap<string, string>;
  readonly chap?: Chap;
}

export interface DeviceDriver {
  readonly transport: NodeTransport;
  /** The identity the target's device must have (throws NOT_FOUND when the sim LDEV has no data). */
  identityOf(target: AttachTarget): Promise<DeviceIdentity>;
  /** Finds (scanning only the published LUN) or attaches the device, waits for it and verifies it. */
  attach(target: AttachTarget): Promise<AttachedDevice>;
  /** The device currently attached with this identity, without scanning; undefined when none. */
  find(identity: DeviceIdentity): Promise<string | undefined>;
  /** Makes the device show its new size after the array grew the LUN. */
  refreshSize(identity: DeviceIdentity): Promise<void>;
  /** Removes every device of this identity; verified; nothing attached is success. */
  detach(identity: DeviceIdentity): Promise<void>;
}

export function describeIdentity(identity: DeviceIdentity): string {
  return identity.kind === "loop" ? `LDEV file ${identity.backingFile}` : `WWID ${identity.wwid}`;
}
