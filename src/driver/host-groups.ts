/**
 * One host group (FC and sim) or iSCSI target per node on each target port, named k8s-<node>,
 * holding exactly the node's initiators. Shared by every publish to that node, so:
 *   - publishes to the same node and port are serialized in this process (a pod with two PVCs
 *     publishes both at once), and a group created meanwhile by another controller is adopted when
 *     the array says the name is taken;
 *   - a WWPN can sit in only one group per port: when a node comes back under a new name, the
 *     old k8s- group that still holds its WWPN is removed if it has no LU paths left (it belongs to
 *     the same host), and otherwise the publish fails naming that group.
 */
import { VspError } from "../array/errors.js";
import type { HostGroupRef } from "../array/resources/ids.js";
import type { HostGroup } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { FailedPreconditionError } from "./errors.js";
import type { NodeIdentity } from "./node-id.js";

/** Host mode options Cinder sets: 91 = disable I/O wait; 83 = report the full portal list (iSCSI). */
const HOST_MODE_OPTIONS = { fc: [91], iscsi: [83, 91] } as const;
const OUR_PREFIX = "k8s-";

export class HostGroupManager {
  private readonly queues = new Map<string, Promise<unknown>>();

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
    const { client } = array;
    const groups = await onArray("listing host groups", () => client.hostGroups.listByPort(portId));
    const found = groups.find((g) => g.hostGroupName === name);
    const ref = found
      ? { portId, hostGroupNumber: found.hostGroupNumber }
      : await this.create(array, portId, name);
    if (array.config.transport === "iscsi") await this.ensureIqn(array, ref, node, found !== undefined);
    else await this.ensureWwpns(array, ref, node, found !== undefined, groups);
    return ref;
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
      // Another controller created it between our list and our create: use theirs.
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
    existed: boolean,
  ): Promise<void> {
    const { client } = array;
    const iqn = node.iqn ?? "";
    const have = existed ? await onArray("listing initiators", () => client.hostIscsis.list(ref)) : [];
    if (have.some((h) => h.iscsiName === iqn)) return;
    try {
      await onArray("registering the initiator", () => client.hostIscsis.add(ref, iqn));
    } catch (err) {
      if (!(err instanceof VspError && err.is("HOST_ISCSI_NAME_IN_USE"))) throw err;
    }
  }

  private async ensureWwpns(
    array: ManagedArray,
    ref: HostGroupRef,
    node: NodeIdentity,
    existed: boolean,
    groups: HostGroup[],
  ): Promise<void> {
    const { client } = array;
    const have = existed ? await onArray("listing initiators", () => client.hostWwns.list(ref)) : [];
    for (const wwpn of node.wwpns) {
      if (have.some((h) => h.hostWwn.toLowerCase() === wwpn)) continue;
      try {
        await onArray("registering an initiator", () => client.hostWwns.add(ref, wwpn));
      } catch (err) {
        if (!(err instanceof VspError && err.is("HOST_WWN_IN_USE"))) throw err;
        await this.releaseStaleHolder(array, ref, wwpn, groups);
        await onArray("registering an initiator", () => client.hostWwns.add(ref, wwpn));
      }
    }
  }

  /** Removes the empty k8s- group that still holds `wwpn` on this port, or explains who holds it. */
  private async releaseStaleHolder(
    array: ManagedArray,
    ours: HostGroupRef,
    wwpn: string,
    groups: HostGroup[],
  ): Promise<void> {
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
        return;
      }
      throw new FailedPreconditionError(
        `initiator ${wwpn} is registered in host group ${group.hostGroupName} on ${ours.portId}` +
          (luns ? ", which still has LU paths" : ", which this driver does not manage") +
          "; remove it there first",
      );
    }
  }
}
