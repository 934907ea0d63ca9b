import { rm } from "node:fs/promises";

import { afterEach, describe, expect, it } from "vitest";

import { Simulator } from "../simulator/index.js";
import type { RunningSimulator } from "../simulator/index.js";
import { startTestSim } from "../simulator/test-support/harness.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import type { VspClient } from "./client.js";
import { VspAuthError } from "./errors.js";
import { ClientClosedError } from "./session.js";
import {
  clientFor,
  countRequests,
  logMark,
  rejectionOf,
  requestLog,
  sleep,
} from "./test-support/client-harness.js";

let t: TestSim | undefined;
let client: VspClient | undefined;
let restarted: RunningSimulator | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await restarted?.close();
  restarted = undefined;
  await t?.stop();
  t = undefined;
});

const isLogin = (path: string) => path.endsWith("/sessions");
const SESSIONS = /\/sessions$/;
const STORAGE = /\/objects\/storages\/\d+$/;

describe("session reuse", () => {
  it.each([
    { urlStyle: "storage-scoped" as const, loginPath: /\/objects\/storages\/886000123456\/sessions$/ },
    { urlStyle: "short" as const, loginPath: /^\/ConfigurationManager\/v1\/objects\/sessions$/ },
  ])("logs in ONCE for 10 concurrent first calls and 5 more ($urlStyle)", async ({ urlStyle, loginPath }) => {
    t = await startTestSim();
    client = clientFor(t, { urlStyle });
    const mark = await logMark(t);
    const first = await Promise.all(Array.from({ length: 10 }, () => client!.storage.get()));
    for (let i = 0; i < 5; i++) await client.storage.get();
    expect(first.every((s) => s.storageDeviceId === "886000123456")).toBe(true);
    const log = await requestLog(t, mark);
    expect(countRequests(log, "POST", SESSIONS)).toBe(1);
    expect(countRequests(log, "POST", loginPath, 200)).toBe(1);
    expect(countRequests(log, "GET", STORAGE, 200)).toBe(15);
    expect(client.sessionId).toBeGreaterThan(t.sessionId);
  });

  it("re-logs in once after the array expired every session, and replays the calls", async () => {
    t = await startTestSim();
    client = clientFor(t);
    await client.connect();
    const before = client.sessionId;
    await t.admin("POST", "/simulator/sessions/expire");
    const mark = await logMark(t);
    await Promise.all(Array.from({ length: 6 }, () => client!.storage.get()));
    const log = await requestLog(t, mark);
    expect(countRequests(log, "GET", STORAGE, 401)).toBeGreaterThanOrEqual(1);
    expect(countRequests(log, "POST", SESSIONS, 200)).toBe(1);
    expect(countRequests(log, "GET", STORAGE, 200)).toBe(6);
    expect(client.sessionId).not.toBe(before);
  });

  it("re-logs in after the simulator restarts on the same data directory", async () => {
    const first = await startTestSim();
    client = clientFor(first);
    await client.storage.get();
    await first.running.close();
    const sim2 = await Simulator.create({ dataDir: first.dataDir });
    restarted = await sim2.listen({ port: first.running.port });
    try {
      const storage = await client.storage.get();
      expect(storage.storageDeviceId).toBe("886000123456");
      const log = sim2.core.requestLog;
      expect(log.filter((r) => r.method === "POST" && isLogin(r.path) && r.status === 200)).toHaveLength(1);
      expect(log.some((r) => r.status === 401)).toBe(true);
    } finally {
      await client.close();
      client = undefined;
      await rm(first.dataDir, { recursive: true, force: true });
    }
  });

  it("rejects bad credentials with VspAuthError after one attempt", async () => {
    t = await startTestSim();
    client = clientFor(t, { password: "wrong-password" });
    const mark = await logMark(t);
    const err = await rejectionOf(client.storage.get(), VspAuthError);
    expect(err).toMatchObject({ httpStatus: 401, messageId: "KART40046-E", method: "POST" });
    expect(err.message).not.toContain("wrong-password");
    expect(countRequests(await requestLog(t, mark), "POST", SESSIONS)).toBe(1);
  });
});

describe("keep-alive", () => {
  it("keeps a 1 s aliveTime session alive with GET sessions/{id}; without it the session expires", async () => {
    t = await startTestSim();
    client = clientFor(t, { aliveTimeSeconds: 1, keepAliveIntervalMs: 300 });
    const idle = clientFor(t, { aliveTimeSeconds: 1, keepAliveIntervalMs: 0 });
    try {
      await client.connect();
      await idle.connect();
      const [kept, lapsed] = [client.sessionId, idle.sessionId];
      await sleep(1_700);
      expect((await t.req("GET", `${t.short}/sessions/${kept}`)).status).toBe(200);
      expect((await t.req("GET", `${t.short}/sessions/${lapsed}`)).status).toBe(404);
      const log = await requestLog(t);
      expect(countRequests(log, "GET", new RegExp(`/sessions/${kept}$`), 200)).toBeGreaterThanOrEqual(3);
      const mark = await logMark(t);
      await client.storage.get();
      expect(countRequests(await requestLog(t, mark), "POST", SESSIONS)).toBe(0);
    } finally {
      await idle.close();
    }
  });
});

describe("close", () => {
  it("discards the session on the array and refuses later calls", async () => {
    t = await startTestSim();
    client = clientFor(t);
    await client.connect();
    const id = client.sessionId;
    const listed = await t.req("GET", `${t.short}/sessions`);
    expect(listed.body.data.map((s: { sessionId: number }) => s.sessionId)).toContain(id);
    await client.close();
    const after = await t.req("GET", `${t.short}/sessions`);
    expect(after.body.data.map((s: { sessionId: number }) => s.sessionId)).not.toContain(id);
    await rejectionOf(client.storage.get(), ClientClosedError);
    client = undefined;
  });
});
