/**
 * What this controller learnt about nodes' host groups, so a publish to a node it already knows
 * need not look the group up on every port:
 *   - per (array, port, group name): the group number and the initiators it was seen to hold;
 *   - per (array, group name): witnesses, LDEVs this controller mapped into that node's groups.
 *
 * An entry is a hint, never a licence to map. A group can be deleted out of band and its number
 * handed to another host's group; a path created from the stale number would expose the volume to
 * that host, and if the controller died before noticing, nothing could tell that path from one an
 * administrator made on purpose. So a hint is used only once one GET of a witness LDEV confirms it
 * right now: the LDEV's ports[] name the group behind each (port, number) it is mapped through, all
 * ports in one answer. A hint the witness does not confirm is dropped and the group found by name.
 */
import type { ManagedArray } from "./arrays.js";
import type { NodeIdentity } from "./node-id.js";

interface CachedGroup {
  hostGroupNumber: number;
  /** WWPNs (lower case) or IQNs the group held when learnt: a node with others must be checked. */
  initiators: ReadonlySet<string>;
}

/** Few witnesses suffice: the newest is read; older ones stand in when it is unpublished. */
const MAX_WITNESSES = 4;

export class HostGroupCache {
  private readonly groups = new Map<string, CachedGroup>();
  private readonly witnesses = new Map<string, number[]>();

  /** The group number learnt for the node's group on the port, if it held all the node's initiators. */
  hint(array: ManagedArray, portId: string, name: string, node: NodeIdentity): number | undefined {
    const entry = this.groups.get(groupKey(array, portId, name));
    if (!entry) return undefined;
    const wanted = initiatorsOf(array, node);
    return wanted.every((i) => entry.initiators.has(i)) ? entry.hostGroupNumber : undefined;
  }

  /** The group was found (or made) and holds the node's initiators. */
  remember(
    array: ManagedArray,
    portId: string,
    name: string,
    hostGroupNumber: number,
    node: NodeIdentity,
  ): void {
    const initiators = new Set(initiatorsOf(array, node));
    this.groups.set(groupKey(array, portId, name), { hostGroupNumber, initiators });
  }

  forget(array: ManagedArray, portId: string, name: string): void {
    this.groups.delete(groupKey(array, portId, name));
  }

  /** The driver deleted group `hostGroupNumber` on the port: whatever name it was learnt under. */
  forgetNumber(array: ManagedArray, portId: string, hostGroupNumber: number): void {
    const prefix = `${array.config.storageDeviceId}|${portId}|`;
    for (const [key, entry] of this.groups) {
      if (key.startsWith(prefix) && entry.hostGroupNumber === hostGroupNumber) this.groups.delete(key);
    }
  }

  /** The newest LDEV this controller mapped into the node's groups, if any. */
  witness(array: ManagedArray, name: string): number | undefined {
    return this.witnesses.get(witnessKey(array, name))?.at(-1);
  }

  addWitness(array: ManagedArray, name: string, ldevId: number): void {
    const key = witnessKey(array, name);
    const list = (this.witnesses.get(key) ?? []).filter((id) => id !== ldevId);
    list.push(ldevId);
    this.witnesses.set(key, list.slice(-MAX_WITNESSES));
  }

  /** The LDEV is no longer mapped to the node (`name`), or to any node when `name` is undefined. */
  dropWitness(array: ManagedArray, name: string | undefined, ldevId: number): void {
    const keys =
      name === undefined
        ? [...this.witnesses.keys()].filter((k) => k.startsWith(`${array.config.storageDeviceId}|`))
        : [witnessKey(array, name)];
    for (const key of keys) {
      const list = this.witnesses.get(key)?.filter((id) => id !== ldevId) ?? [];
      if (list.length > 0) this.witnesses.set(key, list);
      else this.witnesses.delete(key);
    }
  }
}

/** The initiators a publish registers for the node on this array's transport. */
export function initiatorsOf(array: ManagedArray, node: NodeIdentity): string[] {
  if (array.config.transport === "iscsi") return node.iqn === undefined ? [] : [node.iqn.toLowerCase()];
  return node.wwpns.map((w) => w.toLowerCase());
}

function groupKey(array: ManagedArray, portId: string, name: string): string {
  return `${array.config.storageDeviceId}|${portId}|${name}`;
}

function witnessKey(array: ManagedArray, name: string): string {
  return `${array.config.storageDeviceId}|${name}`;
}
