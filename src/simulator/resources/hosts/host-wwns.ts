/**
 * Host WWNs registered in FC host groups (reference §7): `POST /host-wwns`,
 * `GET /host-wwns?portId=&hostGroupNumber=|hostGroupName=`, `GET|PATCH|DELETE /host-wwns/{port},{gid},{wwn}`.
 * WWNs are 16 hex digits, accepted in any case and stored in lower case (CIN-TEST-FC shows them so).
 */
import { z } from "zod";

import { invalidObjectId, invalidParameter, objectNotFound, ssbError } from "../../errors.js";
import type { RequestContext, RouteTable } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { HostGroupState, HostWwnState, SimState } from "../../state.js";
import {
  MAX_HOSTS_PER_GROUP,
  groupsForListing,
  hostGroupIdOf,
  hostGroupNumberSchema,
  isIscsiPort,
  parseGroupScopedId,
  portIdSchema,
  requireHostGroup,
} from "./common.js";

const WWN = /^[0-9a-fA-F]{16}$/;

function wwnIdOf(w: HostWwnState): string {
  return `${hostGroupIdOf(w.portId, w.hostGroupNumber)},${w.hostWwn}`;
}

/** TF `HostWwnDetail`: hostWwnId, portId, hostGroupNumber, hostGroupName, hostWwn, wwnNickname. */
function wwnView(w: HostWwnState, group: HostGroupState): Record<string, unknown> {
  return {
    hostWwnId: wwnIdOf(w),
    portId: w.portId,
    hostGroupNumber: w.hostGroupNumber,
    hostGroupName: group.hostGroupName,
    hostWwn: w.hostWwn,
    wwnNickname: w.wwnNickname,
  };
}

function listWwns(ctx: RequestContext): { data: Record<string, unknown>[] } {
  const state = ctx.sim.state;
  const data = groupsForListing(state, ctx.query).flatMap((group) =>
    state.hostWwns
      .filter((w) => w.portId === group.portId && w.hostGroupNumber === group.hostGroupNumber)
      .map((w) => wwnView(w, group)),
  );
  return { data };
}

/** `CL1-A,5,<wwn>` → the registered WWN and its group, or 404. */
function requireWwn(state: SimState, id: string): { wwn: HostWwnState; group: HostGroupState } {
  const { portId, hostGroupNumber, tail } = parseGroupScopedId(id);
  if (!WWN.test(tail)) throw invalidObjectId(id);
  const { group } = requireHostGroup(state, portId, hostGroupNumber);
  const hostWwn = tail.toLowerCase();
  const wwn = state.hostWwns.find(
    (w) => w.portId === portId && w.hostGroupNumber === hostGroupNumber && w.hostWwn === hostWwn,
  );
  if (!wwn) throw objectNotFound(`host WWN ${id}`);
  return { wwn, group };
}

const createBody = z
  .object({
    hostWwn: z.string().regex(WWN, "must be 16 hexadecimal digits"),
    portId: portIdSchema,
    hostGroupNumber: hostGroupNumberSchema,
  })
  .loose();

/**
 * sim (real-array rule, not in the reference): on an FC port the array picks the host group by the
 * initiator's WWN, so one WWN can be registered in only one host group per port; registering it in
 * a second group of the same port, or twice in one group, is refused. Other ports are independent.
 */
function createWwn(ctx: RequestContext): string[] {
  const body = parseWith(createBody, ctx.body);
  const state = ctx.sim.state;
  const { port } = requireHostGroup(state, body.portId, body.hostGroupNumber);
  if (isIscsiPort(port)) {
    throw invalidParameter(
      "portId",
      `${port.portId} is an iSCSI port; register iSCSI names with host-iscsis`,
    );
  }
  const hostWwn = body.hostWwn.toLowerCase();
  const existing = state.hostWwns.find((w) => w.portId === port.portId && w.hostWwn === hostWwn);
  if (existing) {
    throw ssbError(
      "HOST_WWN_IN_USE",
      `WWN ${hostWwn} is already registered in host group ${hostGroupIdOf(port.portId, existing.hostGroupNumber)}`,
    );
  }
  const inGroup = state.hostWwns.filter(
    (w) => w.portId === port.portId && w.hostGroupNumber === body.hostGroupNumber,
  );
  if (inGroup.length >= MAX_HOSTS_PER_GROUP) {
    throw ssbError("MAX_WWNS_EXCEEDED", `host group already has ${MAX_HOSTS_PER_GROUP} WWNs`);
  }
  const wwn: HostWwnState = {
    portId: port.portId,
    hostGroupNumber: body.hostGroupNumber,
    hostWwn,
    wwnNickname: "",
  };
  state.hostWwns.push(wwn);
  return [ctx.link("host-wwns", wwnIdOf(wwn))];
}

/** sim: nicknames up to 64 characters, printable ASCII (may be empty to clear it). */
const patchBody = z
  .object({
    wwnNickname: z
      .string()
      .max(64)
      .regex(/^[\x20-\x7e]*$/),
  })
  .loose();

export function registerHostWwnRoutes(routes: RouteTable): void {
  routes.get("/host-wwns", listWwns);

  routes.get("/host-wwns/:hostWwnId", (ctx) => {
    const { wwn, group } = requireWwn(ctx.sim.state, ctx.params.hostWwnId ?? "");
    return wwnView(wwn, group);
  });

  routes.create("/host-wwns", createWwn);

  routes.modify("/host-wwns/:hostWwnId", (ctx) => {
    const { wwn } = requireWwn(ctx.sim.state, ctx.params.hostWwnId ?? "");
    wwn.wwnNickname = parseWith(patchBody, ctx.body).wwnNickname;
    return [ctx.link("host-wwns", wwnIdOf(wwn))];
  });

  routes.remove("/host-wwns/:hostWwnId", (ctx) => {
    const state = ctx.sim.state;
    const { wwn } = requireWwn(state, ctx.params.hostWwnId ?? "");
    state.hostWwns = state.hostWwns.filter((w) => w !== wwn);
    return [ctx.link("host-wwns", wwnIdOf(wwn))];
  });
}
