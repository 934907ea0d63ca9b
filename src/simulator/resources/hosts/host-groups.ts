/**
 * Host groups and iSCSI targets (reference §7: an iSCSI target is a host group with an `iscsiName`).
 * Object id `portId,hostGroupNumber`; group 0 exists on every port and cannot be deleted.
 */
import { z } from "zod";

import { invalidParameter, missingParameter, ssbError } from "../../errors.js";
import type { RequestContext, RouteTable } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { HostGroupState, PortState, SimState } from "../../state.js";
import { iqnFor } from "../../state.js";
import {
  HOST_MODES,
  MAX_HOST_GROUP_NUMBER,
  boolQuery,
  checkIscsiName,
  checkName,
  detailTypes,
  findHostGroup,
  hostGroupIdOf,
  hostGroupNumberSchema,
  hostGroupsOf,
  hostModeOptionSchema,
  isIscsiPort,
  parseHostGroupId,
  portIdSchema,
  requireHostGroup,
  requirePort,
  sameIscsiName,
} from "./common.js";

/**
 * The host group as GET answers it (TF `HostGroupGwy`, `IscsiTargetGwy`; CIN-TEST-ISCSI). iSCSI
 * targets add the target IQN and the CHAP settings the Ansible collection reads
 * (`authenticationMode`, `iscsiTargetDirection`: S = one-way, D = mutual).
 */
export function hostGroupView(
  group: HostGroupState,
  port: PortState,
  details = new Set<string>(),
): Record<string, unknown> {
  const view: Record<string, unknown> = {
    hostGroupId: hostGroupIdOf(group.portId, group.hostGroupNumber),
    portId: group.portId,
    hostGroupNumber: group.hostGroupNumber,
    hostGroupName: group.hostGroupName,
    hostMode: group.hostMode,
    hostModeOptions: [...group.hostModeOptions],
  };
  if (isIscsiPort(port)) {
    view.iscsiName = group.iscsiName;
    view.authenticationMode = group.authenticationMode ?? "NONE";
    view.iscsiTargetDirection = group.iscsiTargetDirection ?? "S";
  }
  // sim: the simulated array has only the default resource group 0.
  if (details.has("resourceGroup")) view.resourceGroupId = 0;
  return view;
}

/**
 * `isUndefined=true` lists the free numbers of a port (the Ansible collection picks a new group
 * number this way: ANS `get_host_groups_from_meta_resource`).
 */
function undefinedGroups(state: SimState, ports: PortState[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const port of ports) {
    for (let n = 0; n <= MAX_HOST_GROUP_NUMBER; n++) {
      if (findHostGroup(state, port.portId, n)) continue;
      out.push({
        hostGroupId: hostGroupIdOf(port.portId, n),
        portId: port.portId,
        hostGroupNumber: n,
        isDefined: false,
        resourceGroupId: 0,
      });
    }
  }
  return out;
}

/** `GET /host-groups[?portId=]`: without portId, every port's groups (TF `GetAllHostGroups`). */
function listHostGroups(ctx: RequestContext): { data: Record<string, unknown>[] } {
  const state = ctx.sim.state;
  const portId = ctx.query.get("portId");
  const ports = portId === null ? state.ports : [requirePort(state, portId)];
  if (boolQuery(ctx.query, "isUndefined")) return { data: undefinedGroups(state, ports) };
  const details = detailTypes(ctx.query);
  const data = ports.flatMap((port) =>
    hostGroupsOf(state, port.portId).map((g) => hostGroupView(g, port, details)),
  );
  return { data };
}

const hostModeSchema = z.enum(HOST_MODES);

const createBody = z
  .object({
    portId: portIdSchema,
    hostGroupName: z.string(),
    hostGroupNumber: hostGroupNumberSchema.optional(),
    // TF sends `iscsiName: null` when it has none (no omitempty on the field).
    iscsiName: z.string().nullable().optional(),
    hostMode: hostModeSchema.optional(),
    hostModeOptions: z.array(hostModeOptionSchema).optional(),
  })
  .loose();

type CreateBody = z.infer<typeof createBody>;

/** Name limits: FC host group 64 characters, iSCSI target 32 (NOTES pp.283-285). */
function checkCreateBody(port: PortState, body: CreateBody): void {
  const iscsi = isIscsiPort(port);
  checkName(body.hostGroupName, "hostGroupName", iscsi ? 32 : 64);
  if (body.iscsiName !== undefined && body.iscsiName !== null) {
    if (!iscsi) throw invalidParameter("iscsiName", `cannot be set on a ${port.portType} port`);
    checkIscsiName(body.iscsiName, "iscsiName");
  }
}

