/**
 * The publish context ControllerPublishVolume hands the node (src/driver/publish.ts `context()`),
 * parsed strictly: a malformed field is INVALID_ARGUMENT, never a guess about which disk to take.
 *
 *   transport  "fc" | "iscsi" | "sim"
 *   naa        32 hex digits (the host's WWID is "3" + naa)
 *   luns       "CL1-A:0,CL2-A:0"
 *   targetWwns "CL1-A:50060e8012345600,…"          (fc, sim)
 *   portals    "CL3-A:192.0.2.10:3260,…"            (iscsi)
 *   targetIqns "CL3-A:iqn.1994-04.jp.co.hitachi:…"  (iscsi, optional: not sent by the controller yet)
 *   readonly   "true" | "false"
 *   ldevId     decimal
 */
import { InvalidArgumentError } from "../../driver/errors.js";
import { InvalidIdError, parseVolumeId } from "../../driver/ids.js";
import type { NodeTransport } from "../initiators.js";
import type { AttachTarget, Chap, LunPath, Portal } from "./types.js";

const TRANSPORTS: readonly NodeTransport[] = ["fc", "iscsi", "sim"];
const PORT_ID = /^CL[0-9A-Z]-[A-Z]{1,2}$/;
/** VSP LUNs are 0–2047 per host group. */
const MAX_LUN = 2047;

/** Secret keys of the Kubernetes iSCSI volume plugin (and csi-driver-iscsi) for session CHAP. */
export const CHAP_KEYS = {
  username: "node.session.auth.username",
  password: "node.session.auth.password",
  usernameIn: "node.session.auth.username_in",
  passwordIn: "node.session.auth.password_in",
} as const;

function bad(field: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`publish_context ${field}: ${why}`);
}

/** "CL1-A:rest" pairs; the rest may contain colons (IQNs, addresses). */
function portPairs(field: string, text: string | undefined): [string, string][] {
  if (text === undefined || text === "") return [];
  return text.split(",").map((item) => {
    const colon = item.indexOf(":");
    const portId = item.slice(0, colon);
    if (colon < 0 || !PORT_ID.test(portId)) throw bad(field, `"${item}" is not <port>:<value>`);
    return [portId, item.slice(colon + 1)];
  });
}

function parseLuns(text: string | undefined): LunPath[] {
  return portPairs("luns", text).map(([portId, value]) => {
    const lun = Number(value);
    if (!/^[0-9]+$/.test(value) || lun > MAX_LUN) throw bad("luns", `LUN "${value}" is not 0–${MAX_LUN}`);
    return { portId, lun };
  });
}

function parsePortals(text: string | undefined): Map<string, Portal> {
  const portals = new Map<string, Portal>();
  for (const [portId, value] of portPairs("portals", text)) {
    const m = /^\[?([^[\]]+?)\]?:([0-9]{1,5})$/.exec(value);
    const port = Number(m?.[2]);
    if (!m?.[1] || port < 1 || port > 65535) throw bad("portals", `"${value}" is not <address>:<port>`);
    portals.set(portId, { address: m[1], port });
  }
  return portals;
}

function parseWwns(text: string | undefined): Map<string, string> {
  const wwns = new Map<string, string>();
  for (const [portId, value] of portPairs("targetWwns", text)) {
    const wwn = value.toLowerCase().replace(/^0x/, "");
    if (!/^[0-9a-f]{16}$/.test(wwn)) throw bad("targetWwns", `"${value}" is not a 16-hex-digit WWN`);
    wwns.set(portId, wwn);
  }
  return wwns;
}

function ldevIdOf(volumeId: string, text: string | undefined): number {
  let fromId: number | undefined;
  try {
    fromId = parseVolumeId(volumeId).ldevId;
  } catch (err) {
    if (!(err instanceof InvalidIdError)) throw err;
  }
  const fromContext = text === undefined || text === "" ? undefined : Number(text);
  if (fromContext !== undefined && (!/^[0-9]+$/.test(text ?? "") || fromContext > 65279))
    throw bad("ldevId", `"${text ?? ""}" is not an LDEV id`);
  if (fromContext !== undefined && fromId !== undefined && fromContext !== fromId) {
    throw bad("ldevId", `${fromContext} is not the LDEV of volume ${volumeId} (${fromId})`);
  }
  const ldevId = fromContext ?? fromId;
  if (ldevId === undefined) throw bad("ldevId", "missing, and the volume id names no LDEV");
  return ldevId;
}

function chapOf(secrets: Record<string, string>): Chap | undefined {
  const username = secrets[CHAP_KEYS.username];
  const password = secrets[CHAP_KEYS.password];
  if (username === undefined && password === undefined) return undefined;
  if (!username || !password) {
    throw new InvalidArgumentError(`CHAP needs both ${CHAP_KEYS.username} and ${CHAP_KEYS.password}`);
  }
  const usernameIn = secrets[CHAP_KEYS.usernameIn];
  const passwordIn = secrets[CHAP_KEYS.passwordIn];
  return { username, password, ...(usernameIn && passwordIn ? { usernameIn, passwordIn } : {}) };
}

/** The transport: the node's forced one, else the context's, else the node's default. */
export function transportOf(
  context: Record<string, string>,
  forced: NodeTransport | undefined,
  fallback: NodeTransport,
): NodeTransport {
  if (forced) return forced;
  const named = context.transport;
  if (named === undefined || named === "") return fallback;
  const known = TRANSPORTS.find((t) => t === named);
  if (!known) throw bad("transport", `"${named}" is not fc, iscsi or sim`);
  return known;
}

export function parseAttachTarget(
  volumeId: string,
  transport: NodeTransport,
  context: Record<string, string>,
  secrets: Record<string, string>,
): AttachTarget {
  const naaText = context.naa?.toLowerCase();
  if (naaText !== undefined && naaText !== "" && !/^[0-9a-f]{32}$/.test(naaText))
    throw bad("naa", "is not 32 hex digits");
  const naa = naaText === "" ? undefined : naaText;
  const luns = parseLuns(context.luns);
  if (transport !== "sim" && (naa === undefined || luns.length === 0)) {
    throw new InvalidArgumentError(
      `publish_context has no ${naa === undefined ? "naa" : "luns"}: ControllerPublishVolume must map the volume to this node first`,
    );
  }
  const chap = chapOf(secrets);
  return {
    volumeId,
    ldevId: ldevIdOf(volumeId, context.ldevId),
    ...(naa === undefined ? {} : { naa }),
    luns,
    targetWwns: parseWwns(context.targetWwns),
    portals: parsePortals(context.portals),
    targetIqns: new Map(portPairs("targetIqns", context.targetIqns)),
    ...(chap ? { chap } : {}),
  };
}
