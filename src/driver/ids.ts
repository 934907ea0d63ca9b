/**
 * CSI volume, snapshot and group snapshot IDs: self-describing, versioned, and parsed by exactly
 * one function per kind that is the exact inverse of its formatter (ARCHITECTURE §3; the layout
 * idea follows ceph-csi `util/volid.go`).
 *
 * Layout (fields separated by "."; every field is ASCII; no field contains a dot):
 *
 * | kind                        | format                                                        | example                                                   |
 * |-----------------------------|---------------------------------------------------------------|-----------------------------------------------------------|
 * | volume                      | `1.<storageDeviceId>.v.<ldevId>.<label>`                      | `1.886000123456.v.291.cv-<29 base32>`                     |
 * | snapshot, Thin Image        | `1.<storageDeviceId>.ti.<pvolLdevId>.<muNumber>.<groupName>`  | `1.886000123456.ti.291.3.cs-<29 base32>`                  |
 * | snapshot, ShadowImage copy  | `1.<storageDeviceId>.si.<svolLdevId>.<copyGroupName>`         | `1.886000123456.si.512.ci-<28 base32>`                    |
 * | group snapshot              | `1.<storageDeviceId>.grp.<groupName>`                         | `1.886000123456.grp.cg-<29 base32>`                       |
 *
 * - `1` is the format version; a future layout gets a new number and its own parser branch.
 * - storageDeviceId: exactly 12 digits (model prefix + serial, as the REST API spells it), so the
 *   ID alone says which configured array holds the object — any controller replica can act on it.
 * - LDEV IDs: decimal 0–65279 (00:00:00–00:FE:FF), no leading zeros, so each number has exactly one
 *   spelling and format(parse(s)) === s.
 * - label: the volume's LDEV label, as produced by names.ts `volumeLabel` (`cv-…`, 32 characters).
 *   LDEV numbers are reused: once a volume is deleted, the array may give its number to a new
 *   volume. The driver compares the label it reads from the array with the one in the ID, so a
 *   retried DeleteVolume or a stale ControllerPublish for the old volume finds "no such volume"
 *   instead of acting on the new one.
 * - muNumber: 0–1023 (1,024 snapshots per P-VOL, D-TI-SPLIT).
 * - groupName: the Thin Image snapshot group of the pair, as produced by names.ts — `cs-…` for a
 *   single snapshot, `cg-…` for a member of a group snapshot. It makes a stale ID distinguishable
 *   when its MU number has since been reused by a newer snapshot of the same volume: the pair at
 *   (pvol, mu) exists but belongs to another group, so the old snapshot is gone.
 * - The longest ID (Thin Image) is 61 bytes, a volume ID 55 bytes — well under the 128 bytes CSI
 *   recommends.
 *
 * Error mapping is the CALLER's job. A parser only says "this is not one of our IDs" by throwing
 * `InvalidIdError`; it cannot know whether the object exists. The CSI layer decides per RPC:
 * an empty ID is INVALID_ARGUMENT (checked before parsing); an ID that does not parse, or parses
 * but names an unconfigured array, a missing LDEV/pair or an LDEV whose label differs from the
 * ID's, means "no such object" — NOT_FOUND for ControllerPublish/Unpublish,
 * ValidateVolumeCapabilities, ControllerExpandVolume, NodeGetVolumeStats, CreateVolume's content
 * source, etc.; success for DeleteVolume and DeleteSnapshot (idempotent delete); an empty result
 * for ListSnapshots filtered by ID. csi-sanity sends IDs such as "fake-volume-id" and expects
 * exactly that behaviour.
 */
import { classifyLabel } from "./names.js";
import type { OurNameKind } from "./names.js";

/** The ID format version this code writes and reads. */
export const ID_VERSION = "1";
/** CSI's recommended maximum ID size in bytes. */
export const MAX_ID_BYTES = 128;
/** Highest LDEV ID on a VSP (00:FE:FF). */
export const MAX_LDEV_ID = 65279;
/** Highest Thin Image MU number (1,024 snapshots per P-VOL). */
export const MAX_MU_NUMBER = 1023;

export interface VolumeId {
  readonly kind: "volume";
  readonly storageDeviceId: string;
  readonly ldevId: number;
  /**
   * `cv-…`, the LDEV label from names.ts `volumeLabel`. The driver checks it against the label
   * the array reports, so the ID never acts on a later volume that reused the LDEV number.
   */
  readonly label: string;
}

export interface ThinImageSnapshotId {
  readonly kind: "ti-snapshot";
  readonly storageDeviceId: string;
  readonly pvolLdevId: number;
  readonly muNumber: number;
  /** `cs-…` (single snapshot) or `cg-…` (member of a group snapshot), see names.ts. */
  readonly snapshotGroupName: string;
}

