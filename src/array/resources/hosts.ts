/** Host attachment (vsp-rest-api.md §7): ports, host groups / iSCSI targets, initiators, LU paths. */
import type { Api } from "../api.js";
import { affectedId, affectedIds } from "../jobs.js";
import type { HostGroup, HostIscsi, HostWwn, Lun, Port } from "../types.js";
import type { HostGroupRef, LunRef } from "./ids.js";
import { hostGroupId, parseHostGroupId, parseLunId } from "./ids.js";

export interface PortListQuery {
  portType?: "FIBRE" | "ISCSI" | "FCoE" | "NVME_TCP";
  portAttributes?: "TAR" | "MCU" | "RCU" | "ELUN";
  detailInfoType?: "portMode" | "logins";
}

export class Ports {
  constructor(private readonly api: Api) {}

  list(query: PortListQuery = {}): Promise<Port[]> {
    return this.api.list<Port>(this.api.paths.objects("ports"), { ...query });
  }

  /** iSCSI ports add ipv4Address and tcpPort here (the portal Cinder reads). */
  get(portId: string): Promise<Port> {
    return this.api.get<Port>(this.api.paths.objects("ports", portId));
  }
}

export interface CreateHostGroupParams {
  portId: string;
  /** FC ≤ 64 characters, iSCSI ≤ 32. */
  hostGroupName: string;
  /** 0–254; the array picks a free one when omitted. */
  hostGroupNumber?: number;
  /** Target IQN (iSCSI targets). */
  iscsiName?: string;
  hostMode?: string;
  hostModeOptions?: number[];
}

export interface HostGroupChanges {
  hostMode?: string;
  hostModeOptions?: number[];
}

export class HostGroups {
  constructor(private readonly api: Api) {}

  private path(ref?: HostGroupRef): string {
    return ref
      ? this.api.paths.objects("host-groups", hostGroupId(ref))
      : this.api.paths.objects("host-groups");
  }

  /** 1 POST; the new group's `portId,hostGroupNumber` from affectedResources[0]. */
  async create(params: CreateHostGroupParams): Promise<HostGroupRef> {
    const job = await this.api.change("POST", this.path(), params);
    return parseHostGroupId(affectedId(job), job);
  }

  listByPort(portId: string, query: { detailInfoType?: string } = {}): Promise<HostGroup[]> {
    return this.api.list<HostGroup>(this.path(), { portId, ...query });
  }

  get(ref: HostGroupRef): Promise<HostGroup> {
    return this.api.get<HostGroup>(this.path(ref));
  }

  async modify(ref: HostGroupRef, changes: HostGroupChanges): Promise<void> {
    await this.api.change("PATCH", this.path(ref), changes);
  }

  async delete(ref: HostGroupRef): Promise<void> {
    await this.api.change("DELETE", this.path(ref));
  }
}

/** Host groups are found by number or by name (Cinder's name-hint search). */
export type HostGroupSelector = HostGroupRef | { portId: string; hostGroupName: string };

function selectorQuery(s: HostGroupSelector): Record<string, string | number> {
  return "hostGroupNumber" in s
    ? { portId: s.portId, hostGroupNumber: s.hostGroupNumber }
    : { portId: s.portId, hostGroupName: s.hostGroupName };
}

export class HostWwns {
  constructor(private readonly api: Api) {}

  /** Registers an initiator WWPN (16 hex digits) in a host group. */
  async add(ref: HostGroupRef, hostWwn: string): Promise<void> {
    await this.api.change("POST", this.api.paths.objects("host-wwns"), { ...ref, hostWwn });
  }

  list(selector: HostGroupSelector): Promise<HostWwn[]> {
    return this.api.list<HostWwn>(this.api.paths.objects("host-wwns"), selectorQuery(selector));
  }

  async delete(ref: HostGroupRef, hostWwn: string): Promise<void> {
    await this.api.change("DELETE", this.api.paths.objects("host-wwns", `${hostGroupId(ref)},${hostWwn}`));
  }
}

export class HostIscsis {
  constructor(private readonly api: Api) {}

  /** Registers an initiator IQN in an iSCSI target. */
  async add(ref: HostGroupRef, iscsiName: string): Promise<void> {
    await this.api.change("POST", this.api.paths.objects("host-iscsis"), { ...ref, iscsiName });
  }

  list(selector: HostGroupSelector): Promise<HostIscsi[]> {
    return this.api.list<HostIscsi>(this.api.paths.objects("host-iscsis"), selectorQuery(selector));
  }

  async delete(ref: HostGroupRef, iscsiName: string): Promise<void> {
    await this.api.change(
      "DELETE",
      this.api.paths.objects("host-iscsis", `${hostGroupId(ref)},${iscsiName}`),
    );
  }
}

export interface CreateLunParams {
  /** One port, or up to 6 in `portIds`. */
  portId?: string;
  portIds?: string[];
  hostGroupNumber: number;
  ldevId: number;
  /** Omitted ⇒ the array assigns one. */
  lun?: number;
}

export interface LunListQuery {
  portId: string;
  hostGroupNumber: number;
  isBasicLunInformation?: boolean;
}

export class Luns {
  constructor(private readonly api: Api) {}

  /** 1 POST; one `port,gid,lun` per affected resource (one per port). */
  async create(params: CreateLunParams): Promise<LunRef[]> {
    const job = await this.api.change("POST", this.api.paths.objects("luns"), params);
    return affectedIds(job).map((id) => parseLunId(id, job));
  }

  list(query: LunListQuery): Promise<Lun[]> {
    return this.api.list<Lun>(this.api.paths.objects("luns"), { ...query });
  }

  get(ref: LunRef): Promise<Lun> {
    return this.api.get<Lun>(this.api.paths.objects("luns", `${hostGroupId(ref)},${ref.lun}`));
  }

  async delete(ref: LunRef): Promise<void> {
    await this.api.change("DELETE", this.api.paths.objects("luns", `${hostGroupId(ref)},${ref.lun}`));
  }
}
