/**
 * One host group (FC and sim) or iSCSI target per node on each target port, named k8s-<node>,
 * holding exactly the node's initiators. Shared by every publish to that node, so:
 *   - publishes to the same node and port are serialized in this process (a pod with two PVCs
 *     publishes both at once), and a group created meanwhile by another controller is adopted when
 *     the array says the name is taken;
 *   - a WWPN can sit in only one group per port: when a node comes back under a new name, the
 *     old k8s- group that still holds its WWPN is removed if it has no LU paths left (it belongs to
 *     the same host), and otherwise the publish fails naming that group.
 *
 * The group is found by name with one request that also answers its initiators
 * (`GET host-wwns|host-iscsis?portId=&hostGroupName=`, Cinder's name-hint search). The array
 * answers an empty list both for a missing group and for a group with no initiators yet (a crash
 * between creating it and registering them), so an empty answer leads to a create, and the port is
 * listed only when the array says the name is taken, or a WWPN is held by another group.
 */
import { VspError } from "../array/errors.js";
import type { HostGroupRef } from "../array/resources/ids.js";
import type { HostGroup } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { ConcurrentChangeError, FailedPreconditionError } from "./errors.js";
import type { HostGroupCache } from "./host-group-cache.js";
import type { NodeIdentity } from "./node-id.js";

/** Host mode options Cinder sets: 91 = disable I/O wait; 83 = report the full portal list (iSCSI). */
const HOST_MODE_OPTIONS = { fc: [91], iscsi: [83, 91] } as const;
const OUR_PREFIX = "k8s-";

/** The node's group on a port as the by-name search found it. */
interface Found {
  ref: HostGroupRef;
  /** Initiators registered in it: WWPNs in lower case, or IQNs as the array holds them. */
  initiators: string[];
}

export class HostGroupManager {
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Groups found or made here are remembered there; groups deleted here are forgotten. */
  constructor(private readonly cache: HostGroupCache) {}