export interface ShadowImageSnapshotId {
  readonly kind: "si-snapshot";
  readonly storageDeviceId: string;
  readonly svolLdevId: number;
  /** `ci-…`, see names.ts. */
  readonly copyGroupName: string;
}

export type SnapshotId = ThinImageSnapshotId | ShadowImageSnapshotId;

export interface GroupSnapshotId {
  readonly kind: "group-snapshot";
  readonly storageDeviceId: string;
  /** `cg-…`, see names.ts. */
  readonly snapshotGroupName: string;
}

export type CsiId = VolumeId | SnapshotId | GroupSnapshotId;
export type CsiIdKind = CsiId["kind"];

/**
 * The string is not an ID of the expected kind written by this driver. It says nothing about
 * existence; see the module comment for how the CSI layer maps it per RPC.
 */
export class InvalidIdError extends Error {
  override name = "InvalidIdError";
  constructor(
    /** What the caller asked for: "volume", "snapshot", "group snapshot" or "CSI". */
    readonly expected: string,
    readonly id: string,
    readonly reason: string,
  ) {
    super(`not a vsp-csi ${expected} ID (${reason}): ${quote(id)}`);
  }
}

/** Quote an untrusted ID for a message; long garbage is cut so logs stay readable. */
function quote(id: string): string {
  return JSON.stringify(id.length > 140 ? `${id.slice(0, 140)}…` : id);
}

const DEVICE_ID = /^[0-9]{12}$/;
const CANONICAL_UINT = /^(?:0|[1-9][0-9]{0,4})$/;

/** Internal: why a string is not one of our IDs (becomes `InvalidIdError.reason`). */
class Rejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function uint(text: string | undefined, max: number, what: string): number {
  if (text === undefined || !CANONICAL_UINT.test(text)) {
    throw new Rejected(`${what} is not a canonical decimal number`);
  }
  const n = Number(text);
  if (n > max) throw new Rejected(`${what} is above ${max}`);
  return n;
}

function deviceId(text: string | undefined): string {
  if (text === undefined || !DEVICE_ID.test(text)) throw new Rejected("storage device ID is not 12 digits");
  return text;
}

/** An array-side name (names.ts) of one of `kinds`; throws `Rejected` for anything else. */
function ourName(text: string | undefined, kinds: readonly OurNameKind[], what: string): string {
  const kind = text === undefined ? undefined : classifyLabel(text);
  if (text === undefined || kind === undefined) throw new Rejected(`${what} is not one written by vsp-csi`);
  if (!kinds.includes(kind)) throw new Rejected(`${what} is a ${kind} name`);
  return text;
}

/** Parse any of our IDs; throws `Rejected`. */
function parseAny(id: string): CsiId {
  if (Buffer.byteLength(id, "utf8") > MAX_ID_BYTES) throw new Rejected(`longer than ${MAX_ID_BYTES} bytes`);
  const parts = id.split(".");
  if (parts[0] !== ID_VERSION) throw new Rejected("unknown format version");
  const storageDeviceId = deviceId(parts[1]);
  const tag = parts[2];
  if (tag === "v" && parts.length === 5) {
    return {
      kind: "volume",
      storageDeviceId,
      ldevId: uint(parts[3], MAX_LDEV_ID, "LDEV ID"),
      label: ourName(parts[4], ["volume"], "volume label"),
    };
  }
  if (tag === "ti" && parts.length === 6) {
    return {
      kind: "ti-snapshot",
      storageDeviceId,
      pvolLdevId: uint(parts[3], MAX_LDEV_ID, "P-VOL LDEV ID"),
      muNumber: uint(parts[4], MAX_MU_NUMBER, "MU number"),
      snapshotGroupName: ourName(parts[5], ["snapshot", "group-snapshot"], "snapshot group name"),
    };
  }
  if (tag === "si" && parts.length === 5) {
    return {
      kind: "si-snapshot",
      storageDeviceId,
      svolLdevId: uint(parts[3], MAX_LDEV_ID, "S-VOL LDEV ID"),
      copyGroupName: ourName(parts[4], ["shadow-image"], "copy group name"),
    };
  }
  if (tag === "grp" && parts.length === 4) {
    return {
      kind: "group-snapshot",
      storageDeviceId,
      snapshotGroupName: ourName(parts[3], ["group-snapshot"], "snapshot group name"),
    };
  }
  throw new Rejected("unknown layout");
}

function tryParse(id: string): CsiId | Rejected {
  try {
    return parseAny(id);
  } catch (err) {
    if (err instanceof Rejected) return err;
    throw err;
  }
}

function parseAs<K extends CsiIdKind>(
  id: string,
  expected: string,
  kinds: readonly K[],
): Extract<CsiId, { kind: K }> {
  const parsed = tryParse(id);
  if (parsed instanceof Rejected) throw new InvalidIdError(expected, id, parsed.reason);
  if (!(kinds as readonly string[]).includes(parsed.kind)) {
    throw new InvalidIdError(expected, id, `it is a ${parsed.kind} ID`);
  }
  return parsed as Extract<CsiId, { kind: K }>;
}

