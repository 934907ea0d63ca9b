/**
 * ShadowImage (local clone) copy groups and copy pairs (§6 ShadowImage; D-SI-STATUS, D-SI-LIST,
 * D-SI-RESTORE; ANS-SI):
 *   GET    /local-clone-copygroups[?detailInfoType=pair]     GET /local-clone-copygroups/{group}
 *   DELETE /local-clone-copygroups/{group}                   (the group and all its pairs)
 *   GET|POST /local-clone-copygroups/{group}/actions/{split|resync|restore}[/invoke]
 *   POST   /local-clone-copypairs                            (create; new or existing group)
 *   GET    /local-clone-copypairs?localCloneCopyGroupId={group}[&refresh=true]
 *   GET    /local-clone-copypairs/{pair}                     DELETE /local-clone-copypairs/{pair}
 *   GET|POST /local-clone-copypairs/{pair}/actions/{split|resync|restore}[/invoke]
 */
import { z } from "zod";

import type { SimCore } from "../../core.js";
import { invalidParameter, missingParameter, objectNotFound } from "../../errors.js";
import type { JobResult, RequestContext, RouteTable } from "../../routing.js";
import { actionParameters, parseWith } from "../../routing.js";
import { createPair } from "./create.js";
import { shadowImageTicker } from "./engine.js";
import {
  findGroup,
  GROUPS_PATH,
  groupIdOf,
  PAIRS_PATH,
  pairIdOf,
  pairsOfGroup,
  parseGroupId,
  requireGroup,
  requirePair,
} from "./ids.js";
import type { SiAction } from "./operations.js";
import {
  actionSchema,
  actionTemplate,
  deletePairs,
  dropNulls,
  pairJobResult,
  runAction,
  SI_ACTIONS,
} from "./operations.js";
import { groupView, pairView } from "./view.js";

/** ANS-SI sends `{forceDelete}` on a group delete; sim: accepted, every delete is allowed anyway. */
const deleteBody = z.preprocess(dropNulls, z.object({ forceDelete: z.boolean().optional() }).strict());

function booleanQuery(ctx: RequestContext, name: string): void {
  const value = ctx.query.get(name);
  if (value !== null && value !== "true" && value !== "false")
    throw invalidParameter(name, "must be true or false");
}

/**
 * D-SI-LIST: pairs are listed per copy group. `refresh=true` makes a real REST server re-read
 * pairs made outside it (CCI); the simulator has no outside, so it only validates the value.
 */
function listPairs(ctx: RequestContext): unknown {
  const raw = ctx.query.get("localCloneCopyGroupId");
  if (raw === null || raw === "") throw missingParameter("localCloneCopyGroupId");
  booleanQuery(ctx, "refresh");
  const group = findGroup(ctx.sim.state, parseGroupId(raw));
  if (!group) throw objectNotFound(`local clone copy group ${raw}`);
  return { data: pairsOfGroup(ctx.sim.state, group).map((p) => pairView(ctx.sim, p)) };
}

function listGroups(ctx: RequestContext): unknown {
  const detail = ctx.query.get("detailInfoType");
  if (detail !== null && detail !== "pair") throw invalidParameter("detailInfoType", "must be pair");
  return { data: ctx.sim.state.siCopyGroups.map((g) => groupView(ctx.sim, g, detail === "pair")) };
}

async function deletePair(ctx: RequestContext): Promise<string[]> {
  const pair = requirePair(ctx);
  parseWith(deleteBody, ctx.body);
  const affected = ctx.link(PAIRS_PATH, pairIdOf(pair));
  await deletePairs(ctx.sim, [pair]);
  return [affected];
}

async function deleteGroup(ctx: RequestContext): Promise<string[]> {
  const group = requireGroup(ctx);
  parseWith(deleteBody, ctx.body);
  const affected = ctx.link(GROUPS_PATH, groupIdOf(group));
  await deletePairs(ctx.sim, pairsOfGroup(ctx.sim.state, group));
  const state = ctx.sim.state;
  state.siCopyGroups = state.siCopyGroups.filter((g) => g !== group);
  return [affected];
}

function pairAction(action: SiAction) {
  return async (ctx: RequestContext): Promise<string[] | JobResult> => {
    const pair = requirePair(ctx);
    const params = actionParameters(actionSchema, ctx.body);
    await runAction(ctx.sim, action, [pair], params);
    return pairJobResult(ctx.sim, [ctx.link(PAIRS_PATH, pairIdOf(pair))], [pair]);
  };
}

function groupAction(action: SiAction) {
  return async (ctx: RequestContext): Promise<string[] | JobResult> => {
    const group = requireGroup(ctx);
    const params = actionParameters(actionSchema, ctx.body);
    const pairs = pairsOfGroup(ctx.sim.state, group);
    await runAction(ctx.sim, action, pairs, params);
    return pairJobResult(ctx.sim, [ctx.link(GROUPS_PATH, groupIdOf(group))], pairs);
  };
}

export function registerShadowImageRoutes(routes: RouteTable, sim: SimCore): void {
  sim.addTicker(shadowImageTicker(sim));

  routes.get(`/${GROUPS_PATH}`, listGroups);
  routes.get(`/${GROUPS_PATH}/:groupId`, (ctx) => groupView(ctx.sim, requireGroup(ctx), true));
  routes.remove(`/${GROUPS_PATH}/:groupId`, deleteGroup);

  routes.get(`/${PAIRS_PATH}`, listPairs);
  routes.create(`/${PAIRS_PATH}`, createPair);
  routes.get(`/${PAIRS_PATH}/:pairId`, (ctx) => pairView(ctx.sim, requirePair(ctx)));
  routes.remove(`/${PAIRS_PATH}/:pairId`, deletePair);

  for (const action of SI_ACTIONS) {
    routes.action(`/${PAIRS_PATH}/:pairId/actions/${action}`, {
      template: (ctx) => actionTemplate(ctx.sim.state, action, [requirePair(ctx)]),
      invoke: pairAction(action),
    });
    routes.action(`/${GROUPS_PATH}/:groupId/actions/${action}`, {
      template: (ctx) => {
        const group = requireGroup(ctx);
        return actionTemplate(ctx.sim.state, action, pairsOfGroup(ctx.sim.state, group));
      },
      invoke: groupAction(action),
    });
  }
}
