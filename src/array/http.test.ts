import { readFile, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { Simulator } from "../simulator/index.js";
import type { RunningSimulator } from "../simulator/index.js";
import { VspClient } from "./client.js";
import type { VspClientOptions } from "./options.js";
import { VspBusyError, VspError, VspNotFoundError, VspServerError, VspTransportError } from "./errors.js";
import { rejectionOf } from "./test-support/client-harness.js";
import { JSON_HEADERS, LOCK_PATH, ORIGIN, ROOT, SID, mockArray } from "./test-support/mock-array.js";

const HTML_HEADERS = { "content-type": "text/html; charset=utf-8" };

let client: VspClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

function base(overrides: Partial<VspClientOptions> = {}): VspClientOptions {
  return {
    baseUrl: ORIGIN,
    storageDeviceId: SID,
    username: "maintenance",
    password: "raid-maintenance",
    keepAliveIntervalMs: 0,
    retry: { budgetMs: 500, baseDelayMs: 5, maxDelayMs: 20 },
    ...overrides,
  };
}

describe("answers that are not the documented JSON", () => {
  const page = (title: string) =>
    `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`;

  it.each([
    {
      status: 500,
      headers: HTML_HEADERS,
      body: page("500 Internal Server Error"),
      type: VspServerError,
      text: "500 Internal Server Error",
    },
    {
      status: 502,
      headers: HTML_HEADERS,
      body: page("502 Bad Gateway"),
      type: VspServerError,
      text: "502 Bad Gateway",
    },
    {
      status: 404,
      headers: HTML_HEADERS,
      body: page("404 Not Found"),
      type: VspNotFoundError,
      text: "404 Not Found",
    },
    { status: 200, headers: HTML_HEADERS, body: page("Login"), type: VspServerError, text: "Login" },
    { status: 500, headers: JSON_HEADERS, body: "{not json", type: VspServerError, text: "{not json" },
  ])(
    "GET answered $status ($headers.content-type) → $type.name",
    async ({ status, headers, body, type, text }) => {
      const agent = mockArray();
      agent.get(ORIGIN).intercept({ path: ROOT, method: "GET" }).reply(status, body, { headers });
      client = new VspClient(base({ dispatcher: agent, retry: { budgetMs: 0 } }));
      const err = await rejectionOf(client.storage.get(), VspError);
      expect(err).toBeInstanceOf(type);
      expect(err).toMatchObject({ httpStatus: status, messageId: undefined, method: "GET", path: ROOT });
      expect(err.arrayMessage).toContain(text);
      expect(err.message).not.toContain("<html>");
      await client.close();
      client = undefined;
      agent.assertNoPendingInterceptors();
    },
  );

  it("retries a change answered 503 with an HTML page (busy, never accepted) and succeeds", async () => {
    const agent = mockArray();
    const pool = agent.get(ORIGIN);
    pool
      .intercept({ path: LOCK_PATH, method: "POST" })
      .reply(503, "<html>Service Unavailable</html>", { headers: HTML_HEADERS });
    pool
      .intercept({ path: LOCK_PATH, method: "POST" })
      .reply(
        202,
        { jobId: 1, status: "Completed", state: "Succeeded", affectedResources: [] },
        { headers: JSON_HEADERS },
      );
    client = new VspClient(base({ dispatcher: agent }));
    await client.resourceGroupLock.lock(0);
    await client.close();
    client = undefined;
    agent.assertNoPendingInterceptors();
  });

  it("does not replay a change answered 500 (HTML): the array may have acted on it", async () => {
    const agent = mockArray();
    agent
      .get(ORIGIN)
      .intercept({ path: LOCK_PATH, method: "POST" })
      .reply(500, "<html>oops</html>", { headers: HTML_HEADERS });
    client = new VspClient(base({ dispatcher: agent }));
    const err = await rejectionOf(client.resourceGroupLock.lock(0), VspServerError);
    expect(err).toMatchObject({ httpStatus: 500, attempts: 1 });
    await client.close();
    client = undefined;
    agent.assertNoPendingInterceptors();
  });

  it("a 503 page without an error object is still VspBusyError", async () => {
    const agent = mockArray();
    agent
      .get(ORIGIN)
      .intercept({ path: ROOT, method: "GET" })
      .reply(503, "busy", { headers: { "retry-after": "2" } });
    client = new VspClient(base({ dispatcher: agent, retry: { budgetMs: 0 } }));
    const err = await rejectionOf(client.storage.get(), VspBusyError);
    expect(err).toMatchObject({ retryAfterMs: 2000 });
  });
});

describe("concurrency limit", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => {
      if (server)
        server.close(() => {
          resolve();
        });
      else resolve();
    });
    server = undefined;
  });

  it("never has more than maxConcurrentRequests requests in flight at a slow server", async () => {
    let inFlight = 0;
    let peak = 0;
    let served = 0;
    server = createServer((req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      const reply = req.method === "POST" ? { token: "t", sessionId: 1 } : { storageDeviceId: SID };
      setTimeout(() => {
        inFlight--;
        served++;
        res.writeHead(200, JSON_HEADERS).end(JSON.stringify(reply));
      }, 60);
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    client = new VspClient(base({ baseUrl: `http://127.0.0.1:${port}`, maxConcurrentRequests: 3 }));
    const results = await Promise.all(Array.from({ length: 12 }, () => client!.storage.get()));
    expect(results).toHaveLength(12);
    expect(served).toBe(13); // one login + 12 calls
    expect(peak).toBe(3);
  });
});

describe("TLS", () => {
  let dir = "";
  let running: RunningSimulator | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it("verifies the certificate by default, trusts a given CA bundle, and can be told not to verify", async () => {
    dir = await mkdtemp(join(tmpdir(), "vsp-client-tls-"));
    const sim = await Simulator.create({ dataDir: dir });
    running = await sim.listen({ tls: true });
    const ca = await readFile(running.certPath ?? "", "utf8");
    const options = { ...base({ baseUrl: running.url }), username: sim.core.config.username };

    const strict = new VspClient(options);
    const err = await rejectionOf(strict.storage.get(), VspTransportError);
    await strict.close();
    expect(err).toMatchObject({ failure: "tls", attempts: 1, maybeSent: false });
    expect(err.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);

    for (const tls of [{ caBundle: ca }, { insecureSkipVerify: true }]) {
      const c = new VspClient({ ...options, tls });
      try {
        expect((await c.storage.get()).storageDeviceId).toBe(SID);
      } finally {
        await c.close();
      }
    }
  });
});

describe("options", () => {
  it.each([
    [{ storageDeviceId: "12345" }, /storageDeviceId/],
    [{ baseUrl: "ftp://array" }, /baseUrl/],
    [{ maxConcurrentRequests: 0 }, /maxConcurrentRequests/],
    [{ aliveTimeSeconds: 301 }, /aliveTimeSeconds/],
    [{ urlStyle: "long" as never }, /urlStyle/],
  ])("rejects %o without echoing the password", (bad, field) => {
    expect(() => new VspClient({ ...base(), ...bad })).toThrow(field);
    try {
      new VspClient({ ...base(), ...bad });
    } catch (err) {
      expect(String(err)).not.toContain("raid-maintenance");
    }
  });

  it("applies documented defaults: storage-scoped URLs, header job wait, verification on, 8 in flight", () => {
    client = new VspClient(base());
    expect(client.options).toMatchObject({
      urlStyle: "storage-scoped",
      jobWait: "header",
      maxConcurrentRequests: 8,
      aliveTimeSeconds: 300,
      tls: { insecureSkipVerify: false },
    });
    expect(client.options).not.toHaveProperty("password");
  });
});
