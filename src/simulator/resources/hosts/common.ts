/**
 * Shared rules of host attachment (reference §7): ports, host groups / iSCSI targets, and the
 * object ids that name them (`CL1-A,5`, `CL1-A,5,<wwn>`, `CL1-A,5,<lun>`).
 *
 * Error style used by every module in this folder:
 * - a malformed value in the body, query or object id → 400 (KART20003-E / KART20005-E / KART20008-E),
 *   answered by the REST server, no job;
 * - a port, host group or sub-object that does not exist → 404 KART30013-E (EX_ENOOBJ), also synchronous,
 *   as a GET of the same object would answer (Cinder ignores exactly this on unmap, CIN-REST `unmap_ldev`);
 * - a well-formed request the storage system refuses (duplicates, limits, undefined LDEV) → Failed job
 *   with SSB codes (reference §2/§3).
 */
import { z } from "zod";

import { invalidObjectId, invalidParameter, missingParameter, objectNotFound } from "../../errors.js";
import { intParam } from "../../routing.js";
import type { HostGroupState, PortState, SimState } from "../../state.js";

/** Host groups per port: numbers 0-254, 255 groups (LUN Manager rules, D-HTI-UG mirror hm8pvo/CACFCIDJ). */
export const MAX_HOST_GROUP_NUMBER = 254;
/** LUNs 0-2047: up to 2,048 LU paths per host group and per port (same LUN Manager rules page). */
export const MAX_LUN = 2047;
export const MAX_LU_PATHS_PER_PORT = 2048;
/**
 * sim: WWNs (or initiator IQNs) per host group. The reference names the limit (B957/4184, CIN-API
 * `EXCEED_WWN_MAX`) but not its value; 255 is the simulator's choice.
 */
export const MAX_HOSTS_PER_GROUP = 255;

/** Host modes (NOTES; TF `CreateHostGroupReqGwy` comment; ANS `gHostMode`). Default LINUX/IRIX. */
export const HOST_MODES = [
  "LINUX/IRIX",
  "VMWARE",
  "VMWARE_EX",
  "WIN",
  "WIN_EX",
  "HP-UX",
  "SOLARIS",
  "AIX",
  "TRU64",
  "OVMS",
  "NETWARE",
] as const;

/**
 * Host mode options are small integers (Cinder sets 83 and 91; the Ansible collection knows 2-131).
 * sim: accepted range 0-255.
 */
export const hostModeOptionSchema = z.number().int().min(0).max(255);

export const portIdSchema = z.string().min(1).max(16);
export const hostGroupNumberSchema = z.number().int().min(0).max(MAX_HOST_GROUP_NUMBER);

export function findPort(state: SimState, portId: string): PortState | undefined {
  return state.ports.find((p) => p.portId === portId);
}

export function requirePort(state: SimState, portId: string): PortState {
  const port = findPort(state, portId);
  if (!port) throw objectNotFound(`port ${portId}`);
  return port;
}

export function isIscsiPort(port: PortState): boolean {
  return port.portType === "ISCSI";
}

export function findHostGroup(
  state: SimState,
  portId: string,
  hostGroupNumber: number,
): HostGroupState | undefined {
  return state.hostGroups.find((g) => g.portId === portId && g.hostGroupNumber === hostGroupNumber);
}

/** The port and the host group on it, or 404 for whichever does not exist. */
export function requireHostGroup(
  state: SimState,
  portId: string,
  hostGroupNumber: number,
): { port: PortState; group: HostGroupState } {
  const port = requirePort(state, portId);
  const group = findHostGroup(state, portId, hostGroupNumber);
  if (!group) throw objectNotFound(`host group ${portId},${hostGroupNumber}`);
  return { port, group };
}

export function hostGroupsOf(state: SimState, portId: string): HostGroupState[] {
  return state.hostGroups
    .filter((g) => g.portId === portId)
    .sort((a, b) => a.hostGroupNumber - b.hostGroupNumber);
}

export function hostGroupIdOf(portId: string, hostGroupNumber: number): string {
  return `${portId},${hostGroupNumber}`;
}

function groupNumberOf(raw: string, id: string): number {
  if (!/^\d+$/.test(raw)) throw invalidObjectId(id);
  const n = Number(raw);
  if (n > MAX_HOST_GROUP_NUMBER) throw invalidObjectId(id);
  return n;
}

