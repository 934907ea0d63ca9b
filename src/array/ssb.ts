/**
 * SSB1/SSB2 codes (the storage system's own sense bytes, in `errorCode` of an error object) that a
 * caller must tell apart, by name. Documented codes first (vsp-rest-api.md §3, from Cinder's
 * hbsd_rest_api.py and hbsd_rest.py); then codes whose meaning the reference leaves open.
 */

export const SSB_CODES = {
  /** The LDEV id is already in use (create with an explicit ldevId). */
  LDEV_ALREADY_DEFINED: ["2E22", "0001"],
  /** No free LDEV id (in the given range). */
  NO_FREE_LDEV_ID: ["2E11", "2209"],
  /** The pool named as snapshotPoolId cannot hold Thin Image data. */
  INVALID_SNAPSHOT_POOL: ["2E30", "600E"],
  /** Maximum number of consistency groups exceeded (TI create with isConsistencyGroup). */
  MAX_CTG: ["2E10", "2302"],
  /** Maximum number of pairs in one consistency group exceeded. */
  MAX_PAIRS_IN_CTG: ["2E13", "9900"],
  /** An LU path for this LDEV already exists in the host group (Cinder ignores it on POST luns). */
  LU_PATH_ALREADY_DEFINED: ["B958", "015A"],
  /** Another LDEV is already mapped at the requested LUN. */
  ANOTHER_LDEV_AT_LUN: ["B958", "0947"],
  /** Maximum number of WWNs in a host group exceeded. */
  MAX_WWNS: ["B957", "4184"],
  /** The resource group is locked by another session (Cinder _REST_LOCKED_ERRORS). */
  LOCKED: ["2E11", "2205"],
  LOCKED_2207: ["2E11", "2207"],
  /** Treated as "locked" by a third-party driver (PVE-FCLU), not by Cinder. */
  LOCKED_2206: ["2E11", "2206"],
  /** Ignored by Cinder on assign-virtual-ldevid: already assigned. */
  VIRTUAL_LDEV_ALREADY_ASSIGNED: ["2E21", "9305"],
  VIRTUAL_LDEV_ALREADY_ASSIGNED_2: ["2E30", "0088"],
  // sim: the reference lists the codes below only as Cinder's "do not retry" set, meanings
  // undocumented (open question 4). The names are the meanings the embedded simulator gives them
  // (src/simulator/errors.ts), so a caller can map them; on a real array treat the name as a guess.
  LDEV_HAS_PATHS: ["B958", "015E"],
  LDEV_IN_PAIR: ["2E10", "9705"],
  PAIR_STATUS_FORBIDS: ["2E10", "9706"],
  MU_IN_USE: ["2E10", "9707"],
  MAX_SNAPSHOTS_PER_PVOL: ["2E11", "8303"],
  POOL_FULL: ["2E30", "0007"],
  INVALID_SVOL: ["B956", "3173"],
  HOST_GROUP_HAS_LUNS: ["B956", "31D7"],
  NO_FREE_HOST_GROUP_NUMBER: ["B956", "31D9"],
  LUN_OUT_OF_RANGE: ["B957", "4188"],
  HOST_GROUP_NAME_IN_USE: ["B956", "3181"],
  HOST_WWN_IN_USE: ["B957", "4185"],
  HOST_ISCSI_NAME_IN_USE: ["B957", "4186"],
} as const satisfies Record<string, readonly [string, string]>;

export type SsbName = keyof typeof SSB_CODES;

export interface Ssb {
  ssb1: string;
  ssb2: string;
}

function key(ssb1: string, ssb2: string): string {
  return `${ssb1}/${ssb2}`.toUpperCase();
}

function codeKey(code: readonly [string, string]): string {
  return key(code[0], code[1]);
}

const LOCK_SSBS = new Set(
  [SSB_CODES.LOCKED, SSB_CODES.LOCKED_2207, SSB_CODES.LOCKED_2206].map((c) => codeKey(c)),
);

/**
 * SSBs that will not change by retrying (Cinder REST_NO_RETRY_ERRORS plus the documented
 * "no retry" rows of §3): a storage error carrying one is never replayed.
 */
const NO_RETRY_SSBS = new Set(
  (
    [
      "LDEV_ALREADY_DEFINED",
      "NO_FREE_LDEV_ID",
      "INVALID_SNAPSHOT_POOL",
      "MAX_CTG",
      "MAX_PAIRS_IN_CTG",
      "LU_PATH_ALREADY_DEFINED",
      "MAX_WWNS",
      "LDEV_HAS_PATHS",
      "LDEV_IN_PAIR",
      "PAIR_STATUS_FORBIDS",
      "MU_IN_USE",
      "MAX_SNAPSHOTS_PER_PVOL",
      "POOL_FULL",
      "INVALID_SVOL",
      "HOST_GROUP_HAS_LUNS",
      "NO_FREE_HOST_GROUP_NUMBER",
      "LUN_OUT_OF_RANGE",
      "HOST_GROUP_NAME_IN_USE",
      "HOST_WWN_IN_USE",
      "HOST_ISCSI_NAME_IN_USE",
    ] as const satisfies readonly SsbName[]
  ).map((name) => codeKey(SSB_CODES[name])),
);

export function ssbMatches(ssb: Ssb | undefined, name: SsbName): boolean {
  if (!ssb) return false;
  const [ssb1, ssb2] = SSB_CODES[name];
  return key(ssb.ssb1, ssb.ssb2) === key(ssb1, ssb2);
}

export function isLockSsb(ssb: Ssb | undefined): boolean {
  return ssb !== undefined && LOCK_SSBS.has(key(ssb.ssb1, ssb.ssb2));
}

export function isNoRetrySsb(ssb: Ssb | undefined): boolean {
  return ssb !== undefined && NO_RETRY_SSBS.has(key(ssb.ssb1, ssb.ssb2));
}

/** The name of a known SSB, for messages and logs. */
export function ssbName(ssb: Ssb | undefined): SsbName | undefined {
  if (!ssb) return undefined;
  const wanted = key(ssb.ssb1, ssb.ssb2);
  return (Object.keys(SSB_CODES) as SsbName[]).find((name) => codeKey(SSB_CODES[name]) === wanted);
}