/**
 * `parse(id)`, or undefined when `id` is not one of our IDs of that kind (`InvalidIdError`): for
 * the RPCs where an ID that is not ours means "no such object".
 */
export function parsedOrUndefined<T>(parse: (id: string) => T, id: string): T | undefined {
  try {
    return parse(id);
  } catch (err) {
    if (err instanceof InvalidIdError) return undefined;
    throw err;
  }
}

/** Parse a CSI volume ID; throws `InvalidIdError` for anything `formatVolumeId` cannot produce. */
export function parseVolumeId(id: string): VolumeId {
  return parseAs(id, "volume", ["volume"]);
}

/** Parse a CSI snapshot ID (Thin Image or ShadowImage); throws `InvalidIdError` otherwise. */
export function parseSnapshotId(id: string): SnapshotId {
  return parseAs(id, "snapshot", ["ti-snapshot", "si-snapshot"]);
}

/** Parse a CSI group snapshot ID; throws `InvalidIdError` otherwise. */
export function parseGroupSnapshotId(id: string): GroupSnapshotId {
  return parseAs(id, "group snapshot", ["group-snapshot"]);
}

/** Parse any of the driver's IDs (e.g. for logging a request's object); throws `InvalidIdError`. */
export function parseCsiId(id: string): CsiId {
  return parseAs(id, "CSI", ["volume", "ti-snapshot", "si-snapshot", "group-snapshot"]);
}

/**
 * Format any ID. Throws `RangeError` for a value its parser would reject (a programming error:
 * the driver only formats what it read from the array), so every formatted ID round-trips.
 */
export function formatCsiId(id: CsiId): string {
  const text = render(id);
  const back = tryParse(text);
  if (back instanceof Rejected) throw new RangeError(`cannot format ${id.kind} ID: ${back.reason}`);
  if (JSON.stringify(fields(back)) !== JSON.stringify(fields(id))) {
    throw new RangeError(`cannot format ${id.kind} ID: it would not parse back to the same fields`);
  }
  return text;
}

/** The fields of an ID in a fixed order (to compare IDs whatever extra properties they carry). */
function fields(id: CsiId): unknown[] {
  switch (id.kind) {
    case "volume":
      return [id.kind, id.storageDeviceId, id.ldevId, id.label];
    case "ti-snapshot":
      return [id.kind, id.storageDeviceId, id.pvolLdevId, id.muNumber, id.snapshotGroupName];
    case "si-snapshot":
      return [id.kind, id.storageDeviceId, id.svolLdevId, id.copyGroupName];
    case "group-snapshot":
      return [id.kind, id.storageDeviceId, id.snapshotGroupName];
  }
}

function render(id: CsiId): string {
  const head = `${ID_VERSION}.${id.storageDeviceId}`;
  switch (id.kind) {
    case "volume":
      return `${head}.v.${String(id.ldevId)}.${id.label}`;
    case "ti-snapshot":
      return `${head}.ti.${String(id.pvolLdevId)}.${String(id.muNumber)}.${id.snapshotGroupName}`;
    case "si-snapshot":
      return `${head}.si.${String(id.svolLdevId)}.${id.copyGroupName}`;
    case "group-snapshot":
      return `${head}.grp.${id.snapshotGroupName}`;
  }
}

/** `1.<storageDeviceId>.v.<ldevId>.<label>` */
export function formatVolumeId(id: Omit<VolumeId, "kind">): string {
  return formatCsiId({
    kind: "volume",
    storageDeviceId: id.storageDeviceId,
    ldevId: id.ldevId,
    label: id.label,
  });
}

/** `1.<sid>.ti.<pvol>.<mu>.<group>` or `1.<sid>.si.<svol>.<copyGroup>` */
export function formatSnapshotId(id: SnapshotId): string {
  return formatCsiId(id);
}

/** `1.<storageDeviceId>.grp.<snapshotGroupName>` */
export function formatGroupSnapshotId(id: Omit<GroupSnapshotId, "kind">): string {
  return formatCsiId({
    kind: "group-snapshot",
    storageDeviceId: id.storageDeviceId,
    snapshotGroupName: id.snapshotGroupName,
  });
}

/**
 * The group snapshot a snapshot ID is a member of (`…ti…cg-…` → `1.<sid>.grp.cg-…`), or undefined
 * for any other ID. Lets a restore from a member lock out a concurrent delete of its group.
 */
export function groupSnapshotIdOfMember(snapshotId: string): string | undefined {
  const parsed = tryParse(snapshotId);
  if (parsed instanceof Rejected || parsed.kind !== "ti-snapshot") return undefined;
  if (classifyLabel(parsed.snapshotGroupName) !== "group-snapshot") return undefined;
  return formatGroupSnapshotId(parsed);
}
