/**
 * The node's initiators, read from the host (under a configurable host root so tests can build a
 * fake one): FC WWPNs from sysfs, the iSCSI IQN from the initiator name file (the NVMe host NQN is
 * read for completeness; no NVMe transport yet).
 * The sim transport has no HBA: it reports one synthetic WWPN derived from the node name, so the
 * controller's FC host-group logic runs unchanged against the simulator.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import type { NodeIdentity } from "../driver/node-id.js";

export type NodeTransport = "fc" | "iscsi" | "sim";

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** WWPNs of the FC HBAs: /sys/class/fc_host/host*\/port_name ("0x10000000c9abcdef"). */
export async function fcWwpns(hostRoot: string): Promise<string[]> {
  const dir = join(hostRoot, "sys/class/fc_host");
  let hosts: string[];
  try {
    hosts = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const wwpns: string[] = [];
  for (const host of hosts.sort()) {
    const raw = (await readOptional(join(dir, host, "port_name")))?.trim().toLowerCase();
    const wwpn = raw?.replace(/^0x/, "");
    if (wwpn && /^[0-9a-f]{16}$/.test(wwpn)) wwpns.push(wwpn);
  }
  return wwpns;
}

/** The IQN in /etc/iscsi/initiatorname.iscsi ("InitiatorName=iqn..."), ignoring comments. */
export async function iscsiIqn(hostRoot: string): Promise<string | undefined> {
  const text = await readOptional(join(hostRoot, "etc/iscsi/initiatorname.iscsi"));
  const line = text?.split("\n").find((l) => /^\s*InitiatorName\s*=/.test(l));
  const iqn = line?.split("=")[1]?.trim();
  return iqn === "" ? undefined : iqn;
}

export async function nvmeHostNqn(hostRoot: string): Promise<string | undefined> {
  const nqn = (await readOptional(join(hostRoot, "etc/nvme/hostnqn")))?.trim();
  return nqn === "" ? undefined : nqn;
}

/** The synthetic WWPN of a sim-transport node: stable per node name, NAA 5 format. */
export function simWwpn(nodeName: string): string {
  return `5${createHash("sha256").update(nodeName).digest("hex").slice(0, 15)}`;
}

/**
 * The node's identity for its transport. Only that transport's initiators go into the node id:
 * the controller registers exactly those and rebuilds the same id from the host group after a
 * restart (an FC node with an unused iSCSI initiator name file must not report a different id).
 */
export async function nodeIdentity(
  nodeName: string,
  transport: NodeTransport,
  hostRoot: string,
): Promise<NodeIdentity> {
  switch (transport) {
    case "sim":
      return { nodeName, wwpns: [simWwpn(nodeName)] };
    case "fc":
      return { nodeName, wwpns: await fcWwpns(hostRoot) };
    case "iscsi": {
      const iqn = await iscsiIqn(hostRoot);
      return { nodeName, wwpns: [], ...(iqn ? { iqn } : {}) };
    }
  }
}
