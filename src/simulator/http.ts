/**
 * The HTTP face of the simulator: mounts the resource routes under both URL styles, authenticates
 * (Basic for session creation, `Session <token>` for the rest), bounds the requests processed at
 * once (past `maxConcurrentRequests`: 503 busy), applies injected faults, logs each
 * request (the log counts REST calls per driver operation), and turns changes into jobs.
 */
import { Hono } from "hono";
import type { Context } from "hono";

import type { SimCore } from "./core.js";
import {
  ApiError,
  authenticationFailed,
  invalidParameter,
  invalidToken,
  noSuchUrl,
  objectNotFound,
  resourceLocked,
  serverBusy,
  storageError,
} from "./errors.js";
import type { JobResult, RequestContext, RouteDef, RouteTable } from "./routing.js";
import type { Session } from "./sessions.js";

export const API_ROOT = "/ConfigurationManager/v1";
const SHORT_OBJECTS = `${API_ROOT}/objects`;

/** Default bound on a job's background settle phase when the handler names none. */
const DEFAULT_SETTLE_TIMEOUT_MS = 30 * 60 * 1000;
/** Cinder's default Response-Max-Wait; also our bound when the header is absent. */
const DEFAULT_MAX_WAIT_SECONDS = 1800;

function objectsPrefix(c: Context): string {
  const sid = c.req.param("storageDeviceId");
  return sid === undefined ? SHORT_OBJECTS : `${SHORT_OBJECTS}/storages/${sid}`;
}

export function checkStorage(sim: SimCore, c: Context): void {
  const sid = c.req.param("storageDeviceId");
  if (sid !== undefined && sid !== sim.config.storageDeviceId) throw objectNotFound(`storage ${sid}`);
}

/** Authenticates a `Session <token>` request to the (right) storage. */
export function bearerSession(sim: SimCore, c: Context): Session {
  checkStorage(sim, c);
  const header = c.req.header("Authorization") ?? "";
  const match = /^Session\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw invalidToken();
  return sim.sessions.authenticate(match[1]);
}

/** Checks HTTP Basic credentials; returns the user name. */
export function basicUser(sim: SimCore, authorization: string | undefined): string {
  const header = authorization ?? "";
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw authenticationFailed();
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (colon < 0 || user !== sim.config.username || password !== sim.config.password) {
    throw authenticationFailed();
  }
  return user;
}

export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidParameter("body", "the request body is not valid JSON");
  }
}

function requestContext(sim: SimCore, c: Context, session: Session, body: unknown): RequestContext {
  const prefix = objectsPrefix(c);
  const params = { ...c.req.param() } as Record<string, string>;
  delete params.storageDeviceId;
  return {
    sim,
    params,
    query: new URL(c.req.url).searchParams,
    body,
    session,
    noWait: (c.req.header("Job-Mode-Wait-Configuration-Change") ?? "").toLowerCase() === "nowait",
    link: (...segments) => [prefix, ...segments.map(String)].join("/"),
  };
}

function asJobResult(outcome: string[] | JobResult): JobResult {
  return Array.isArray(outcome) ? { affected: outcome } : outcome;
}

/** An ApiError the REST server answers itself, before any job exists. */
function isSyncRejection(err: unknown): err is ApiError {
  return err instanceof ApiError && err.status < 500;
}

async function runChange(sim: SimCore, c: Context, route: RouteDef): Promise<Response> {
  const session = bearerSession(sim, c);
  // The body has arrived before any hold: a held request that is later processed must not depend
  // on a client connection that may be gone by then (that is the point of holding it).
  const body = await readJson(c);
  if (!(await sim.faults.admitChange(`${c.req.method} ${new URL(c.req.url).pathname}`, c.req.raw))) {
    // A dropped request never reached the storage system: the client sees the connection fail.
    throw new ApiError({ ...serverBusy().init, message: "The request was dropped (injected fault)." });
  }
  if (sim.faults.takeLockConflict()) throw resourceLocked("injected fault");
  if (sim.sessions.lockedByOther(session.sessionId) && !route.path.includes("resource-group-service")) {
    throw resourceLocked(`held by session ${sim.sessions.lockHolder}`);
  }
  const ctx = requestContext(sim, c, session, body);
  const requestUrl = new URL(c.req.url).pathname;
  const injected = sim.faults.takeJobFailure(requestUrl);
  const handler = route.handler as (
    ctx: RequestContext,
  ) => Promise<string[] | JobResult> | string[] | JobResult;

  // The change itself: serialized, rolled back whole if it fails.
  const outcome = await sim.serialize(async () => {
    sim.tick();
    const before = structuredClone(sim.store.state);
    try {
      if (injected) throw storageError(injected[0], injected[1], "injected job failure");
      const result = asJobResult(await handler(ctx));
      sim.store.save();
      return { ok: true as const, result };
    } catch (err) {
      sim.store.state = before;
      if (isSyncRejection(err)) throw err;
      return { ok: false as const, err };
    }
  });

  const record = sim.jobs.create({
    selfPrefix: objectsPrefix(c),
    userId: session.userId,
    requestUrl: c.req.url,
    requestMethod: c.req.method,
    requestBody: body === undefined ? "" : JSON.stringify(body),
  });
  const initial = structuredClone(record.object);
  sim.jobs.start(record);

  const finish = async (): Promise<void> => {
    if (!outcome.ok) {
      const err = outcome.err instanceof ApiError ? outcome.err : internalError(outcome.err);
      sim.jobs.fail(record, err.toObject(requestUrl));
      return;
    }
    const { affected, settle, settleTimeoutMs, settleError, ignoresNoWait } = outcome.result;
    if (settle && (!ctx.noWait || ignoresNoWait === true)) {
      const settled = await sim.waitFor(settle, settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS);
      if (!settled) {
        const err = settleError?.() ?? storageError("2E31", "9998", "timed out waiting for the operation");
        sim.jobs.fail(record, err.toObject(requestUrl));
        return;
      }
    }
    sim.jobs.succeed(record, affected);
  };
  void finish();

  if ((c.req.header("Response-Job-Status") ?? "").toLowerCase().startsWith("completed")) {
    const maxWait = Number(c.req.header("Response-Max-Wait") ?? DEFAULT_MAX_WAIT_SECONDS);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      record.done,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, maxWait) * 1000))),
    ]);
    clearTimeout(timer);
    return c.json(record.object, 202);
  }
  return c.json(initial, 202);
}

