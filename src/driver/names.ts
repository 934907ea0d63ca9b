/**
 * Array-side names for CSI objects: fixed-length digests of the CO name.
 *
 * A CSI name (the PVC/VolumeSnapshot UID the sidecars send, up to 128 bytes of UTF-8) does not fit
 * on the array: an LDEV label is 0–32 characters and a Thin Image snapshot group name 1–32
 * characters, both from alphanumerics and `, - . : @ _` (vsp-rest-api.md §4 "Change / label",
 * §5 "Snapshot group name 1–32 chars"); ShadowImage copy group names are at most 31 (§6, D-SI-LIST).
 * So the driver stores a digest of the name on the array object, and idempotent lookups by name
 * ("does a volume for PVC X already exist?") work from the array alone, after a restart, from a
 * second controller, or with a lost cluster (ARCHITECTURE §3).
 *
 * Layout: `<prefix>` + the first N characters of lowercase base32 (RFC 4648 alphabet, no padding)
 * of sha256(driverName + "\0" + coName):
 *
 * | object                         | prefix | digest chars | bits | total |
 * |--------------------------------|--------|--------------|------|-------|
 * | volume (LDEV label)            | `cv-`  | 29           | 145  | 32    |
 * | snapshot (its S-VOL's label)   | `cs-`  | 29           | 145  | 32    |
 * | group snapshot (TI CTG group)  | `cg-`  | 29           | 145  | 32    |
 * | ShadowImage copy group         | `ci-`  | 28           | 140  | 31    |
 *
 * Why the driver name is in the digest: two driver instances (two clusters, or two CSIDriver names
 * in one cluster) may share one array. Each derives different labels for the same CO name, so one
 * never adopts or deletes the other's volume as "already existing". The "\0" separator cannot occur
 * in a driver name (DNS-1123, validated by the config), so the (driverName, coName) pair is encoded
 * unambiguously.
 *
 * Collision odds: 145 bits of a uniform hash; by the birthday bound, n names collide with
 * probability ≈ n² / 2^146 — for a million volumes about 10^-32. 140 bits for ShadowImage groups
 * changes nothing in practice.
 *
 * THE ALGORITHM IS A STORAGE FORMAT: changing the hash, the encoding, the separator or the prefixes
 * orphans every volume and snapshot already on an array. The tests pin fixed vectors for that reason.
 *
 * Limitation: `classifyLabel`/`isOurLabel` recognise any vsp-csi label, not which driver instance
 * wrote it (the digest is one-way). To confirm a specific CO name, compare with the derived label.
 */
import { createHash } from "node:crypto";

import { InvalidArgumentError } from "./errors.js";

/** Prefix of LDEV labels of volumes this driver created. */
export const VOLUME_LABEL_PREFIX = "cv-";
/**
 * Prefix of the S-VOL labels of single snapshots (and of their Thin Image snapshot group, for
 * pairs made before groups were shared, see SHARED_GROUPS).
 */
export const SNAPSHOT_GROUP_PREFIX = "cs-";
/** Prefix of Thin Image snapshot group names (consistency-group mode) of group snapshots. */
export const GROUP_SNAPSHOT_GROUP_PREFIX = "cg-";
/** Prefix of ShadowImage copy group names (full-copy snapshots, a later issue). */
export const SHADOW_IMAGE_COPY_GROUP_PREFIX = "ci-";

/** Digest characters after the 3-character prefix: 32-char names for TI/LDEVs, 31 for SI. */
const TI_DIGEST_CHARS = 29;
const SI_DIGEST_CHARS = 28;

/** RFC 4648 §6 base32 alphabet, lowercased; every character is allowed in labels and group names. */
const BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * A CO name that cannot be digested (empty, or not well-formed UTF-16): always the request's fault,
 * so it is an InvalidArgumentError (gRPC INVALID_ARGUMENT at the CSI boundary).
 */
export class InvalidNameError extends InvalidArgumentError {}

/** What kind of driver object an array-side name denotes. */
export type OurNameKind = "volume" | "snapshot" | "group-snapshot" | "shadow-image";

const OUR_NAME_PATTERNS: readonly (readonly [OurNameKind, RegExp])[] = [
  ["volume", /^cv-[a-z2-7]{29}$/],
  ["snapshot", /^cs-[a-z2-7]{29}$/],
  ["group-snapshot", /^cg-[a-z2-7]{29}$/],
  ["shadow-image", /^ci-[a-z2-7]{28}$/],
];

/** Lowercase RFC 4648 base32 without padding. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET.charAt((buffer >>> bits) & 31);
    }
  }
  if (bits > 0) out += BASE32_ALPHABET.charAt((buffer << (5 - bits)) & 31);
  return out;
}

/** With the `u` flag a surrogate pair is one code point, so only a lone surrogate matches `Cs`. */
const LONE_SURROGATE = /\p{Cs}/u;

function digest(driverName: string, coName: string, chars: number): string {
  if (driverName === "") throw new InvalidNameError("driver name must not be empty");
  if (coName === "") throw new InvalidNameError("name must not be empty");
  // A lone surrogate would be encoded as U+FFFD, so two different names could share a digest.
  // Protobuf strings are always well-formed; this guards programmatic callers.
  if (LONE_SURROGATE.test(coName) || LONE_SURROGATE.test(driverName)) {
    throw new InvalidNameError("name is not well-formed Unicode");
  }
  const hash = createHash("sha256").update(`${driverName}\0${coName}`, "utf8").digest();
  return base32(hash).slice(0, chars);
}

