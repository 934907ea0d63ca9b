import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { runSimulatorCommand } from "../cli/simulator-command.js";
import { DEFAULT_MAX_CONCURRENT_REQUESTS, defaultConfig } from "./config.js";
import { basicAuth, rawRequest, startTestSim } from "./test-support/harness.js";
import type { RawResponse, TestSim } from "./test-support/harness.js";

let t: TestSim | undefined;
afterEach(async () => {
  await t?.admin("DELETE", "/simulator/faults"); // releases held requests, so stop() does not hang
  await t?.stop();
  t = undefined;
});

const LOCK = "/services/resource-group-service/actions/lock/invoke";

/** Polls the admin endpoint (never refused) until the simulator reports `ready`. */
async function until(t: TestSim, ready: (stats: { inFlight: number; held: number }) => boolean) {
  for (;;) {
    const [stats, faults] = await Promise.all([
      t.admin("GET", "/simulator/stats"),
      t.admin("GET", "/simulator/faults"),
    ]);
    if (ready({ inFlight: stats.body.requests.inFlight, held: faults.body.heldCount })) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function expectBusy(res: RawResponse): void {
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({
    messageId: "KART00003-E",
    solutionType: "RETRY",
    message: expect.stringContaining("busy") as unknown,
  });
  expect(res.headers.get("retry-after")).toBe("1");
}

const createLdev = (t: TestSim, ldevId: number) =>
  t.job("POST", `${t.short}/ldevs`, { poolId: 0, byteFormatCapacity: "1G", ldevId });

describe("REST server request concurrency (maxConcurrentRequests)", () => {
  it("refuses the request past the limit with 503 KART00003-E and Retry-After, doing nothing", async () => {
    t = await startTestSim({ maxConcurrentRequests: 4 });
    // Slot 1: a second session (B) waits for the lock the test session holds; its answer is held
    // until the lock job ends (Response-Job-Status: Completed).
    expect((await t.job("POST", `${t.base}${LOCK}`, { parameters: {} })).body.state).toBe("Succeeded");
    const login = await rawRequest("POST", `${t.short}/sessions`, undefined, { Authorization: basicAuth });
    const asB = { Authorization: `Session ${String(login.body.token)}`, "Response-Job-Status": "Completed" };
    const waiter = rawRequest("POST", `${t.base}${LOCK}`, { parameters: { waitTime: 600 } }, asB);
    await until(t, (s) => s.inFlight === 1);
    // Slots 2-4: three LDEV creates of session B, held unanswered.
    await t.admin("PUT", "/simulator/faults", { holdChangesAfter: 0 });
    const { short } = t;
    const body = (ldevId: number) => ({ poolId: 0, byteFormatCapacity: "1G", ldevId });
    const held = [10, 11, 12].map((id) => rawRequest("POST", `${short}/ldevs`, body(id), asB));
    await until(t, (s) => s.held === 3 && s.inFlight === 4);

    // The 5th request of any kind is refused at once: a query, a change, a session login.
    expectBusy(await t.req("GET", `${t.short}/ldevs/10`));
    expectBusy(await createLdev(t, 20));
    expectBusy(await rawRequest("POST", `${t.short}/sessions`, undefined, { Authorization: basicAuth }));
    // The refused change was not held, nor run.
    expect((await t.admin("GET", "/simulator/faults")).body.heldCount).toBe(3);

    // Admin routes are the test bed's, never refused, never counted.
    expect((await t.admin("GET", "/simulator/state")).status).toBe(200);
    const full = await t.admin("GET", "/simulator/stats");
    expect(full.status).toBe(200);
    expect(full.body.requests).toEqual({ maxConcurrentRequests: 4, inFlight: 4, highWater: 4, refused: 3 });
    // The request log records the refusals as 503.
    const log = (await t.admin("GET", "/simulator/requests")).body.data as { status: number }[];
    expect(log.slice(-3).map((e) => e.status)).toEqual([503, 503, 503]);

    // Once one request finishes, a new one is served. The lock is let go inside the array (as
    // when its session times out: no request thread involved), so B's lock job ends.
    t.sim.core.sessions.unlock(t.sessionId);
    expect((await waiter).body).toMatchObject({ state: "Succeeded" });
    await until(t, (s) => s.inFlight === 3);
    expect((await t.req("GET", `${t.short}/jobs`)).status).toBe(200);

    // The held creates run when released; the refused one never did.
    await t.admin("PUT", "/simulator/faults", { holdChangesAfter: null });
    for (const res of await Promise.all(held)) expect(res.body.state).toBe("Succeeded");
    expect(Object.keys(t.sim.core.state.ldevs).sort()).toEqual(["10", "11", "12"]);
    expect((await t.req("GET", `${t.short}/ldevs/20`)).body.emulationType).toBe("NOT DEFINED");
    const after = (await t.admin("GET", "/simulator/stats")).body.requests;
    expect(after).toMatchObject({ inFlight: 0, highWater: 4, refused: 3 });
  });

  it("serves ten requests at once under the default limit and reports the high-water mark", async () => {
    expect(defaultConfig("/x").maxConcurrentRequests).toBe(DEFAULT_MAX_CONCURRENT_REQUESTS);
    expect(DEFAULT_MAX_CONCURRENT_REQUESTS).toBe(32);
    t = await startTestSim();
    const sim = t;
    await t.admin("DELETE", "/simulator/stats");
    await t.admin("PUT", "/simulator/faults", { holdChangesAfter: 0 });
    const held = Array.from({ length: 10 }, (_, i) => createLdev(sim, i));
    await until(t, (s) => s.held === 10);
    expect((await t.req("GET", `${t.short}/jobs`)).status).toBe(200);
    expect((await t.admin("GET", "/simulator/stats")).body.requests).toEqual({
      maxConcurrentRequests: 32,
      inFlight: 10,
      highWater: 11,
      refused: 0,
    });
    await t.admin("PUT", "/simulator/faults", { holdChangesAfter: null });
    for (const res of await Promise.all(held)) expect(res.body.state).toBe("Succeeded");
    // A new measurement starts from what is in flight now.
    const reset = await t.admin("DELETE", "/simulator/stats");
    expect(reset.body.requests).toMatchObject({ inFlight: 0, highWater: 0, refused: 0 });
  });

  it("changes the limit at run time through PUT /simulator/config, refusing unknown keys", async () => {
    t = await startTestSim();
    const sim = t;
    expect((await t.admin("PUT", "/simulator/config", { maxConcurrentRequests: 1 })).body).toEqual({
      maxConcurrentRequests: 1,
    });
    await t.admin("PUT", "/simulator/faults", { holdChangesAfter: 0 });
    const held = createLdev(sim, 1);
    await until(t, (s) => s.held === 1);
    expectBusy(await t.req("GET", `${t.short}/jobs`));
    await t.admin("PUT", "/simulator/config", { maxConcurrentRequests: 2 });
    expect((await t.req("GET", `${t.short}/jobs`)).status).toBe(200);
    await t.admin("PUT", "/simulator/faults", { holdChangesAfter: null });
    expect((await held).body.state).toBe("Succeeded");

    const typo = await t.admin("PUT", "/simulator/config", { maxConcurrentRequest: 5 });
    expect(typo.status).toBe(400);
    expect(typo.body.message).toContain("maxConcurrentRequest");
    expect((await t.admin("PUT", "/simulator/config", { maxConcurrentRequests: 0 })).status).toBe(400);
  });
});

describe("vsp-csi simulator --max-concurrent-requests", () => {
  it("sets the limit, and rejects a value below 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsp-sim-cli-"));
    try {
      const { simulator, running } = await runSimulatorCommand([
        "--port=0",
        `--data-dir=${dir}`,
        "--timings=instant",
        "--max-concurrent-requests=3",
      ]);
      try {
        expect(simulator.core.requests.stats().maxConcurrentRequests).toBe(3);
      } finally {
        await running.close();
      }
      await expect(
        runSimulatorCommand(["--port=0", `--data-dir=${dir}`, "--max-concurrent-requests=0"]),
      ).rejects.toThrow(/--max-concurrent-requests/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
