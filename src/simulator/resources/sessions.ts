/**
 * Sessions (synchronous, unlike other changes), jobs, the storage system itself, and the
 * resource-group lock service.
 */
import type { Context, Hono } from "hono";
import { z } from "zod";

import type { SimCore } from "../core.js";
import { ApiError, invalidObjectId, objectNotFound, preconditionFailed, resourceLocked } from "../errors.js";
import { API_ROOT, basicUser, bearerSession, checkStorage, readJson } from "../http.js";
import type { RouteTable } from "../routing.js";
import { actionParameters, intParam, parseWith } from "../routing.js";

const createSessionBody = z
  .object({
    aliveTime: z.number().int().min(1).max(300).optional(),
    authenticationTimeout: z.number().int().min(1).max(900).optional(),
  })
  .loose();

const discardSessionBody = z.object({ force: z.boolean().optional() }).loose();

function sessionId(c: Context): number {
  const raw = c.req.param("sessionId");
  if (!raw || !/^\d+$/.test(raw)) throw invalidObjectId(raw ?? "");
  return Number(raw);
}

/** Session routes need Basic auth (create) or are synchronous (discard): mounted directly. */
export function mountSessionRoutes(app: Hono, sim: SimCore): void {
  for (const base of [`${API_ROOT}/objects`, `${API_ROOT}/objects/storages/:storageDeviceId`]) {
    app.post(`${base}/sessions`, async (c) => {
      checkStorage(sim, c);
      const user = basicUser(sim, c.req.header("Authorization"));
      const body = parseWith(createSessionBody, await readJson(c));
      const ip = c.req.header("X-Forwarded-For") ?? "127.0.0.1";
      const session = sim.sessions.create(user, ip, body.aliveTime, body.authenticationTimeout);
      return c.json({ token: session.token, sessionId: session.sessionId }, 200);
    });

    app.get(`${base}/sessions`, (c) => {
      bearerSession(sim, c);
      return c.json({ data: sim.sessions.list().map((s) => sim.sessions.view(s)) }, 200);
    });

    app.get(`${base}/sessions/:sessionId`, (c) => {
      bearerSession(sim, c);
      const id = sessionId(c);
      const session = sim.sessions.get(id);
      if (!session) throw objectNotFound(`session ${id}`);
      return c.json(sim.sessions.view(session), 200);
    });

    app.delete(`${base}/sessions/:sessionId`, async (c) => {
      const caller = bearerSession(sim, c);
      const id = sessionId(c);
      const body = parseWith(discardSessionBody, await readJson(c));
      const target = sim.sessions.get(id);
      if (!target) throw objectNotFound(`session ${id}`);
      if (target.userId !== caller.userId && body.force !== true) {
        throw new ApiError({
          status: 403,
          messageId: "KART40049-E",
          message: "The session of another user cannot be discarded without force.",
          solution: "Specify force, as a user of the administrator user group.",
        });
      }
      sim.sessions.discard(id);
      return c.json({ sessionId: id }, 200);
    });
  }
}

const lockParameters = z.object({ waitTime: z.number().int().min(0).max(7200).default(0) }).loose();

export function registerCoreRoutes(routes: RouteTable): void {
  routes.get("/jobs", (ctx) => {
    const count = ctx.query.has("count") ? intParam(ctx.query.get("count"), "count", 1, 3000) : 100;
    return { data: ctx.sim.jobs.list(count) };
  });

  routes.get("/jobs/:jobId", (ctx) => {
    const id = intParam(ctx.params.jobId, "jobId", 0, Number.MAX_SAFE_INTEGER);
    const job = ctx.sim.jobs.get(id);
    if (!job) throw objectNotFound(`job ${id}`);
    return job;
  });

  routes.get("/storages", (ctx) => ({ data: [storageSummary(ctx.sim)] }));
  routes.get("/storages/instance", (ctx) => storageSummary(ctx.sim));
  routes.get("/storages/:sid", (ctx) => {
    if (ctx.params.sid !== ctx.sim.config.storageDeviceId) throw objectNotFound(`storage ${ctx.params.sid}`);
    return storageSummary(ctx.sim);
  });

  /**
   * Lock: the job ends when the lock is ours, or fails with KART40050-E once waitTime has passed.
   * The lock belongs to the calling session and goes with it.
   */
  routes.serviceAction("/resource-group-service/actions/lock", {
    invoke: (ctx) => {
      const { waitTime } = actionParameters(lockParameters, ctx.body);
      const sessions = ctx.sim.sessions;
      const id = ctx.session.sessionId;
      if (sessions.tryLock(id)) return [];
      if (waitTime === 0) throw lockFailure(sessions.lockHolder);
      return {
        affected: [],
        settle: () => sessions.tryLock(id),
        settleTimeoutMs: waitTime * 1000,
        settleError: () => lockFailure(sessions.lockHolder),
        ignoresNoWait: true,
      };
    },
  });

  routes.serviceAction("/resource-group-service/actions/unlock", {
    invoke: (ctx) => {
      if (!ctx.sim.sessions.unlock(ctx.session.sessionId)) {
        throw preconditionFailed("This session does not hold the resource group lock.", {
          errorCode: "EX_EACCES",
        });
      }
      return [];
    },
  });
}

function lockFailure(holder: number | undefined): ApiError {
  // A lock failure inside the storage system: Failed job, KART40050-E with SSB 2E11/2205.
  const base = resourceLocked(`held by session ${holder ?? "none"}`);
  return new ApiError({ ...base.init, status: 500 });
}

export function storageSummary(sim: SimCore): Record<string, unknown> {
  const sid = sim.config.storageDeviceId;
  return {
    storageDeviceId: sid,
    model: sim.config.model,
    serialNumber: Number(sid.slice(-6)),
    dkcMicroVersion: "88-08-12-00/00",
    communicationModes: "lanConnectionMode",
    isSecure: false,
    ctl1Ip: "127.0.0.1",
    ctl2Ip: "127.0.0.1",
    svpIp: "127.0.0.1",
  };
}
