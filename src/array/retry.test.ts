import { createServer } from "node:net";
import type { AddressInfo } from "node:net";

import { afterEach, describe, expect, it } from "vitest";

import { basicAuth, rawRequest, startTestSim } from "../simulator/test-support/harness.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import { VspClient } from "./client.js";
import { VspBusyError, VspLockedError, VspStorageError, VspTransportError } from "./errors.js";
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

afterEach(async () => {
  await client?.close();
  client = undefined;
  await t?.stop();
  t = undefined;
});

const STORAGE = /\/objects\/storages\/\d+$/;
const SESSIONS = /\/sessions$/;
const LOCK = /\/resource-group-service\/actions\/lock\/invoke$/;
const UNLOCK = /\/resource-group-service\/actions\/unlock\/invoke$/;

async function connected(
  overrides: Parameters<typeof clientFor>[1] = {},
): Promise<{ t: TestSim; client: VspClient }> {
  t = await startTestSim();
  client = clientFor(t, overrides);
  await client.connect();
  return { t, client };
}

describe("busy (503 KART00003-E)", () => {
  it.each([
    { call: "GET storage", run: (c: VspClient) => c.storage.get(), method: "GET", path: STORAGE },
    { call: "POST lock", run: (c: VspClient) => c.resourceGroupLock.lock(0), method: "POST", path: LOCK },
  ])("retries $call through two busy answers and succeeds", async ({ run, method, path }) => {
    const { t, client } = await connected();
    await t.admin("PUT", "/simulator/faults", { busyCount: 2 });
    const mark = await logMark(t);
    await run(client);
    // Two busy answers, then the one that worked. (The simulator's log records the status of an
    // answer refused in its middleware as 200, so the 503s are counted as attempts, not by status.)
    expect(countRequests(await requestLog(t, mark), method, path)).toBe(3);
  });

  it("gives up with VspBusyError (KART00003-E) when the budget runs out", async () => {
    const { t, client } = await connected({ retry: { budgetMs: 300, baseDelayMs: 20, maxDelayMs: 60 } });
    await t.admin("PUT", "/simulator/faults", { busyCount: 10_000 });
    const mark = await logMark(t);
    const err = await rejectionOf(client.storage.get(), VspBusyError);
    // It gave up by its budget, a few backed-off attempts in: not by running the busy answers out.
    const attempts = countRequests(await requestLog(t, mark), "GET", STORAGE);
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThan(100);
    expect(err).toMatchObject({
      httpStatus: 503,
      messageId: "KART00003-E",
      solutionType: "RETRY",
      retryAfterMs: 1000,
    });
    expect(err.attempts).toBeGreaterThan(2);
    await t.admin("DELETE", "/simulator/faults");
  });
});

describe("lock conflicts", () => {
  it("retries a change refused by a lock conflict and succeeds", async () => {
    const { t, client } = await connected();
    await t.admin("PUT", "/simulator/faults", { lockConflictCount: 2 });
    const mark = await logMark(t);
    await client.resourceGroupLock.lock(0);
    expect(countRequests(await requestLog(t, mark), "POST", LOCK)).toBe(3);
  });

  it("ends with VspLockedError carrying KART40050-E and SSB 2E11/2205 when the lock stays", async () => {
    const { t, client } = await connected({ retry: { budgetMs: 200, baseDelayMs: 20, maxDelayMs: 40 } });
    await t.admin("PUT", "/simulator/faults", { lockConflictCount: 10_000 });
    const err = await rejectionOf(client.resourceGroupLock.lock(0), VspLockedError);
    expect(err).toMatchObject({
      httpStatus: 503,
      messageId: "KART40050-E",
      ssb: { ssb1: "2E11", ssb2: "2205" },
    });
    expect(err.attempts).toBeGreaterThan(1);
  });

  it("replays a change whose job Failed with a lock SSB (a Failed job changed nothing)", async () => {
    const { t, client } = await connected();
    await t.admin("PUT", "/simulator/faults", {
      failJobsCount: 1,
      failJobsMatch: "/lock",
      failJobsSsb: ["2E11", "2207"],
    });
    const mark = await logMark(t);
    await client.resourceGroupLock.lock(0);
    expect(countRequests(await requestLog(t, mark), "POST", LOCK, 202)).toBe(2);
  });
});