function lowestFreeNumber(state: SimState, portId: string): number {
  for (let n = 1; n <= MAX_HOST_GROUP_NUMBER; n++) {
    if (!findHostGroup(state, portId, n)) return n;
  }
  // Cinder's text for this case: "could not find empty Host group ID for adding." (CIN-FC).
  throw ssbError("NO_FREE_HOST_GROUP_NUMBER", `port ${portId} has no free host group number`);
}

function checkNameFree(state: SimState, portId: string, name: string, except?: number): void {
  const clash = hostGroupsOf(state, portId).find(
    (g) => g.hostGroupName === name && g.hostGroupNumber !== except,
  );
  if (clash) {
    throw ssbError(
      "HOST_GROUP_NAME_IN_USE",
      `host group name ${name} is already used by ${hostGroupIdOf(portId, clash.hostGroupNumber)}`,
    );
  }
}

/** The target IQN: as given, or the array's own name for the target (iqnFor). Unique per port. */
function targetIqn(ctx: RequestContext, portId: string, n: number, given: string | null | undefined): string {
  const iqn = given ?? iqnFor(ctx.sim.config.storageDeviceId, portId, n);
  const clash = hostGroupsOf(ctx.sim.state, portId).find(
    (g) => g.iscsiName !== undefined && sameIscsiName(g.iscsiName, iqn),
  );
  if (clash) {
    throw ssbError(
      "TARGET_ISCSI_NAME_IN_USE",
      `iSCSI name ${iqn} is already used by target ${hostGroupIdOf(portId, clash.hostGroupNumber)}`,
    );
  }
  return iqn;
}

function createHostGroup(ctx: RequestContext): string[] {
  const body = parseWith(createBody, ctx.body);
  const state = ctx.sim.state;
  const port = requirePort(state, body.portId);
  checkCreateBody(port, body);
  if (body.hostGroupNumber !== undefined && findHostGroup(state, port.portId, body.hostGroupNumber)) {
    throw ssbError(
      "HOST_GROUP_NUMBER_IN_USE",
      `host group ${hostGroupIdOf(port.portId, body.hostGroupNumber)} already exists`,
    );
  }
  checkNameFree(state, port.portId, body.hostGroupName);
  const n = body.hostGroupNumber ?? lowestFreeNumber(state, port.portId);
  const group: HostGroupState = {
    portId: port.portId,
    hostGroupNumber: n,
    hostGroupName: body.hostGroupName,
    hostMode: body.hostMode ?? "LINUX/IRIX",
    hostModeOptions: uniqueSorted(body.hostModeOptions ?? []),
  };
  if (isIscsiPort(port)) {
    group.iscsiName = targetIqn(ctx, port.portId, n, body.iscsiName);
    group.authenticationMode = "NONE";
    group.iscsiTargetDirection = "S";
  }
  state.hostGroups.push(group);
  // affectedResources ends with "portId,hostGroupNumber": Cinder takes the int after the last comma.
  return [ctx.link("host-groups", hostGroupIdOf(port.portId, n))];
}

function uniqueSorted(options: number[]): number[] {
  return [...new Set(options)].sort((a, b) => a - b);
}

/** `hostModeOptions: [-1]` clears the options (ANS `set_host_mode`); otherwise the list replaces them. */
const patchOptionsSchema = z.union([z.tuple([z.literal(-1)]), z.array(hostModeOptionSchema)]);

const patchBody = z
  .object({
    hostMode: hostModeSchema.optional(),
    hostModeOptions: patchOptionsSchema.optional(),
    hostGroupName: z.string().optional(),
    authenticationMode: z.enum(["NONE", "CHAP", "BOTH"]).optional(),
    iscsiTargetDirection: z.enum(["S", "D"]).optional(),
  })
  .loose();

type PatchBody = z.infer<typeof patchBody>;

