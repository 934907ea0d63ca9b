/**
 * Initiator iSCSI names registered in iSCSI targets (reference §7): `POST /host-iscsis`,
 * `GET /host-iscsis?portId=&hostGroupNumber=|hostGroupName=`, `GET|PATCH|DELETE /host-iscsis/{port},{gid},{iqn}`.
 */
import { z } from "zod";

import { invalidParameter, objectNotFound, ssbError } from "../../errors.js";
import type { RequestContext, RouteTable } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { HostGroupState, HostIscsiState, SimState } from "../../state.js";
import {
  MAX_HOSTS_PER_GROUP,
  checkIscsiName,
  groupsForListing,
  hostGroupIdOf,
  hostGroupNumberSchema,
  isIscsiPort,
  parseGroupScopedId,
  portIdSchema,
  requireHostGroup,
  sameIscsiName,
} from "./common.js";

function iscsiIdOf(i: HostIscsiState): string {
  return `${hostGroupIdOf(i.portId, i.hostGroupNumber)},${i.iscsiName}`;
}

/** TF `IscsiNameInformation`: hostIscsiId, portId, hostGroupNumber, hostGroupName, iscsiName, iscsiNickname. */
function iscsiView(i: HostIscsiState, group: HostGroupState): Record<string, unknown> {
  return {
    hostIscsiId: iscsiIdOf(i),
    portId: i.portId,
    hostGroupNumber: i.hostGroupNumber,
    hostGroupName: group.hostGroupName,
    iscsiName: i.iscsiName,
    iscsiNickname: i.iscsiNickname,
  };
}

function inGroup(i: HostIscsiState, group: HostGroupState): boolean {
  return i.portId === group.portId && i.hostGroupNumber === group.hostGroupNumber;
}

function listIscsis(ctx: RequestContext): { data: Record<string, unknown>[] } {
  const state = ctx.sim.state;
  const data = groupsForListing(state, ctx.query).flatMap((group) =>
    state.hostIscsis.filter((i) => inGroup(i, group)).map((i) => iscsiView(i, group)),
  );
  return { data };
}

function requireIscsi(state: SimState, id: string): { iscsi: HostIscsiState; group: HostGroupState } {
  const { portId, hostGroupNumber, tail } = parseGroupScopedId(id);
  const { group } = requireHostGroup(state, portId, hostGroupNumber);
  const iscsi = state.hostIscsis.find((i) => inGroup(i, group) && sameIscsiName(i.iscsiName, tail));
  if (!iscsi) throw objectNotFound(`host iSCSI name ${id}`);
  return { iscsi, group };
}

const createBody = z
  .object({ iscsiName: z.string(), portId: portIdSchema, hostGroupNumber: hostGroupNumberSchema })
  .loose();

/**
 * sim: unlike an FC WWN, an initiator name may be registered in several iSCSI targets of one port —
 * the initiator chooses the target by its IQN at login — but only once per target. The name is kept
 * as given and compared case-insensitively.
 */
function createIscsi(ctx: RequestContext): string[] {
  const body = parseWith(createBody, ctx.body);
  checkIscsiName(body.iscsiName, "iscsiName");
  const state = ctx.sim.state;
  const { port, group } = requireHostGroup(state, body.portId, body.hostGroupNumber);
  if (!isIscsiPort(port)) {
    throw invalidParameter(
      "portId",
      `${port.portId} is a ${port.portType} port; register WWNs with host-wwns`,
    );
  }
  const members = state.hostIscsis.filter((i) => inGroup(i, group));
  if (members.some((i) => sameIscsiName(i.iscsiName, body.iscsiName))) {
    throw ssbError(
      "HOST_ISCSI_NAME_IN_USE",
      `${body.iscsiName} is already registered in target ${hostGroupIdOf(port.portId, group.hostGroupNumber)}`,
    );
  }
  if (members.length >= MAX_HOSTS_PER_GROUP) {
    throw ssbError("MAX_ISCSI_NAMES_EXCEEDED", `target already has ${MAX_HOSTS_PER_GROUP} iSCSI names`);
  }
  const iscsi: HostIscsiState = {
    portId: port.portId,
    hostGroupNumber: group.hostGroupNumber,
    iscsiName: body.iscsiName,
    iscsiNickname: "",
  };
  state.hostIscsis.push(iscsi);
  return [ctx.link("host-iscsis", iscsiIdOf(iscsi))];
}

/** sim: nicknames up to 32 characters, printable ASCII (may be empty to clear it). */
const patchBody = z
  .object({
    iscsiNickname: z
      .string()
      .max(32)
      .regex(/^[\x20-\x7e]*$/),
  })
  .loose();

export function registerHostIscsiRoutes(routes: RouteTable): void {
  routes.get("/host-iscsis", listIscsis);

  routes.get("/host-iscsis/:hostIscsiId", (ctx) => {
    const { iscsi, group } = requireIscsi(ctx.sim.state, ctx.params.hostIscsiId ?? "");
    return iscsiView(iscsi, group);
  });

  routes.create("/host-iscsis", createIscsi);

  routes.modify("/host-iscsis/:hostIscsiId", (ctx) => {
    const { iscsi } = requireIscsi(ctx.sim.state, ctx.params.hostIscsiId ?? "");
    iscsi.iscsiNickname = parseWith(patchBody, ctx.body).iscsiNickname;
    return [ctx.link("host-iscsis", iscsiIdOf(iscsi))];
  });

  routes.remove("/host-iscsis/:hostIscsiId", (ctx) => {
    const state = ctx.sim.state;
    const { iscsi } = requireIscsi(state, ctx.params.hostIscsiId ?? "");
    state.hostIscsis = state.hostIscsis.filter((i) => i !== iscsi);
    return [ctx.link("host-iscsis", iscsiIdOf(iscsi))];
  });
}
