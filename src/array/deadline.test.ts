/**
 * The caller's deadline (options.deadline; the driver passes src/deadline.ts currentDeadline):
 * retries, job waits and HTTP exchanges end by it, with typed errors the driver maps to
 * UNAVAILABLE / DEADLINE_EXCEEDED, and a change is never submitted twice because of it.
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

import { afterEach, describe, expect, it } from "vitest";

import { currentDeadline, runWithDeadline } from "../deadline.js";
import { VspClient } from "./client.js";
import { VspBusyError, VspJobTimeoutError, VspTransportError } from "./errors.js";
import type { VspClientOptions } from "./options.js";
import { rejectionOf } from "./test-support/client-harness.js";
import { JSON_HEADERS, LOCK_PATH, ORIGIN, ROOT, SID, mockArray } from "./test-support/mock-array.js";

const BUSY = { messageId: "KART00003-E", solutionType: "RETRY" };

let client: VspClient | undefined;
let server: Server | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  server?.closeAllConnections();
  if (server) await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A client whose own budgets are far longer than the deadlines under test. */
function deadlineClient(overrides: Partial<VspClientOptions> = {}): VspClient {
  return new VspClient({
    baseUrl: ORIGIN,
    storageDeviceId: SID,
    username: "maintenance",
    password: "raid-maintenance",
    keepAliveIntervalMs: 0,
    jobTimeoutMs: 60_000,
    retry: { budgetMs: 60_000, baseDelayMs: 10, maxDelayMs: 20 },
    deadline: currentDeadline,
    ...overrides,
  });
}

/** GETs of storage the array answered (503 busy) in `alwaysBusy`. */
let busyAnswers = 0;

/** An array whose GET storage answers 503 busy (KART00003-E) to every try. */
function alwaysBusy(): ReturnType<typeof mockArray> {
  const agent = mockArray();
  busyAnswers = 0;
  agent
    .get(ORIGIN)
    .intercept({ path: ROOT, method: "GET" })
    .reply(() => {
      busyAnswers += 1;
      return { statusCode: 503, data: BUSY, responseOptions: { headers: JSON_HEADERS } };
    })
    .persist();
  return agent;
}

describe("the retry loop and the call's deadline", () => {
  it("stops retrying a busy array at the deadline, long before its own budget, as VspBusyError", async () => {
    const agent = alwaysBusy();
    client = deadlineClient({ dispatcher: agent });
    const err = await rejectionOf(
      runWithDeadline(Date.now() + 200, () => client!.storage.get()),
      VspBusyError,
    );
    expect(err.message).toMatch(/no time left before the call's deadline to retry/);
    // The last try is the array's 503, or — when a backoff ended right at the deadline on a busy
    // machine — the send the deadline stopped before it left (also a VspBusyError: nothing sent).
    expect(err.cause).toBeInstanceOf(VspBusyError);
    expect(busyAnswers).toBeGreaterThan(1);
    expect(err.attempts).toBeGreaterThanOrEqual(busyAnswers);
  });

  it("sends nothing once the deadline has passed (the request stays unanswered in the mock)", async () => {
    const agent = mockArray();
    agent.get(ORIGIN).intercept({ path: ROOT, method: "GET" }).reply(200, {}, { headers: JSON_HEADERS });
    client = deadlineClient({ dispatcher: agent });
    await client.connect();
    const err = await rejectionOf(
      runWithDeadline(Date.now() - 1, () => client!.storage.get()),
      VspBusyError,
    );
    expect((err.cause as Error).message).toMatch(/deadline passed before the request could be sent/);
    expect(agent.pendingInterceptors().map((i) => [i.method, i.path])).toContainEqual(["GET", ROOT]);
  });

  it("without a deadline the client's own budget applies, as before", async () => {
    const agent = alwaysBusy();
    client = deadlineClient({ dispatcher: agent, retry: { budgetMs: 100, baseDelayMs: 10, maxDelayMs: 20 } });
    const err = await rejectionOf(client.storage.get(), VspBusyError);
    expect(err).toMatchObject({ httpStatus: 503, messageId: "KART00003-E" });
    expect(err.message).not.toMatch(/deadline/);
  });
});

describe("job waits and the call's deadline", () => {
  it("stops polling a running job at the deadline with VspJobTimeoutError, never resubmitting it", async () => {
    const agent = mockArray();
    const pool = agent.get(ORIGIN);
    // One POST only: a replay would find no interceptor and fail as a transport error instead.
    pool
      .intercept({ path: LOCK_PATH, method: "POST" })
      .reply(202, { jobId: 3, status: "Initializing", state: "Queued" }, { headers: JSON_HEADERS });
    pool
      .intercept({ path: `${ROOT}/jobs/3`, method: "GET" })
      .reply(200, { jobId: 3, status: "Running", state: "Started" }, { headers: JSON_HEADERS })
      .persist();
    client = deadlineClient({ dispatcher: agent, jobWait: "poll" });
    const err = await rejectionOf(
      runWithDeadline(Date.now() + 200, () => client!.resourceGroupLock.lock(0)),
      VspJobTimeoutError,
    );
    expect(err).toMatchObject({ jobId: 3, method: "POST", path: LOCK_PATH, attempts: 1 });
    expect(err.message).toMatch(/at the call's deadline/);
  });

  it("asks the array to hold a header-mode answer only until a second before the deadline", async () => {
    const agent = mockArray();
    const seen: string[] = [];
    agent
      .get(ORIGIN)
      .intercept({ path: LOCK_PATH, method: "POST" })
      .reply(
        202,
        (opts) => {
          seen.push(String((opts.headers as Record<string, string>)["Response-Max-Wait"]));
          return { jobId: 4, status: "Completed", state: "Succeeded", affectedResources: [] };
        },
        { headers: JSON_HEADERS },
      );
    client = deadlineClient({ dispatcher: agent, jobWait: "header" });
    await runWithDeadline(Date.now() + 5_900, () => client!.resourceGroupLock.lock(0));
    // 5.9 s left, rounded down, less one second; the configured wait (60 s) applies without one.
    expect(seen).toEqual(["4"]);
  });
});

describe("an HTTP exchange and the call's deadline", () => {
  it("cuts an exchange the array does not answer at the deadline (transport timeout, then no retry)", async () => {
    const held: IncomingMessage[] = [];
    server = createServer((req, res) => {
      if (req.method === "POST") {
        res.writeHead(200, JSON_HEADERS).end(JSON.stringify({ token: "t", sessionId: 1 }));
      } else {
        held.push(req); // never answered
      }
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    client = deadlineClient({ baseUrl: `http://127.0.0.1:${port}`, requestTimeoutMs: 60_000 });
    const err = await rejectionOf(
      runWithDeadline(Date.now() + 300, () => client!.storage.get()),
      VspBusyError,
    );
    expect(err.cause).toBeInstanceOf(VspTransportError);
    expect(err.cause).toMatchObject({ failure: "timeout" });
    expect(held).toHaveLength(1);
    // close() would DELETE the session on a server that holds every request: skip it.
    client = undefined;
  });
});