/** `CL1-A,5` → port and host group number (400 KART20005-E when malformed). */
export function parseHostGroupId(id: string): { portId: string; hostGroupNumber: number } {
  const parts = id.split(",");
  const [portId, gid] = parts;
  if (parts.length !== 2 || !portId || gid === undefined) throw invalidObjectId(id);
  return { portId, hostGroupNumber: groupNumberOf(gid, id) };
}

/**
 * `CL1-A,5,<tail>` → port, host group number and the tail (a WWN, IQN, LUN or `INI,<user>`). The
 * tail keeps any further commas: an IQN or CHAP user name may contain one.
 */
export function parseGroupScopedId(id: string): { portId: string; hostGroupNumber: number; tail: string } {
  const parts = id.split(",");
  const [portId, gid] = parts;
  const tail = parts.slice(2).join(",");
  if (!portId || gid === undefined || tail === "") throw invalidObjectId(id);
  return { portId, hostGroupNumber: groupNumberOf(gid, id), tail };
}

/** Query filter `portId` (required) + optional `hostGroupNumber`. */
export function portQuery(query: URLSearchParams): { portId: string; hostGroupNumber: number | undefined } {
  const portId = query.get("portId");
  if (portId === null || portId === "") throw missingParameter("portId");
  const raw = query.get("hostGroupNumber");
  if (raw === null) return { portId, hostGroupNumber: undefined };
  return { portId, hostGroupNumber: intParam(raw, "hostGroupNumber", 0, MAX_HOST_GROUP_NUMBER) };
}

/** `true`/`false` in a query, as Python's requests sends them too (`True`/`False`). */
export function boolQuery(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw === null || raw === "") return false;
  const lower = raw.toLowerCase();
  if (lower !== "true" && lower !== "false") throw invalidParameter(name, "must be true or false");
  return lower === "true";
}

/** Comma-separated `detailInfoType` values, e.g. `portMode,logins`. */
export function detailTypes(query: URLSearchParams): Set<string> {
  const raw = query.get("detailInfoType") ?? "";
  return new Set(
    raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/**
 * Object names the array accepts: printable ASCII, not starting with a hyphen or space, no slash or
 * backslash (D-FMT: "no / or \ in URLs", "a value may not start with -"). sim: the exact set of
 * symbols the array allows in host group names is not in the reference.
 */
export function checkName(name: string, field: string, maxLength: number): void {
  if (name.length === 0 || name.length > maxLength) {
    throw invalidParameter(field, `must be 1 to ${maxLength} characters`);
  }
  if (!/^[\x20-\x7e]+$/.test(name) || /^[- ]/.test(name) || /[\\/]/.test(name)) {
    throw invalidParameter(field, "contains characters that cannot be used");
  }
}

/**
 * iSCSI names (RFC 3720 forms): `iqn.yyyy-mm.reversed.domain[:anything]` or `eui.` + 16 hex digits,
 * at most 223 characters.
 */
export function checkIscsiName(name: string, field: string): void {
  const iqn = /^iqn\.\d{4}-\d{2}\.[A-Za-z0-9][A-Za-z0-9.-]*(:[\x21-\x7e]*)?$/;
  const eui = /^eui\.[0-9A-Fa-f]{16}$/;
  if (name.length > 223 || !(iqn.test(name) || eui.test(name))) {
    throw invalidParameter(field, "must be an iSCSI name in iqn. or eui. format (up to 223 characters)");
  }
}

/** iSCSI names compare case-insensitively (RFC 3722 normalizes them to lower case). */
export function sameIscsiName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The groups a listing covers. An unknown `hostGroupName` gives HTTP 200 with an empty list, not an
 * error, as does a group that holds no initiator yet. Cinder probes each target port by name first
 * and treats "nothing" as "not registered here" (CIN-FC `_lookup_group_by_name`); its client raises
 * on any 4xx it was not told to ignore (CIN-API `_check_rest_api_response`), so an error would abort
 * every first attach, and its unit tests fake exactly this answer, `{"data": []}` with 200, for the
 * name probe of a host not yet known (CIN-TEST-FC `NOTFOUND_RESULT` in `test_do_setup_create_hg`,
 * `test_initialize_connection_shared_target`). sim: the name is matched exactly.
 */
export function groupsForListing(state: SimState, query: URLSearchParams): HostGroupState[] {
  const { portId, hostGroupNumber } = portQuery(query);
  requirePort(state, portId);
  if (hostGroupNumber !== undefined) return [requireHostGroup(state, portId, hostGroupNumber).group];
  const name = query.get("hostGroupName");
  const groups = hostGroupsOf(state, portId);
  return name === null ? groups : groups.filter((g) => g.hostGroupName === name);
}
