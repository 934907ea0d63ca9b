/**
 * CHAP users of iSCSI targets: `POST /chap-users`, `GET /chap-users?portId=&hostGroupNumber=`,
 * `GET|PATCH|DELETE /chap-users/{port},{gid},{INI|TAR},{chapUserName}` (TF
 * `iscsi_target_chap_user_impl.go`; ANS `add_chap_users_to_iscsi_target`, which creates the user and
 * then PATCHes `chapPassword` onto the id taken from affectedResources). The secret is never shown.
 * Whether CHAP is required is the target's `authenticationMode` (PATCH host-groups).
 */
import { z } from "zod";

import { invalidObjectId, invalidParameter, objectNotFound, ssbError } from "../../errors.js";
import type { RequestContext, RouteTable } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { HostGroupState, SimState } from "../../state.js";
import {
  groupsForListing,
  hostGroupIdOf,
  hostGroupNumberSchema,
  isIscsiPort,
  parseGroupScopedId,
  portIdSchema,
  requireHostGroup,
} from "./common.js";

type ChapUser = NonNullable<HostGroupState["chapUsers"]>[number];
type Way = ChapUser["wayOfChapUser"];

function chapUserIdOf(group: HostGroupState, user: ChapUser): string {
  return `${hostGroupIdOf(group.portId, group.hostGroupNumber)},${user.wayOfChapUser},${user.chapUserName}`;
}

/** TF `IscsiTargetChapUser`. The secret is deliberately absent. */
function chapUserView(group: HostGroupState, user: ChapUser): Record<string, unknown> {
  return {
    chapUserId: chapUserIdOf(group, user),
    portId: group.portId,
    hostGroupNumber: group.hostGroupNumber,
    hostGroupName: group.hostGroupName,
    chapUserName: user.chapUserName,
    wayOfChapUser: user.wayOfChapUser,
  };
}

function requireChapUser(state: SimState, id: string): { group: HostGroupState; user: ChapUser } {
  const { portId, hostGroupNumber, tail } = parseGroupScopedId(id);
  const comma = tail.indexOf(",");
  const way = tail.slice(0, comma);
  const name = tail.slice(comma + 1);
  if (comma < 0 || (way !== "INI" && way !== "TAR") || name === "") throw invalidObjectId(id);
  const { group } = requireHostGroup(state, portId, hostGroupNumber);
  const user = group.chapUsers?.find((u) => u.wayOfChapUser === way && u.chapUserName === name);
  if (!user) throw objectNotFound(`CHAP user ${id}`);
  return { group, user };
}

/**
 * sim: CHAP user names 1-223 characters (long enough for an IQN, which is the usual user name);
 * secrets 12-32 characters, the range Hitachi's LUN Manager documents for CHAP secrets.
 */
const chapUserName = z
  .string()
  .min(1)
  .max(223)
  .regex(/^[\x20-\x7e]+$/);
const chapPassword = z
  .string()
  .min(12)
  .max(32)
  .regex(/^[\x20-\x7e]+$/);

const createBody = z
  .object({
    portId: portIdSchema,
    hostGroupNumber: hostGroupNumberSchema,
    chapUserName,
    wayOfChapUser: z.enum(["INI", "TAR"]),
    chapPassword: chapPassword.optional(),
  })
  .loose();

/**
 * sim: a target has any number of initiator-side (INI) users but a single target-side (TAR) user —
 * the name the target itself answers with in mutual CHAP. A second TAR user is refused, as is a
 * duplicate name of the same way.
 */
function checkChapUserFree(group: HostGroupState, way: Way, name: string): void {
  const users = group.chapUsers ?? [];
  if (users.some((u) => u.wayOfChapUser === way && u.chapUserName === name)) {
    throw ssbError("CHAP_USER_IN_USE", `CHAP user ${way},${name} already exists`);
  }
  if (way === "TAR" && users.some((u) => u.wayOfChapUser === "TAR")) {
    throw ssbError("CHAP_USER_IN_USE", "the target already has a target-side CHAP user");
  }
}

function createChapUser(ctx: RequestContext): string[] {
  const body = parseWith(createBody, ctx.body);
  const { port, group } = requireHostGroup(ctx.sim.state, body.portId, body.hostGroupNumber);
  if (!isIscsiPort(port)) {
    throw invalidParameter(
      "portId",
      `${port.portId} is a ${port.portType} port; CHAP users are for iSCSI targets`,
    );
  }
  checkChapUserFree(group, body.wayOfChapUser, body.chapUserName);
  const user: ChapUser = { chapUserName: body.chapUserName, wayOfChapUser: body.wayOfChapUser };
  if (body.chapPassword !== undefined) user.chapSecret = body.chapPassword;
  group.chapUsers = [...(group.chapUsers ?? []), user];
  return [ctx.link("chap-users", chapUserIdOf(group, user))];
}

function listChapUsers(ctx: RequestContext): { data: Record<string, unknown>[] } {
  const data = groupsForListing(ctx.sim.state, ctx.query).flatMap((group) =>
    (group.chapUsers ?? []).map((u) => chapUserView(group, u)),
  );
  return { data };
}

const patchBody = z.object({ chapPassword }).loose();

export function registerChapUserRoutes(routes: RouteTable): void {
  routes.get("/chap-users", listChapUsers);

  routes.get("/chap-users/:chapUserId", (ctx) => {
    const { group, user } = requireChapUser(ctx.sim.state, ctx.params.chapUserId ?? "");
    return chapUserView(group, user);
  });

  routes.create("/chap-users", createChapUser);

  routes.modify("/chap-users/:chapUserId", (ctx) => {
    const { group, user } = requireChapUser(ctx.sim.state, ctx.params.chapUserId ?? "");
    user.chapSecret = parseWith(patchBody, ctx.body).chapPassword;
    return [ctx.link("chap-users", chapUserIdOf(group, user))];
  });

  routes.remove("/chap-users/:chapUserId", (ctx) => {
    const { group, user } = requireChapUser(ctx.sim.state, ctx.params.chapUserId ?? "");
    group.chapUsers = (group.chapUsers ?? []).filter((u) => u !== user);
    return [ctx.link("chap-users", chapUserIdOf(group, user))];
  });
}