describe("failed jobs", () => {
  it.each([
    { ssb: ["2E30", "0007"] as const, name: "POOL_FULL" as const },
    { ssb: ["2E31", "9999"] as const, name: undefined },
  ])(
    "turns a Failed job with SSB $ssb into VspStorageError and does not replay it",
    async ({ ssb, name }) => {
      const { t, client } = await connected();
      await client.resourceGroupLock.lock(0);
      await t.admin("PUT", "/simulator/faults", {
        failJobsCount: 1,
        failJobsMatch: "/unlock",
        failJobsSsb: ssb,
      });
      const mark = await logMark(t);
      const err = await rejectionOf(client.resourceGroupLock.unlock(), VspStorageError);
      expect(err).toMatchObject({
        httpStatus: 202,
        messageId: "KART30000-E",
        ssb: { ssb1: ssb[0], ssb2: ssb[1] },
        jobId: expect.any(Number),
        method: "POST",
        errorSource: expect.stringMatching(UNLOCK),
      });
      if (name) expect(err.is(name)).toBe(true);
      expect(countRequests(await requestLog(t, mark), "POST", UNLOCK)).toBe(1);
      // The failed job changed nothing: the lock is still ours and unlocking now works.
      await client.resourceGroupLock.unlock();
    },
  );
});

describe("timeouts and connection failures", () => {
  it("retries a GET that timed out, and reports VspTransportError(timeout) when the budget ends", async () => {
    const { t, client } = await connected({
      requestTimeoutMs: 100,
      retry: { budgetMs: 400, baseDelayMs: 20, maxDelayMs: 40 },
    });
    await t.admin("PUT", "/simulator/faults", { latencyMs: 300 });
    const err = await rejectionOf(client.storage.get(), VspTransportError);
    expect(err).toMatchObject({ failure: "timeout", method: "GET", httpStatus: undefined });
    expect(err.attempts).toBeGreaterThan(1);
  });

  it("does not replay a change that timed out: it may have been applied", async () => {
    const { t, client } = await connected({ requestTimeoutMs: 100, jobWait: "poll" });
    await t.admin("PUT", "/simulator/faults", { latencyMs: 300 });
    const mark = await logMark(t);
    const err = await rejectionOf(client.resourceGroupLock.lock(0), VspTransportError);
    expect(err).toMatchObject({ failure: "timeout", attempts: 1, maybeSent: true });
    await sleep(400);
    await t.admin("DELETE", "/simulator/faults");
    expect(countRequests(await requestLog(t, mark), "POST", LOCK)).toBe(1);
  });

  it("retries while the connection is refused, then reports VspTransportError(connect)", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    client = new VspClient({
      baseUrl: `http://127.0.0.1:${port}`,
      storageDeviceId: "886000123456",
      username: "u",
      password: "p",
      retry: { budgetMs: 200, baseDelayMs: 20, maxDelayMs: 40 },
    });
    const err = await rejectionOf(client.storage.get(), VspTransportError);
    expect(err).toMatchObject({ failure: "connect", code: "ECONNREFUSED", maybeSent: false });
    expect(err.attempts).toBeGreaterThan(1);
  });
});

describe("the 64-session limit", () => {
  async function fillSessions(t: TestSim): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 1; i < 64; i++) {
      const r = await rawRequest("POST", `${t.short}/sessions`, undefined, { Authorization: basicAuth });
      expect(r.status).toBe(200);
      ids.push(Number(r.body.sessionId));
    }
    return ids;
  }

  it("keeps retrying the login until a session is freed", async () => {
    t = await startTestSim();
    const ids = await fillSessions(t);
    client = clientFor(t, { retry: { budgetMs: 5_000, baseDelayMs: 20, maxDelayMs: 50 } });
    const mark = await logMark(t);
    const login = client.connect();
    await sleep(300);
    expect((await t.req("DELETE", `${t.short}/sessions/${ids[0]}`)).status).toBe(200);
    await login;
    const log = await requestLog(t, mark);
    expect(countRequests(log, "POST", SESSIONS, 503)).toBeGreaterThanOrEqual(2);
    expect(countRequests(log, "POST", SESSIONS, 200)).toBe(1);
  });

  it("reports VspBusyError when no session is freed within the budget", async () => {
    t = await startTestSim();
    await fillSessions(t);
    client = clientFor(t, { retry: { budgetMs: 300, baseDelayMs: 20, maxDelayMs: 50 } });
    const err = await rejectionOf(client.connect(), VspBusyError);
    expect(err).toMatchObject({ httpStatus: 503, method: "POST", solutionType: "RETRY" });
    expect(err.path).toMatch(SESSIONS);
  });
});
