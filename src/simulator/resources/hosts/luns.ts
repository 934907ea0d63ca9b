/**
 * LU paths (reference §7 "LU paths"): `POST /luns`, `GET /luns?portId=&hostGroupNumber=`,
 * `GET|DELETE /luns/{port},{gid},{lun}`, and `.../actions/release-lu-host-reserve`.
 *
 * Cinder's map flow depends on two failures (CIN-REST `_run_add_lun`, `map_ldev`): an LDEV already
 * mapped in the host group fails with B958/015A (Cinder ignores it and reads the LUN back with
 * GET /luns), and an explicit LUN held by another LDEV fails with B958/0947 (that port is skipped).
 */
import { z } from "zod";

import {
  invalidObjectId,
  invalidParameter,
  missingParameter,
  objectNotFound,
  ssbError,
} from "../../errors.js";
import { findLdev } from "../../model.js";
import type { RequestContext, RouteTable } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { HostGroupState, LunState, SimState } from "../../state.js";
import {
  MAX_LU_PATHS_PER_PORT,
  MAX_LUN,
  boolQuery,
  hostGroupIdOf,
  hostGroupNumberSchema,
  parseGroupScopedId,
  portIdSchema,
  portQuery,
  requireHostGroup,
} from "./common.js";

function lunIdOf(l: LunState): string {
  return `${hostGroupIdOf(l.portId, l.hostGroupNumber)},${l.lun}`;
}

interface LunViewOptions {
  basic: boolean;
  alua: boolean;
}

/**
 * TF `HostLuPath` + reference field list. `isBasicLunInformation=true` answers only the path itself
 * (sim: which fields the basic form drops is not documented; the reservation and host-mode details go).
 * `lunOption=ALUA` adds the ALUA state the Ansible collection reads.
 */
function lunView(
  state: SimState,
  l: LunState,
  group: HostGroupState,
  opts: LunViewOptions,
): Record<string, unknown> {
  const view: Record<string, unknown> = {
    lunId: lunIdOf(l),
    portId: l.portId,
    hostGroupNumber: l.hostGroupNumber,
    hostMode: group.hostMode,
    lun: l.lun,
    ldevId: l.ldevId,
  };
  if (!opts.basic) {
    view.isCommandDevice = false;
    // sim: no host ever reserves a simulated LU.
    view.luHostReserve = {
      openSystem: false,
      persistent: false,
      pgrKey: false,
      mainframe: false,
      acaReserve: false,
    };
    view.hostModeOptions = [...group.hostModeOptions];
  }
  if (opts.alua) {
    view.isAluaEnabled = findLdev(state, l.ldevId)?.isAluaEnabled ?? false;
    view.asymmetricAccessState = "Active/Optimized";
  }
  return view;
}

function pathsOf(state: SimState, portId: string, hostGroupNumber: number): LunState[] {
  return state.luns
    .filter((l) => l.portId === portId && l.hostGroupNumber === hostGroupNumber)
    .sort((a, b) => a.lun - b.lun);
}

/**
 * sim: `portId` and `hostGroupNumber` are both required, as the documented query names only these
 * filters; the paths of one LDEV are read from `GET /ldevs/{id}` (`ports[]`), as Cinder does.
 */
function listLuns(ctx: RequestContext): { data: Record<string, unknown>[] } {
  const state = ctx.sim.state;
  const { portId, hostGroupNumber } = portQuery(ctx.query);
  if (hostGroupNumber === undefined) throw missingParameter("hostGroupNumber");
  const group = requireHostGroup(state, portId, hostGroupNumber).group;
  const lunOption = ctx.query.get("lunOption");
  if (lunOption !== null && lunOption !== "ALUA") throw invalidParameter("lunOption", "must be ALUA");
  const opts = { basic: boolQuery(ctx.query, "isBasicLunInformation"), alua: lunOption === "ALUA" };
  return { data: pathsOf(state, portId, group.hostGroupNumber).map((l) => lunView(state, l, group, opts)) };
}

function requireLun(state: SimState, id: string): { path: LunState; group: HostGroupState } {
  const { portId, hostGroupNumber, tail } = parseGroupScopedId(id);
  if (!/^\d+$/.test(tail) || Number(tail) > MAX_LUN) throw invalidObjectId(id);
  const { group } = requireHostGroup(state, portId, hostGroupNumber);
  const path = pathsOf(state, portId, hostGroupNumber).find((l) => l.lun === Number(tail));
  if (!path) throw objectNotFound(`LU path ${id}`);
  return { path, group };
}

const createBody = z
  .object({
    portId: portIdSchema.optional(),
    // Up to 6 ports in one request, all given the same LUN (TF `AddLdevToHgReqGwy`).
    portIds: z.array(portIdSchema).min(1).max(6).optional(),
    hostGroupNumber: hostGroupNumberSchema,
    ldevId: z.number().int().min(0),
    lun: z.number().int().min(0).max(MAX_LUN).optional(),
  })
  .loose();

