/**
 * Reading Thin Image pairs (§5): `GET /snapshots?<filter>`, `GET /snapshots/{pvol},{mu}` and the
 * whole-array `GET /snapshot-replications?startPvolLdevId=&endPvolLdevId=`.
 */
import { invalidParameter, missingParameter } from "../../errors.js";
import type { RequestContext, RouteTable } from "../../routing.js";
import { intParam, parseWith } from "../../routing.js";
import type { TiPairState } from "../../state.js";
import { MAX_MU, requirePair } from "./common.js";
import { groupNameSchema } from "./pairs.js";
import type { Role } from "./view.js";
import { byPairId, pairView, replicationView } from "./view.js";

const FILTERS = ["pvolLdevId", "svolLdevId", "muNumber", "snapshotGroupName"] as const;

/**
 * The filter combinations the array accepts (NOTES pp.528–535): P-VOL with group or MU, P-VOL
 * alone, S-VOL alone. sim: the group alone is accepted too — it only narrows what
 * `GET /snapshot-groups/{id}?detailInfoType=pair` already lists.
 */
const VALID_COMBINATIONS: readonly string[] = [
  "pvolLdevId",
  "pvolLdevId+snapshotGroupName",
  "muNumber+pvolLdevId",
  "svolLdevId",
  "snapshotGroupName",
];

interface Filter {
  pvolLdevId?: number;
  svolLdevId?: number;
  muNumber?: number;
  snapshotGroupName?: string;
}

function parseFilter(ctx: RequestContext): Filter {
  const q = ctx.query;
  const given = FILTERS.filter((f) => q.has(f));
  // At least one filter is required (NOTES; Ansible lists the whole array with snapshot-replications).
  if (given.length === 0) throw missingParameter("pvolLdevId, svolLdevId or snapshotGroupName");
  const combination = [...given].sort().join("+");
  if (!VALID_COMBINATIONS.includes(combination)) {
    throw invalidParameter(given.join(", "), "this combination of filters is not supported");
  }
  const max = ctx.sim.config.maxLdevId;
  return {
    ...(q.has("pvolLdevId") ? { pvolLdevId: intParam(q.get("pvolLdevId"), "pvolLdevId", 0, max) } : {}),
    ...(q.has("svolLdevId") ? { svolLdevId: intParam(q.get("svolLdevId"), "svolLdevId", 0, max) } : {}),
    ...(q.has("muNumber") ? { muNumber: intParam(q.get("muNumber"), "muNumber", 0, MAX_MU) } : {}),
    ...(q.has("snapshotGroupName")
      ? { snapshotGroupName: parseWith(groupNameSchema, q.get("snapshotGroupName"), "snapshotGroupName") }
      : {}),
  };
}

function matches(pair: TiPairState, f: Filter): boolean {
  return (
    (f.pvolLdevId === undefined || pair.pvolLdevId === f.pvolLdevId) &&
    (f.svolLdevId === undefined || pair.svolLdevId === f.svolLdevId) &&
    (f.muNumber === undefined || pair.muNumber === f.muNumber) &&
    (f.snapshotGroupName === undefined || pair.snapshotGroupName === f.snapshotGroupName)
  );
}

async function listSnapshots(ctx: RequestContext): Promise<{ data: Record<string, unknown>[] }> {
  const filter = parseFilter(ctx);
  // primaryOrSecondary is the role of the LDEV the query named (§5; Cinder checks "S-VOL").
  const role: Role = filter.svolLdevId === undefined ? "P-VOL" : "S-VOL";
  const pairs = ctx.sim.state.tiPairs.filter((p) => matches(p, filter)).sort(byPairId);
  return { data: await Promise.all(pairs.map((p) => pairView(ctx.sim, p, role))) };
}

function listReplications(ctx: RequestContext): { data: Record<string, unknown>[] } {
  const q = ctx.query;
  const max = ctx.sim.config.maxLdevId;
  // Defaults: 0 and the highest LDEV number (TF `GetSnapshotReplicationsRangeParams`).
  const start = q.has("startPvolLdevId") ? intParam(q.get("startPvolLdevId"), "startPvolLdevId", 0, max) : 0;
  const end = q.has("endPvolLdevId") ? intParam(q.get("endPvolLdevId"), "endPvolLdevId", 0, max) : max;
  if (start > end) throw invalidParameter("endPvolLdevId", "must not be less than startPvolLdevId");
  const pairs = ctx.sim.state.tiPairs
    .filter((p) => p.pvolLdevId >= start && p.pvolLdevId <= end)
    .sort(byPairId);
  return { data: pairs.map((p) => replicationView(ctx.sim, p)) };
}

export function registerPairQueries(routes: RouteTable): void {
  routes.get("/snapshots", listSnapshots);
  routes.get("/snapshots/:snapshotId", (ctx) => pairView(ctx.sim, requirePair(ctx)));
  routes.get("/snapshot-replications", listReplications);
}
