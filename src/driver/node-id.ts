/**
 * The CSI node id: the node's name and its initiators, so ControllerPublishVolume knows which
 * WWPNs or IQN to register without asking the cluster. Canonical text form (max 256 bytes, the CSI
 * limit since v1.5):
 *
 *   <nodeName>;fc=<wwpn>,<wwpn>;iscsi=<iqn>;nqn=<hostnqn>
 *
 * Sections other than the name are present only when non-empty; WWPNs are 16 lower-case hex
 * digits, sorted. Because the form is canonical, the controller can rebuild a node's id from what
 * the array holds (the host group name carries the node name, the group's registered WWNs/IQN the
 * initiators), which is how ListVolumes reports published nodes after a controller restart.
 */
import { createHash } from "node:crypto";

import { InvalidArgumentError } from "./errors.js";

export interface NodeIdentity {
  nodeName: string;
  wwpns: string[];
  iqn?: string;
  nqn?: string;
}

const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const WWPN = /^[0-9a-f]{16}$/;
const IQN = /^(iqn\.\d{4}-\d{2}\.[^\s;,]+|eui\.[0-9a-fA-F]{16})$/;
const NQN = /^nqn\.\d{4}-\d{2}\.[^\s;,]+$/;
export const MAX_NODE_ID_BYTES = 256;

export function formatNodeId(node: NodeIdentity): string {
  const parts = [node.nodeName];
  const wwpns = [...new Set(node.wwpns.map((w) => w.toLowerCase()))].sort();
  if (wwpns.length > 0) parts.push(`fc=${wwpns.join(",")}`);
  if (node.iqn) parts.push(`iscsi=${node.iqn}`);
  if (node.nqn) parts.push(`nqn=${node.nqn}`);
  const id = parts.join(";");
  if (Buffer.byteLength(id) > MAX_NODE_ID_BYTES) {
    throw new InvalidArgumentError(`node id would exceed ${MAX_NODE_ID_BYTES} bytes; too many initiators`);
  }
  return id;
}

/** Parses a node id; anything not in the canonical form is INVALID_ARGUMENT / unknown node. */
export function parseNodeId(id: string): NodeIdentity | undefined {
  const [nodeName, ...sections] = id.split(";");
  if (nodeName === undefined || !NODE_NAME.test(nodeName)) return undefined;
  const node: NodeIdentity = { nodeName, wwpns: [] };
  for (const section of sections) {
    const eq = section.indexOf("=");
    const key = section.slice(0, eq);
    const value = section.slice(eq + 1);
    if (eq <= 0 || value === "") return undefined;
    if (key === "fc" && node.wwpns.length === 0) {
      node.wwpns = value.split(",");
      if (!node.wwpns.every((w) => WWPN.test(w))) return undefined;
    } else if (key === "iscsi" && node.iqn === undefined && IQN.test(value)) {
      node.iqn = value;
    } else if (key === "nqn" && node.nqn === undefined && NQN.test(value)) {
      node.nqn = value;
    } else {
      return undefined;
    }
  }
  return formatNodeId(node) === id ? node : undefined;
}

/**
 * The host group (FC) or iSCSI target name for a node on the array: "k8s-" + the node name when it
 * fits the iSCSI limit of 32 characters (so operators recognise it in Storage Navigator), else a
 * prefix of the name plus a digest of the whole name, so distinct nodes never share a group.
 */
export function hostGroupNameFor(nodeName: string): string {
  const full = `k8s-${nodeName}`;
  if (full.length <= 32) return full;
  const digest = createHash("sha256").update(nodeName).digest("hex").slice(0, 8);
  return `k8s-${nodeName.slice(0, 19)}-${digest}`;
}

/**
 * The node name a host group name carries, when that is unambiguous: a name of the full 32
 * characters may be a shortened one, so those are resolved from the controller's registry instead.
 */
export function nodeNameFromHostGroup(hostGroupName: string): string | undefined {
  if (!hostGroupName.startsWith("k8s-") || hostGroupName.length >= 32) return undefined;
  return hostGroupName.slice(4);
}
