/**
 * The node's host group on each port a publish still has to map, with as few requests as safety
 * allows. Hints from the cache cost one GET for all ports: a witness LDEV already mapped to the
 * node shows, right now, that each hinted (port, number) is the node's group by name. Ports
 * without a confirmed hint are found by name, one request each, and completed (HostGroupManager).
 * No path is ever created from a number that was not confirmed in the same publish.
 */
import type { HostGroupRef } from "../array/resources/ids.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import type { HostGroupCache } from "./host-group-cache.js";
import type { HostGroupManager } from "./host-groups.js";
import type { NodeIdentity } from "./node-id.js";

export interface ResolveOptions {
  /** False on a publish redone after a surprise: every group found by name. */
  useHints: boolean;
  /** The LDEV being published: as a witness it could confirm nothing its first read did not. */
  ldevId: number;
}

export class NodeGroups {
  constructor(
    private readonly cache: HostGroupCache,
    private readonly manager: HostGroupManager,
  ) {}

  /** One group per port, in the order of `ports`. */
  async resolve(
    array: ManagedArray,
    ports: string[],
    name: string,
    node: NodeIdentity,
    options: ResolveOptions,
  ): Promise<HostGroupRef[]> {
    const confirmed = options.useHints
      ? await this.confirmedHints(array, ports, name, node, options.ldevId)
      : new Map<string, number>();
    const groups: HostGroupRef[] = [];
    for (const portId of ports) {
      const hostGroupNumber = confirmed.get(portId);
      groups.push(
        hostGroupNumber === undefined
          ? await this.manager.ensure(array, portId, name, node)
          : { portId, hostGroupNumber },
      );
    }
    return groups;
  }

  /** The hinted group numbers a witness confirms; hints it contradicts are forgotten. */
  private async confirmedHints(
    array: ManagedArray,
    ports: string[],
    name: string,
    node: NodeIdentity,
    ldevId: number,
  ): Promise<Map<string, number>> {
    const hints = new Map<string, number>();
    for (const portId of ports) {
      const hostGroupNumber = this.cache.hint(array, portId, name, node);
      if (hostGroupNumber !== undefined) hints.set(portId, hostGroupNumber);
    }
    const witnessId = this.cache.witness(array, name);
    const confirmed = new Map<string, number>();
    if (hints.size === 0 || witnessId === undefined || witnessId === ldevId) return confirmed;
    // Any LDEV will do, ours or not (its id may have been reused): only its ports[] are read.
    const witness = await onArray("reading a volume mapped to the node", () =>
      array.client.ldevs.get(witnessId),
    );
    const paths = witness?.ports ?? [];
    for (const [portId, hostGroupNumber] of hints) {
      const seen = paths.some(
        (p) => p.portId === portId && p.hostGroupNumber === hostGroupNumber && p.hostGroupName === name,
      );
      if (seen) confirmed.set(portId, hostGroupNumber);
      else this.cache.forget(array, portId, name);
    }
    // A witness that no longer shows the node on every hinted port is not asked again.
    if (confirmed.size < hints.size) this.cache.dropWitness(array, name, witnessId);
    return confirmed;
  }
}
