/**
 * The admin endpoint, outside the VSP API (`/simulator/...`, Basic auth with the array
 * credentials): faults, the request log, request concurrency (stats and limit), session expiry,
 * and host-side data access to LDEVs
 * (what a host would read or write through a LUN), so tests and demos can check bytes without
 * attaching devices.
 */
import type { Context, Hono } from "hono";
import { z } from "zod";

import type { SimCore } from "./core.js";
import { objectNotFound } from "./errors.js";
import { basicUser, readJson } from "./http.js";
import { faultPatchSchema } from "./faults.js";
import { intParam, parseWith } from "./routing.js";

export const ADMIN_ROOT = "/simulator";

/** Settings of the simulated array that may change while it runs; unknown keys are refused. */
const configPatchSchema = z
  .object({ maxConcurrentRequests: z.number().int().min(1).max(100_000) })
  .partial()
  .strict();

function ldevFile(sim: SimCore, c: Context): { path: string; bytes: number } {
  const id = intParam(c.req.param("ldevId"), "ldevId", 0, sim.config.maxLdevId);
  const ldev = sim.state.ldevs[String(id)];
  if (!ldev) throw objectNotFound(`ldev ${id}`);
  return { path: sim.blocks.ldevPath(id), bytes: ldev.blockCapacity * 512 };
}

export function mountAdminRoutes(app: Hono, sim: SimCore): void {
  app.use(`${ADMIN_ROOT}/*`, async (c, next) => {
    basicUser(sim, c.req.header("Authorization"));
    await next();
  });

  app.get(`${ADMIN_ROOT}/faults`, (c) =>
    c.json({
      ...sim.faults.settings,
      heldCount: sim.faults.heldCount,
      heldRequests: sim.faults.heldRequests,
    }),
  );
  app.put(`${ADMIN_ROOT}/faults`, async (c) =>
    c.json(sim.faults.update(parseWith(faultPatchSchema, await readJson(c)))),
  );
  app.delete(`${ADMIN_ROOT}/faults`, (c) => {
    sim.faults.reset();
    return c.json(sim.faults.settings);
  });

  /** Request concurrency: the limit, requests in flight, the high-water mark, refusals. */
  const stats = () => ({ requests: sim.requests.stats(), jobQueue: { ...sim.jobQueue } });
  app.get(`${ADMIN_ROOT}/stats`, (c) => c.json(stats()));
  /** Starts a new measurement (a benchmark run): high-water mark and refusal count restart. */
  app.delete(`${ADMIN_ROOT}/stats`, (c) => {
    sim.requests.resetStats();
    sim.jobQueue.busyMs = 0;
    sim.jobQueue.jobs = 0;
    return c.json(stats());
  });
  app.put(`${ADMIN_ROOT}/config`, async (c) => {
    const patch = parseWith(configPatchSchema, await readJson(c));
    if (patch.maxConcurrentRequests !== undefined) {
      sim.requests.maxConcurrentRequests = patch.maxConcurrentRequests;
    }
    return c.json({ maxConcurrentRequests: sim.requests.maxConcurrentRequests });
  });

  app.post(`${ADMIN_ROOT}/sessions/expire`, (c) => {
    sim.sessions.expireAll();
    return c.json({ sessions: 0 });
  });

  /** The request log; `?since=<index>` returns entries from that position on. */
  app.get(`${ADMIN_ROOT}/requests`, (c) => {
    const since = Number(c.req.query("since") ?? "0");
    return c.json({ next: sim.requestLog.length, data: sim.requestLog.slice(since) });
  });
  app.delete(`${ADMIN_ROOT}/requests`, (c) => {
    sim.requestLog.length = 0;
    return c.json({ next: 0 });
  });

  app.get(`${ADMIN_ROOT}/state`, (c) => {
    sim.tick();
    return c.json(sim.state);
  });

  app.get(`${ADMIN_ROOT}/ldevs/:ldevId/data`, async (c) => {
    const { path, bytes } = ldevFile(sim, c);
    const offset = intParam(c.req.query("offset") ?? "0", "offset", 0, bytes);
    const length = intParam(c.req.query("length"), "length", 0, Math.min(bytes - offset, 64 * 1024 * 1024));
    const data = await sim.blocks.read(path, offset, length);
    return c.body(new Uint8Array(data), 200, { "Content-Type": "application/octet-stream" });
  });

  app.put(`${ADMIN_ROOT}/ldevs/:ldevId/data`, async (c) => {
    const { path, bytes } = ldevFile(sim, c);
    const data = new Uint8Array(await c.req.arrayBuffer());
    const offset = intParam(c.req.query("offset") ?? "0", "offset", 0, Math.max(0, bytes - data.length));
    await sim.blocks.write(path, offset, data);
    return c.json({ written: data.length });
  });

  app.get(`${ADMIN_ROOT}/ldevs/:ldevId/sha256`, async (c) => {
    const { path } = ldevFile(sim, c);
    return c.json({
      sha256: await sim.blocks.sha256(path),
      allocatedBytes: await sim.blocks.allocatedBytes(path),
    });
  });
}