  /** The node's group on the port, created and completed as needed. */
  ensure(array: ManagedArray, portId: string, name: string, node: NodeIdentity): Promise<HostGroupRef> {
    const key = `${array.config.storageDeviceId}|${portId}|${name}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(
      () => this.ensureNow(array, portId, name, node),
      () => this.ensureNow(array, portId, name, node),
    );
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async ensureNow(
    array: ManagedArray,
    portId: string,
    name: string,
    node: NodeIdentity,
  ): Promise<HostGroupRef> {
    const found = await this.findByName(array, portId, name);
    const ref = found?.ref ?? (await this.create(array, portId, name));
    const have = found?.initiators ?? [];
    if (array.config.transport === "iscsi") await this.ensureIqn(array, ref, node, have);
    else await this.ensureWwpns(array, ref, node, have);
    this.cache.remember(array, portId, name, ref.hostGroupNumber, node);
    return ref;
  }

  /** One GET: the group named `name` on the port and its initiators; undefined when none answer. */
  private async findByName(array: ManagedArray, portId: string, name: string): Promise<Found | undefined> {
    const { client } = array;
    const selector = { portId, hostGroupName: name };
    // Only rows of exactly this group count: "k8s-node1" must never match "k8s-node10".
    const mine = <T extends { hostGroupName?: string }>(rows: T[]) =>
      rows.filter((r) => r.hostGroupName === name);
    const rows =
      array.config.transport === "iscsi"
        ? mine(await onArray("finding the node's target", () => client.hostIscsis.list(selector))).map(
            (r) => ({ hostGroupNumber: r.hostGroupNumber, initiator: r.iscsiName }),
          )
        : mine(await onArray("finding the node's host group", () => client.hostWwns.list(selector))).map(
            (r) => ({ hostGroupNumber: r.hostGroupNumber, initiator: r.hostWwn.toLowerCase() }),
          );
    const first = rows[0];
    if (!first) return undefined;
    return {
      ref: { portId, hostGroupNumber: first.hostGroupNumber },
      initiators: rows.map((r) => r.initiator),
    };
  }

  private async create(array: ManagedArray, portId: string, name: string): Promise<HostGroupRef> {
    const { client } = array;
    const hostModeOptions = [...HOST_MODE_OPTIONS[array.config.transport === "iscsi" ? "iscsi" : "fc"]];
    try {
      return await onArray("creating the host group", () =>
        client.hostGroups.create({ portId, hostGroupName: name, hostMode: "LINUX/IRIX", hostModeOptions }),
      );
    } catch (err) {
      if (!(err instanceof VspError && err.is("HOST_GROUP_NAME_IN_USE"))) throw err;
      // The group exists without initiators (a crash after creating it), or another controller
      // created it since our search: use it.
      const again = await onArray("listing host groups", () => client.hostGroups.listByPort(portId));
      const group = again.find((g) => g.hostGroupName === name);
      if (!group) throw err;
      return { portId, hostGroupNumber: group.hostGroupNumber };
    }
  }

  private async ensureIqn(
    array: ManagedArray,
    ref: HostGroupRef,
    node: NodeIdentity,
    have: string[],
  ): Promise<void> {
    const iqn = node.iqn ?? "";
    if (have.some((h) => h.toLowerCase() === iqn.toLowerCase())) return;
    try {
      await onArray("registering the initiator", () => array.client.hostIscsis.add(ref, iqn));
    } catch (err) {
      // Registered since our search (another controller): what we wanted.
      if (!(err instanceof VspError && err.is("HOST_ISCSI_NAME_IN_USE"))) throw err;
    }
  }

  private async ensureWwpns(
    array: ManagedArray,
    ref: HostGroupRef,
    node: NodeIdentity,
    have: string[],
  ): Promise<void> {
    const { client } = array;
    let groups: HostGroup[] | undefined;
    for (const wwpn of node.wwpns) {
      if (have.includes(wwpn)) continue;
      try {
        await onArray("registering an initiator", () => client.hostWwns.add(ref, wwpn));
      } catch (err) {
        if (!(err instanceof VspError && err.is("HOST_WWN_IN_USE"))) throw err;
        groups ??= await onArray("listing host groups", () => client.hostGroups.listByPort(ref.portId));
        if (await this.releaseStaleHolder(array, ref, wwpn, groups)) {
          await onArray("registering an initiator", () => client.hostWwns.add(ref, wwpn));
        }
      }
    }
  }

  /**
   * Removes the empty k8s- group that still holds `wwpn` on this port (true), or explains who holds
   * it. False when no other group holds it: it is in ours already (registered since our search).
   */
  private async releaseStaleHolder(
    array: ManagedArray,
    ours: HostGroupRef,
    wwpn: string,
    groups: HostGroup[],
  ): Promise<boolean> {
    const { client } = array;
    for (const group of groups) {
      if (group.hostGroupNumber === ours.hostGroupNumber) continue;
      const ref = { portId: ours.portId, hostGroupNumber: group.hostGroupNumber };
      const wwns = await onArray("listing initiators", () => client.hostWwns.list(ref));
      if (!wwns.some((w) => w.hostWwn.toLowerCase() === wwpn)) continue;
      const luns = group.hostGroupName.startsWith(OUR_PREFIX)
        ? await onArray("listing LU paths", () => client.luns.list(ref))
        : undefined;
      if (luns?.length === 0) {
        await onArray("removing a stale host group", () => client.hostGroups.delete(ref));
        // Its number is free now and may go to another host's group: no hint may point at it.
        this.cache.forgetNumber(array, ref.portId, ref.hostGroupNumber);
        return true;
      }
      throw new FailedPreconditionError(
        `initiator ${wwpn} is registered in host group ${group.hostGroupName} on ${ours.portId}` +
          (luns ? ", which still has LU paths" : ", which this driver does not manage") +
          "; remove it there first",
      );
    }
    const mine = await onArray("listing initiators", () => client.hostWwns.list(ours));
    if (mine.some((w) => w.hostWwn.toLowerCase() === wwpn)) return false;
    throw new ConcurrentChangeError(
      `initiator ${wwpn} moved between host groups on ${ours.portId} while publishing; retrying`,
    );
  }
}
