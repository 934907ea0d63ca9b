/**
 * Snapshot groups (§5; TF `SnapshotGroup`; ANS-SNAP): `GET /snapshot-groups`,
 * `GET /snapshot-groups/{name}` (the id is the name; `?detailInfoType=pair` adds `snapshots[]`),
 * the group actions split/resync/restore/clone — applied to every pair of the group, refused (412)
 * when any pair's status forbids it — and `DELETE /snapshot-groups/{name}`, which deletes every
 * pair; the group goes with its last pair.
 *
 * Splitting a consistency group (CTG mode) gives one point in time for all its pairs (D-TI-GROUPS):
 * the images are taken one after another inside the one job (transitions.ts `splitPairs`).
 */
import { objectNotFound } from "../../errors.js";
import type { ActionSpec, RequestContext, RouteTable } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { SnapshotGroupState } from "../../state.js";
import type { PairOperation } from "./actions.js";
import { CLONE, RESTORE, RESYNC, SPLIT, deletePairs, requireAllowed, runOnPairs } from "./actions.js";
import { dropEmptyGroups, findGroup, pairsInGroup } from "./common.js";
import { groupNameSchema } from "./pairs.js";
import { byPairId, pairView } from "./view.js";

function requireGroup(ctx: RequestContext): SnapshotGroupState {
  const name = ctx.params.snapshotGroupId ?? "";
  const group = findGroup(ctx.sim.state, name);
  if (!group) throw objectNotFound(`snapshot group ${name}`);
  return group;
}

function withPairs(ctx: RequestContext): boolean {
  return (ctx.query.get("detailInfoType") ?? "").split(",").includes("pair");
}

async function groupView(ctx: RequestContext, group: SnapshotGroupState): Promise<Record<string, unknown>> {
  const name = group.snapshotGroupName;
  const base = { snapshotGroupName: name, snapshotGroupId: name };
  if (!withPairs(ctx)) return base;
  const pairs = pairsInGroup(ctx.sim.state, name).sort(byPairId);
  return { ...base, snapshots: await Promise.all(pairs.map((p) => pairView(ctx.sim, p))) };
}

async function listGroups(ctx: RequestContext): Promise<{ data: Record<string, unknown>[] }> {
  const only = ctx.query.get("snapshotGroupName");
  const name = only === null ? undefined : parseWith(groupNameSchema, only, "snapshotGroupName");
  const groups = ctx.sim.state.snapshotGroups
    .filter((g) => name === undefined || g.snapshotGroupName === name)
    .sort((a, b) => a.snapshotGroupName.localeCompare(b.snapshotGroupName));
  return { data: await Promise.all(groups.map((g) => groupView(ctx, g))) };
}

function groupAction<P>(def: PairOperation<P>): ActionSpec {
  return {
    template: (ctx) => {
      const group = requireGroup(ctx);
      requireAllowed(ctx.sim.state, pairsInGroup(ctx.sim.state, group.snapshotGroupName), def.op);
      return { parameters: def.template };
    },
    invoke: (ctx) => {
      const group = requireGroup(ctx);
      const params = def.parse(ctx.body);
      const pairs = pairsInGroup(ctx.sim.state, group.snapshotGroupName).sort(byPairId);
      return runOnPairs(ctx.sim, def, pairs, params, ctx.link("snapshot-groups", group.snapshotGroupName));
    },
  };
}

export function registerGroupRoutes(routes: RouteTable): void {
  routes.get("/snapshot-groups", listGroups);
  routes.get("/snapshot-groups/:snapshotGroupId", (ctx) => groupView(ctx, requireGroup(ctx)));
  const base = "/snapshot-groups/:snapshotGroupId/actions";
  routes.action(`${base}/split`, groupAction(SPLIT));
  routes.action(`${base}/resync`, groupAction(RESYNC));
  routes.action(`${base}/restore`, groupAction(RESTORE));
  routes.action(`${base}/clone`, groupAction(CLONE));
  routes.remove("/snapshot-groups/:snapshotGroupId", async (ctx) => {
    const group = requireGroup(ctx);
    const pairs = pairsInGroup(ctx.sim.state, group.snapshotGroupName).sort(byPairId);
    const result = await deletePairs(ctx.sim, pairs, ctx.link("snapshot-groups", group.snapshotGroupName));
    dropEmptyGroups(ctx.sim.state); // a group without pairs (none left, or none ever) goes at once
    return result;
  });
}