function checkPatch(port: PortState, body: PatchBody): void {
  const keys = [
    "hostMode",
    "hostModeOptions",
    "hostGroupName",
    "authenticationMode",
    "iscsiTargetDirection",
  ] as const;
  if (keys.every((k) => body[k] === undefined)) throw missingParameter("hostMode");
  if (!isIscsiPort(port)) {
    for (const key of ["authenticationMode", "iscsiTargetDirection"] as const) {
      if (body[key] !== undefined) throw invalidParameter(key, `cannot be set on a ${port.portType} port`);
    }
  }
  if (body.hostGroupName !== undefined) {
    checkName(body.hostGroupName, "hostGroupName", isIscsiPort(port) ? 32 : 64);
  }
}

/** PATCH (or Cinder's legacy PUT) `/host-groups/{port},{gid}`. */
function modifyHostGroup(ctx: RequestContext): string[] {
  const { portId, hostGroupNumber } = parseHostGroupId(ctx.params.hostGroupId ?? "");
  const { port, group } = requireHostGroup(ctx.sim.state, portId, hostGroupNumber);
  const body = parseWith(patchBody, ctx.body);
  checkPatch(port, body);
  if (body.hostGroupName !== undefined) {
    checkNameFree(ctx.sim.state, portId, body.hostGroupName, hostGroupNumber);
    group.hostGroupName = body.hostGroupName;
  }
  if (body.hostMode !== undefined) group.hostMode = body.hostMode;
  if (body.hostModeOptions !== undefined) {
    group.hostModeOptions = body.hostModeOptions[0] === -1 ? [] : uniqueSorted(body.hostModeOptions);
  }
  if (body.authenticationMode !== undefined) group.authenticationMode = body.authenticationMode;
  if (body.iscsiTargetDirection !== undefined) group.iscsiTargetDirection = body.iscsiTargetDirection;
  return [ctx.link("host-groups", hostGroupIdOf(portId, hostGroupNumber))];
}

/**
 * sim: deleting a host group also deletes its LU paths, host WWNs / iSCSI names and CHAP users, as
 * the real array does: Storage Navigator's "Delete host groups" needs rights on "all the LDEVs where
 * the paths are set to the host groups", and the Ansible collection deletes groups that still have
 * LUNs unless asked to delete the LDEVs too (ANS `delete_host_group`, `delete_iscsi_target`).
 * The LDEVs themselves and their data are untouched. Group 0 cannot be deleted.
 */
function deleteHostGroup(ctx: RequestContext): string[] {
  const { portId, hostGroupNumber } = parseHostGroupId(ctx.params.hostGroupId ?? "");
  const state = ctx.sim.state;
  const { group } = requireHostGroup(state, portId, hostGroupNumber);
  if (hostGroupNumber === 0) {
    throw ssbError("HOST_GROUP_0_UNDELETABLE", `host group 0 of port ${portId} cannot be deleted`);
  }
  const inGroup = (o: { portId: string; hostGroupNumber: number }) =>
    o.portId === portId && o.hostGroupNumber === hostGroupNumber;
  state.hostGroups = state.hostGroups.filter((g) => g !== group);
  state.luns = state.luns.filter((l) => !inGroup(l));
  state.hostWwns = state.hostWwns.filter((w) => !inGroup(w));
  state.hostIscsis = state.hostIscsis.filter((i) => !inGroup(i));
  return [ctx.link("host-groups", hostGroupIdOf(portId, hostGroupNumber))];
}

export function registerHostGroupRoutes(routes: RouteTable): void {
  routes.get("/host-groups", listHostGroups);

  routes.get("/host-groups/:hostGroupId", (ctx) => {
    const { portId, hostGroupNumber } = parseHostGroupId(ctx.params.hostGroupId ?? "");
    const { port, group } = requireHostGroup(ctx.sim.state, portId, hostGroupNumber);
    return hostGroupView(group, port, detailTypes(ctx.query));
  });

  routes.create("/host-groups", createHostGroup);
  routes.modify("/host-groups/:hostGroupId", modifyHostGroup);
  routes.remove("/host-groups/:hostGroupId", deleteHostGroup);

  // Releases SCSI reservations on every LU of the group (ANS `release_host_reservation_status`).
  // sim: no host ever reserves a simulated LU, so there is nothing to release.
  routes.action("/host-groups/:hostGroupId/actions/release-lu-host-reserves", {
    invoke: (ctx) => {
      const { portId, hostGroupNumber } = parseHostGroupId(ctx.params.hostGroupId ?? "");
      requireHostGroup(ctx.sim.state, portId, hostGroupNumber);
      return [ctx.link("host-groups", hostGroupIdOf(portId, hostGroupNumber))];
    },
  });
}
