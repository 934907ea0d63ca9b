import { afterEach, describe, expect, it } from "vitest";

import { rawRequest, startTestSim } from "./test-support/harness.js";
import type { TestSim } from "./test-support/harness.js";

let t: TestSim | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const lockPath = "/services/resource-group-service/actions/lock/invoke";

describe("injected faults", () => {
  it("answers the next N requests 503 busy with Retry-After, then recovers", async () => {
    t = await startTestSim();
    expect((await t.admin("PUT", "/simulator/faults", { busyCount: 2 })).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const res = await t.req("GET", `${t.short}/jobs`);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ messageId: "KART00003-E", solutionType: "RETRY" });
      expect(res.headers.get("retry-after")).toBe("1");
    }
    expect((await t.req("GET", `${t.short}/jobs`)).status).toBe(200);
    const log = await t.admin("GET", "/simulator/requests");
    expect(log.body.data.map((e: { status: number }) => e.status).slice(-3)).toEqual([503, 503, 200]);
  });

  it("adds latency to every API request", async () => {
    t = await startTestSim();
    await t.admin("PUT", "/simulator/faults", { latencyMs: 150 });
    const started = performance.now();
    await t.req("GET", `${t.short}/jobs`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("fails the next change with a lock conflict", async () => {
    t = await startTestSim();
    await t.admin("PUT", "/simulator/faults", { lockConflictCount: 1 });
    const res = await t.job("POST", `${t.base}${lockPath}`, { parameters: {} });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ messageId: "KART40050-E", errorCode: { SSB1: "2E11", SSB2: "2205" } });
    expect((await t.job("POST", `${t.base}${lockPath}`, { parameters: {} })).body.state).toBe("Succeeded");
  });

  it("fails matching jobs with the chosen SSB and leaves other requests alone", async () => {
    t = await startTestSim();
    await t.admin("PUT", "/simulator/faults", {
      failJobsCount: 1,
      failJobsMatch: "/unlock",
      failJobsSsb: ["2E30", "0007"],
    });
    expect((await t.job("POST", `${t.base}${lockPath}`, { parameters: {} })).body.state).toBe("Succeeded");
    const failed = await t.job("POST", `${t.base}/services/resource-group-service/actions/unlock/invoke`);
    expect(failed.status).toBe(202);
    expect(failed.body).toMatchObject({ status: "Completed", state: "Failed" });
    expect(failed.body.error).toMatchObject({
      messageId: "KART30000-E",
      errorCode: { SSB1: "2E30", SSB2: "0007" },
    });
    // The failed job changed nothing: the lock is still held, and unlocking now works.
    const retry = await t.job("POST", `${t.base}/services/resource-group-service/actions/unlock/invoke`);
    expect(retry.body.state).toBe("Succeeded");
  });

  it("lets failJobsSkip matching jobs through before failing the next one", async () => {
    t = await startTestSim();
    await t.admin("PUT", "/simulator/faults", {
      failJobsCount: 1,
      failJobsMatch: "/actions/",
      failJobsSkip: 1,
    });
    const unlock = `${t.base}/services/resource-group-service/actions/unlock/invoke`;
    expect((await t.job("POST", `${t.base}${lockPath}`, { parameters: {} })).body.state).toBe("Succeeded");
    expect((await t.job("POST", unlock)).body.state).toBe("Failed");
    expect((await t.job("POST", unlock)).body.state).toBe("Succeeded");
  });

  it("expires every session on demand", async () => {
    t = await startTestSim();
    expect((await t.admin("POST", "/simulator/sessions/expire")).status).toBe(200);
    expect((await t.req("GET", `${t.short}/jobs`)).status).toBe(401);
  });

  it("rejects unknown fault settings with a message naming the key", async () => {
    t = await startTestSim();
    const res = await t.admin("PUT", "/simulator/faults", { busyRat: 1 });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain("busyRat");
  });
});

describe("admin endpoint", () => {
  it("requires the array credentials", async () => {
    t = await startTestSim();
    const res = await rawRequest("GET", `${t.running.url}/simulator/faults`, undefined, {});
    expect(res.status).toBe(401);
  });

  it("logs every API request with its status, for counting REST calls", async () => {
    t = await startTestSim();
    await t.admin("DELETE", "/simulator/requests");
    await t.req("GET", `${t.short}/jobs`);
    await t.req("GET", `${t.short}/nothing-here`);
    const log = await t.admin("GET", "/simulator/requests");
    expect(
      log.body.data.map((e: { method: string; path: string; status: number }) => [
        e.method,
        e.path,
        e.status,
      ]),
    ).toEqual([
      ["GET", "/ConfigurationManager/v1/objects/jobs", 200],
      ["GET", "/ConfigurationManager/v1/objects/nothing-here", 404],
    ]);
  });
});

describe("holding change requests (crash testing)", () => {
  const unlockUrl = (t: TestSim) => `${t.base}/services/resource-group-service/actions/unlock/invoke`;

  it("holds changes after N, then processes them when released", async () => {
    t = await startTestSim();
    await t.admin("PUT", "/simulator/faults", { holdChangesAfter: 1 });
    expect((await t.job("POST", `${t.base}${lockPath}`, { parameters: {} })).body.state).toBe("Succeeded");
    const held = t.job("POST", unlockUrl(t));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const faults = (await t.admin("GET", "/simulator/faults")).body;
    expect(faults.heldCount).toBe(1);
    // Which request waits, so a crash test can name the exact point it stopped the client at.
    expect(faults.heldRequests).toEqual([
      "POST /ConfigurationManager/v1/services/resource-group-service/actions/unlock/invoke",
    ]);
    // Queries are not held: a client can still look around.
    expect((await t.req("GET", `${t.short}/jobs`)).status).toBe(200);
    await t.admin("PUT", "/simulator/faults", { holdChangesAfter: null });
    expect((await held).body.state).toBe("Succeeded");
    // The request log marks the request that waited in the hold, and only that one.
    const log = (await t.admin("GET", "/simulator/requests")).body.data as { path: string; held?: boolean }[];
    expect(log.filter((e) => e.held).map((e) => e.path)).toEqual([
      "/ConfigurationManager/v1/services/resource-group-service/actions/unlock/invoke",
    ]);
  });

  it("drops held changes unprocessed when released with heldOnRelease=drop", async () => {
    t = await startTestSim();
    await t.admin("PUT", "/simulator/faults", { holdChangesAfter: 1, heldOnRelease: "drop" });
    await t.job("POST", `${t.base}${lockPath}`, { parameters: {} });
    const held = t.job("POST", unlockUrl(t));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await t.admin("DELETE", "/simulator/faults");
    expect((await held).status).toBe(503);
    // The unlock never happened: the lock is still ours, so unlocking now succeeds.
    expect((await t.job("POST", unlockUrl(t))).body.state).toBe("Succeeded");
  });
});
