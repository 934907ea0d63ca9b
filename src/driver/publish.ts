/**
 * ControllerPublish/Unpublish: a host group (FC, and the sim transport) or iSCSI target per node on
 * each configured target port, the node's initiators registered in it, and an LU path from it to
 * the volume. Every step looks before it acts, so a retry after a crash at any point converges:
 * an existing group is reused and completed, an existing path is kept.
 *
 * REST economy: the volume's own read comes first (its label proves it is ours, its ports[] show
 * the paths it has); the node's groups come from confirmed cache hints (one read for all ports) or
 * a by-name search per port; then one POST per port still unmapped; then, only when the first read
 * lacked the naaId, one more read of the volume, which also checks each new path's group by name.
 *
 * The publish context tells the node exactly which device to accept: the volume's NAA id (the host
 * sees WWID "3" + naa), the LUN per port, and the target WWNs or iSCSI portals.
 */
import type { HostGroupRef, LunRef } from "../array/resources/ids.js";
import type { Ldev, Port } from "../array/types.js";
import { VspNotFoundError } from "../array/errors.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { HostGroupCache } from "./host-group-cache.js";
import { HostGroupManager } from "./host-groups.js";
import { NOTHING_MADE, checkPaths, createPaths, pathsThrough } from "./lu-paths.js";
import { NodeGroups } from "./node-groups.js";
import {
  AlreadyExistsError,
  ConcurrentChangeError,
  FailedPreconditionError,
  NotFoundError,
} from "./errors.js";
import type { NodeIdentity } from "./node-id.js";
import { formatNodeId, hostGroupNameFor, nodeNameFromHostGroup, parseNodeId } from "./node-id.js";
import type { Volume, VolumeService } from "./volumes.js";

export interface PublishInput {
  volumeId: string;
  nodeId: string;
  readonly: boolean;
  /** Whether the access mode lets only one node write (SINGLE_NODE_*): another node's path is a conflict. */
  singleNode: boolean;
}

export class PublishService {
  /** Node ids learnt from publishes, by host group name: rebuilds published_node_ids quickly. */
  private readonly nodeIds = new Map<string, string>();
  /** readonly flag of each (volume, node) publication, to refuse an incompatible re-publish. */
  private readonly readonlyFlags = new Map<string, boolean>();
  private readonly portCache = new Map<string, Port>();
  private readonly groupCache = new HostGroupCache();
  private readonly nodeGroups = new NodeGroups(this.groupCache, new HostGroupManager(this.groupCache));

  constructor(private readonly volumes: VolumeService) {}

  async publish(input: PublishInput): Promise<Record<string, string>> {
    // A surprise from the array (a group replaced between finding it and mapping) redoes the
    // publish once with every group found by name; a second one is left to the CO's retry.
    const context = (await this.publishOnce(input, true)) ?? (await this.publishOnce(input, false));
    if (context) return context;
    throw new ConcurrentChangeError(
      "the node's host groups changed on the array while publishing the volume; retrying",
    );
  }

  /** The publish context, or undefined when the publish must be redone. */
  private async publishOnce(
    input: PublishInput,
    useHints: boolean,
  ): Promise<Record<string, string> | undefined> {
    // First, always: the label check in get() means no other LDEV is ever touched.
    const volume = await this.volumes.get(input.volumeId);
    const { array } = volume;
    const ldevId = volume.ldev.ldevId;
    const node = this.knownNode(input.nodeId, array);
    const groupName = hostGroupNameFor(node.nodeName);
    const publication = `${input.volumeId}|${input.nodeId}`;
    const previous = this.readonlyFlags.get(publication);
    if (previous !== undefined && previous !== input.readonly) {
      throw new AlreadyExistsError(
        `volume is already published to this node with readonly=${String(previous)}`,
      );
    }
    if (input.singleNode) this.refuseOtherNodes(volume.ldev, groupName);

    const ports = array.config.targetPorts;
    const luns = pathsThrough(volume.ldev, groupName);
    const missing = ports.filter((p) => !luns.some((l) => l.portId === p));
    let made = NOTHING_MADE;
    if (missing.length > 0) {
      const groups = await this.nodeGroups.resolve(array, missing, groupName, node, { useHints, ldevId });
      made = await createPaths(volume, groups, luns[0]?.lun);
    }
    let naaId = volume.ldev.naaId;
    if (naaId === undefined || made.readBack.length > 0 || made.gone.length > 0) {
      // The array shows naaId only once the LDEV is LU-mapped (reference §4), so a volume mapped
      // nowhere before this publish is read once more; that read also shows each new path's group.
      const ldev = await onArray("reading the mapped volume", () => array.client.ldevs.get(ldevId));
      if (!ldev) throw new NotFoundError(`volume ${input.volumeId} was deleted while being published`);
      const checked = await checkPaths(volume, ldev, groupName, made);
      if (!checked) {
        // What led it astray is forgotten; undefined tells publish() to redo it.
        this.forgetHints(array, [...made.created, ...made.readBack, ...made.gone], groupName);
        return undefined;
      }
      luns.push(...checked);
      naaId = ldev.naaId;
    } else {
      luns.push(...made.created);
    }
    this.groupCache.addWitness(array, groupName, ldevId);
    this.nodeIds.set(groupName, input.nodeId);
    this.readonlyFlags.set(publication, input.readonly);
    const ordered = ports.flatMap((p) => luns.filter((l) => l.portId === p));
    return this.context(volume, naaId ?? "", ordered, input.readonly);
  }

  private forgetHints(array: ManagedArray, groups: HostGroupRef[], groupName: string): void {
    for (const group of groups) this.groupCache.forget(array, group.portId, groupName);
  }