function internalError(err: unknown): ApiError {
  return new ApiError({
    status: 500,
    messageId: "KART00001-E",
    message: `An internal error occurred in the REST API server. (${err instanceof Error ? err.message : String(err)})`,
    solution: "Contact customer support.",
  });
}

async function runQuery(sim: SimCore, c: Context, route: RouteDef): Promise<Response> {
  const session = bearerSession(sim, c);
  sim.tick();
  const ctx = requestContext(sim, c, session, undefined);
  const result: unknown = await route.handler(ctx);
  return c.json(result as object, 200);
}

/** Hono path syntax for our `:param` paths, under one URL style. */
function mountPaths(route: RouteDef): string[] {
  if (route.root === "services") {
    return [`${API_ROOT}/services${route.path}`, `${API_ROOT}/:storageDeviceId/services${route.path}`];
  }
  return [`${SHORT_OBJECTS}${route.path}`, `${SHORT_OBJECTS}/storages/:storageDeviceId${route.path}`];
}

export function buildApp(sim: SimCore, table: RouteTable, extra: (app: Hono) => void): Hono {
  const app = new Hono();

  app.use(`${API_ROOT}/*`, async (c, next) => {
    const started = performance.now();
    // A fault raised here never reaches the route, so its status is not in c.res yet.
    let refusedWith: number | undefined;
    // Response body size, for benchmarks of bytes per operation (errors raised here: not known).
    let bytes: number | undefined;
    // Every VSP API request holds one of the REST server's request threads until its answer is
    // ready: queries, session login, and a change whose answer waits for its job
    // (Response-Job-Status: Completed) or in the holdChangesAfter fault. The admin routes are
    // outside /ConfigurationManager and never counted. Past the limit: 503 busy, nothing done.
    const admitted = sim.requests.tryEnter();
    try {
      if (!admitted) {
        refusedWith = 503;
        throw serverBusy();
      }
      const { latencyMs } = sim.faults.settings;
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      if (sim.faults.takeBusy()) {
        refusedWith = 503;
        throw serverBusy();
      }
      await next();
      bytes = (await c.res.clone().arrayBuffer()).byteLength;
    } finally {
      if (admitted) sim.requests.leave();
      const url = new URL(c.req.url);
      sim.logRequest({
        at: sim.clock.now(),
        method: c.req.method,
        path: url.pathname,
        ...(url.search === "" ? {} : { query: url.search.slice(1) }),
        ...(bytes === undefined ? {} : { bytes }),
        status: refusedWith ?? c.res.status,
        ms: performance.now() - started,
        ...(sim.faults.heldBefore(c.req.raw) ? { held: true } : {}),
      });
    }
  });

  extra(app);

  for (const route of table.routes) {
    for (const path of mountPaths(route)) {
      if (route.kind === "query") {
        app.get(path, (c) => runQuery(sim, c, route));
      } else {
        // Legacy PUT: ≡ PATCH on objects, ≡ POST on /invoke (the older HCS reference; Cinder uses it).
        const methods = route.method === "DELETE" ? ["DELETE"] : [route.method, "PUT"];
        app.on(methods, path, (c) => runChange(sim, c, route));
      }
    }
  }

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    return c.json(noSuchUrl(path).toObject(path), 404);
  });

  app.onError((err, c) => {
    const path = new URL(c.req.url).pathname;
    const apiError = err instanceof ApiError ? err : internalError(err);
    return c.json(apiError.toObject(path), apiError.status as 400, apiError.init.headers);
  });

  return app;
}