type CreateBody = z.infer<typeof createBody>;

function targetPorts(body: CreateBody): string[] {
  if (body.portId !== undefined && body.portIds !== undefined) {
    throw invalidParameter("portIds", "specify either portId or portIds, not both");
  }
  const ports = body.portIds ?? (body.portId === undefined ? [] : [body.portId]);
  if (ports.length === 0) throw missingParameter("portId");
  if (new Set(ports).size !== ports.length) throw invalidParameter("portIds", "a port is given twice");
  return ports;
}

/** The LUN: as asked (checked free on every port), or the lowest free on all of them. */
function chooseLun(
  state: SimState,
  groups: HostGroupState[],
  ldevId: number,
  asked: number | undefined,
): number {
  const used = new Map<number, number>();
  for (const g of groups) {
    for (const l of pathsOf(state, g.portId, g.hostGroupNumber)) used.set(l.lun, l.ldevId);
  }
  if (asked !== undefined) {
    const holder = used.get(asked);
    if (holder !== undefined) {
      throw ssbError("ANOTHER_LDEV_AT_LUN", `LUN ${asked} is already used by LDEV ${holder}, not ${ldevId}`);
    }
    return asked;
  }
  for (let lun = 0; lun <= MAX_LUN; lun++) if (!used.has(lun)) return lun;
  throw ssbError("LUN_OUT_OF_RANGE", "no free LUN (0-2047) in the host group");
}

function checkPathAllowed(state: SimState, group: HostGroupState, ldevId: number): void {
  const existing = pathsOf(state, group.portId, group.hostGroupNumber).find((l) => l.ldevId === ldevId);
  if (existing) {
    throw ssbError(
      "LU_PATH_ALREADY_DEFINED",
      `LDEV ${ldevId} already has LU path ${lunIdOf(existing)} in this host group`,
    );
  }
  if (state.luns.filter((l) => l.portId === group.portId).length >= MAX_LU_PATHS_PER_PORT) {
    throw ssbError("LUN_OUT_OF_RANGE", `port ${group.portId} already has ${MAX_LU_PATHS_PER_PORT} LU paths`);
  }
}

/** One path per port, all at the same LUN; affectedResources lists every path created. */
function createLun(ctx: RequestContext): string[] {
  const body = parseWith(createBody, ctx.body);
  const state = ctx.sim.state;
  if (body.ldevId > ctx.sim.config.maxLdevId) {
    throw invalidParameter("ldevId", `must be an integer from 0 to ${ctx.sim.config.maxLdevId}`);
  }
  const groups = targetPorts(body).map((p) => requireHostGroup(state, p, body.hostGroupNumber).group);
  if (!findLdev(state, body.ldevId)) {
    throw ssbError("LU_PATH_LDEV_UNDEFINED", `LDEV ${body.ldevId} is not defined`);
  }
  for (const g of groups) checkPathAllowed(state, g, body.ldevId);
  const lun = chooseLun(state, groups, body.ldevId, body.lun);
  const created = groups.map((g) => ({
    portId: g.portId,
    hostGroupNumber: g.hostGroupNumber,
    lun,
    ldevId: body.ldevId,
  }));
  state.luns.push(...created);
  return created.map((l) => ctx.link("luns", lunIdOf(l)));
}

export function registerLunRoutes(routes: RouteTable): void {
  routes.get("/luns", listLuns);

  routes.get("/luns/:lunId", (ctx) => {
    const state = ctx.sim.state;
    const { path, group } = requireLun(state, ctx.params.lunId ?? "");
    const lunOption = ctx.query.get("lunOption");
    return lunView(state, path, group, { basic: false, alua: lunOption === "ALUA" });
  });

  routes.create("/luns", createLun);

  /**
   * An undefined path answers 404 KART30013-E (EX_ENOOBJ) without a job, as its GET does; Cinder's
   * unmap ignores exactly that message id (CIN-REST `unmap_ldev`).
   */
  routes.remove("/luns/:lunId", (ctx) => {
    const state = ctx.sim.state;
    const { path } = requireLun(state, ctx.params.lunId ?? "");
    state.luns = state.luns.filter((l) => l !== path);
    return [ctx.link("luns", lunIdOf(path))];
  });

  // sim: no host ever reserves a simulated LU, so the release has nothing to do (OSVC; ANS).
  routes.action("/luns/:lunId/actions/release-lu-host-reserve", {
    invoke: (ctx) => {
      const { path } = requireLun(ctx.sim.state, ctx.params.lunId ?? "");
      return [ctx.link("luns", lunIdOf(path))];
    },
  });
}