  /** Removes the volume's paths to the node (all nodes when nodeId is empty); idempotent. */
  async unpublish(volumeId: string, nodeId: string): Promise<void> {
    // A volume that is gone is unpublished everywhere: the spec asks for OK, not NOT_FOUND.
    const volume = await this.volumes.find(volumeId);
    if (!volume) return;
    const node = nodeId === "" ? undefined : parseNodeId(nodeId);
    if (nodeId !== "" && !node) return; // a node we never could have published to
    const groupName = node ? hostGroupNameFor(node.nodeName) : undefined;
    for (const path of volume.ldev.ports ?? []) {
      if (groupName !== undefined && path.hostGroupName !== groupName) continue;
      if (groupName === undefined && !(path.hostGroupName ?? "").startsWith("k8s-")) continue;
      const ref: LunRef = { portId: path.portId, hostGroupNumber: path.hostGroupNumber, lun: path.lun };
      try {
        await onArray("removing an LU path", () => volume.array.client.luns.delete(ref));
      } catch (err) {
        if (!(err instanceof VspNotFoundError)) throw err;
      }
    }
    this.groupCache.dropWitness(volume.array, groupName, volume.ldev.ldevId);
    for (const key of this.readonlyFlags.keys()) {
      if (key.startsWith(`${volumeId}|`) && (nodeId === "" || key === `${volumeId}|${nodeId}`)) {
        this.readonlyFlags.delete(key);
      }
    }
  }

  /** Node ids the volume is published to, from its LU paths. */
  async publishedNodes(volume: Volume): Promise<string[]> {
    const names = new Set(
      (volume.ldev.ports ?? []).map((p) => p.hostGroupName ?? "").filter((n) => n.startsWith("k8s-")),
    );
    const ids: string[] = [];
    for (const name of names) {
      const id = this.nodeIds.get(name) ?? (await this.rebuildNodeId(volume, name));
      if (id !== undefined) ids.push(id);
    }
    return ids.sort();
  }

  /** A node id must name initiators this array's transport can use; otherwise the node is unknown. */
  private knownNode(nodeId: string, array: ManagedArray): NodeIdentity {
    const node = parseNodeId(nodeId);
    const transport = array.config.transport;
    const usable = node && (transport === "iscsi" ? node.iqn !== undefined : node.wwpns.length > 0);
    if (!node || !usable) {
      throw new NotFoundError(`node ${nodeId} is not known: its id names no ${transport} initiators`);
    }
    return node;
  }

  private refuseOtherNodes(ldev: Ldev, groupName: string): void {
    const others = (ldev.ports ?? []).filter(
      (p) => (p.hostGroupName ?? "").startsWith("k8s-") && p.hostGroupName !== groupName,
    );
    if (others.length > 0) {
      const names = [...new Set(others.map((p) => p.hostGroupName))].join(", ");
      throw new FailedPreconditionError(
        `volume is published to another node (${names}) and its access mode allows one`,
      );
    }
  }

  private async context(
    volume: Volume,
    naaId: string,
    luns: LunRef[],
    readonly: boolean,
  ): Promise<Record<string, string>> {
    const { config } = volume.array;
    const ports = await Promise.all(luns.map((l) => this.port(volume.array, l.portId)));
    const context: Record<string, string> = {
      transport: config.transport,
      naa: naaId,
      luns: luns.map((l) => `${l.portId}:${l.lun}`).join(","),
      readonly: String(readonly),
      storageDeviceId: config.storageDeviceId,
      ldevId: String(volume.ldev.ldevId),
    };
    if (config.transport === "iscsi") {
      context.portals = ports.map((p) => `${p.portId}:${p.ipv4Address ?? ""}:${p.tcpPort ?? 3260}`).join(",");
    } else {
      context.targetWwns = ports.map((p) => `${p.portId}:${p.wwn ?? ""}`).join(",");
    }
    return context;
  }

  private async port(array: ManagedArray, portId: string): Promise<Port> {
    const cacheKey = `${array.config.storageDeviceId}:${portId}`;
    const cached = this.portCache.get(cacheKey);
    if (cached) return cached;
    const port = await onArray("reading the target port", () => array.client.ports.get(portId));
    this.portCache.set(cacheKey, port);
    return port;
  }

  /** After a restart: the node name from the group name, its initiators from the group. */
  private async rebuildNodeId(volume: Volume, groupName: string): Promise<string | undefined> {
    const nodeName = nodeNameFromHostGroup(groupName);
    const path = (volume.ldev.ports ?? []).find((p) => p.hostGroupName === groupName);
    if (nodeName === undefined || !path) return undefined;
    const ref = { portId: path.portId, hostGroupNumber: path.hostGroupNumber };
    const { client, transport } = { client: volume.array.client, transport: volume.array.config.transport };
    const node: NodeIdentity =
      transport === "iscsi"
        ? { nodeName, wwpns: [], ...(await this.firstIqn(client, ref)) }
        : {
            nodeName,
            wwpns: (await onArray("listing initiators", () => client.hostWwns.list(ref))).map((w) =>
              w.hostWwn.toLowerCase(),
            ),
          };
    const id = formatNodeId(node);
    this.nodeIds.set(groupName, id);
    return id;
  }

  private async firstIqn(client: ManagedArray["client"], ref: HostGroupRef): Promise<{ iqn?: string }> {
    const iqn = (await onArray("listing initiators", () => client.hostIscsis.list(ref)))[0]?.iscsiName;
    return iqn === undefined ? {} : { iqn };
  }
}