/** LDEV label of the volume the CO calls `coName`: `cv-` + 29 base32 chars (32 in all). */
export function volumeLabel(driverName: string, coName: string): string {
  return VOLUME_LABEL_PREFIX + digest(driverName, coName, TI_DIGEST_CHARS);
}

/** The S-VOL label of the Thin Image snapshot `coName`: `cs-` + 29 base32 chars. */
export function snapshotLabel(driverName: string, coName: string): string {
  return SNAPSHOT_GROUP_PREFIX + digest(driverName, coName, TI_DIGEST_CHARS);
}

/** Thin Image snapshot group name (CTG mode) of the group snapshot `coName`: `cg-` + 29. */
export function groupSnapshotGroupName(driverName: string, coName: string): string {
  return GROUP_SNAPSHOT_GROUP_PREFIX + digest(driverName, coName, TI_DIGEST_CHARS);
}

/** ShadowImage copy group name of the full-copy snapshot `coName`: `ci-` + 28 (SI names ≤ 31). */
export function shadowImageCopyGroupName(driverName: string, coName: string): string {
  return SHADOW_IMAGE_COPY_GROUP_PREFIX + digest(driverName, coName, SI_DIGEST_CHARS);
}

/**
 * Shared Thin Image snapshot groups. The array has 2,048 snapshot groups and 8,192 pairs per group
 * (vsp-rest-api.md §5): one group per snapshot or per running copy would cap the whole array at
 * 2,048. So single snapshots' pairs and clone copies' pairs go into SHARED_GROUPS groups each,
 * chosen by LDEV id (a P-VOL's snapshots share a group), the next one when a group is full. A
 * shared group identifies nothing: a snapshot is found by its S-VOL's label (`cs-…`, in its
 * window), a copy by its S-VOL (`GET snapshots?svolLdevId=`). The driver never acts on a shared
 * group as a whole (no group split, delete or restore), so two driver instances on one array may
 * share them; the array removes a group with its last pair. Cinder spreads its pairs the same way
 * over 8 groups per kind (§5 "HBSD-snap<n>").
 */
export const SHARED_GROUPS = 128;
const SHARED_SNAPSHOT_GROUP = /^vsp-csi-snap-(\d{3})$/;
const SHARED_COPY_GROUP = /^vsp-csi-copy-(\d{3})$/;

/** Name of shared group `index` (mod SHARED_GROUPS) of `kind`: `vsp-csi-snap-042`, `vsp-csi-copy-042`. */
export function sharedGroupName(kind: "snapshots" | "copies", index: number): string {
  const n = String(((index % SHARED_GROUPS) + SHARED_GROUPS) % SHARED_GROUPS).padStart(3, "0");
  return `vsp-csi-${kind === "snapshots" ? "snap" : "copy"}-${n}`;
}

/** Which kind of shared group a snapshot group name is, or undefined. */
export function sharedGroupKind(name: string): "snapshots" | "copies" | undefined {
  if (SHARED_SNAPSHOT_GROUP.test(name)) return "snapshots";
  if (SHARED_COPY_GROUP.test(name)) return "copies";
  return undefined;
}

/**
 * Which kind of vsp-csi object an LDEV label / group name denotes, or undefined when it is not one
 * of ours. The driver must never touch (list, adopt, delete) an array object this rejects: other
 * applications, Cinder (32-hex labels) and administrators share the array.
 */
export function classifyLabel(label: string): OurNameKind | undefined {
  for (const [kind, pattern] of OUR_NAME_PATTERNS) {
    if (pattern.test(label)) return kind;
  }
  return undefined;
}

/** True when `label` is a name this driver family writes (any kind). See `classifyLabel`. */
export function isOurLabel(label: string): boolean {
  return classifyLabel(label) !== undefined;
}

/** Characters of the group's digest that every member S-VOL label of the group starts with. */
const MEMBER_GROUP_CHARS = GROUP_SNAPSHOT_GROUP_PREFIX.length + 25;
/** base32 digits of the P-VOL's LDEV id (32⁴ > 65,279, the highest LDEV id). */
const MEMBER_LDEV_CHARS = 4;

/**
 * LDEV label of the S-VOL of the member of group snapshot `groupName` (a `cg-` name) whose P-VOL is
 * LDEV `pvolLdevId`: the group name's first 28 characters + the LDEV id in 4 base32 digits (32 in
 * all, a `cg-` label). Every member S-VOL of a group shares the prefix `memberLabelPrefix(group)`,
 * so one range listing finds all of them again — also once the group itself is gone (a delete
 * interrupted between the group and its S-VOLs). 125 bits of the group's digest stay in the prefix.
 */
export function groupMemberSvolLabel(groupName: string, pvolLdevId: number): string {
  if (!Number.isInteger(pvolLdevId) || pvolLdevId < 0 || pvolLdevId >= 32 ** MEMBER_LDEV_CHARS) {
    throw new RangeError(`LDEV id ${pvolLdevId} out of range`);
  }
  let id = "";
  for (let n = pvolLdevId, i = 0; i < MEMBER_LDEV_CHARS; i++, n = Math.floor(n / 32)) {
    id = (BASE32_ALPHABET[n % 32] ?? "a") + id;
  }
  return groupMemberLabelPrefix(groupName) + id;
}

/** The prefix every member S-VOL label of `groupName` starts with. */
export function groupMemberLabelPrefix(groupName: string): string {
  if (classifyLabel(groupName) !== "group-snapshot") throw new RangeError(`${groupName} is not a cg- name`);
  return groupName.slice(0, MEMBER_GROUP_CHARS);
}
