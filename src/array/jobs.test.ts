import { afterEach, describe, expect, it } from "vitest";

import { startTestSim } from "../simulator/test-support/harness.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import type { VspClient } from "./client.js";
import { VspJobTimeoutError, VspLockedError } from "./errors.js";
import { affectedId, affectedIds } from "./jobs.js";
import type { Job } from "./types.js";
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

const LOCK = /\/resource-group-service\/actions\/lock\/invoke$/;
const UNLOCK = /\/resource-group-service\/actions\/unlock\/invoke$/;
const JOBS = /\/jobs\/\d+$/;
const lockUrl = (t: TestSim) => `${t.base}/services/resource-group-service/actions/lock/invoke`;
const unlockUrl = (t: TestSim) => `${t.base}/services/resource-group-service/actions/unlock/invoke`;

describe("job waiting", () => {
  it.each([
    { jobWait: "header" as const, urlStyle: "storage-scoped" as const, polls: 0 },
    { jobWait: "poll" as const, urlStyle: "short" as const, polls: 1 },
  ])("locks and unlocks with jobWait=$jobWait ($urlStyle)", async ({ jobWait, urlStyle, polls }) => {
    t = await startTestSim();
    client = clientFor(t, { jobWait, urlStyle });
    await client.connect();
    const mark = await logMark(t);

    await client.resourceGroupLock.lock(0);
    // The lock is really ours: another session cannot take it.
    const other = await t.job("POST", lockUrl(t), { parameters: { waitTime: 0 } });
    expect(other.body).toMatchObject({ state: "Failed", error: { messageId: "KART40050-E" } });
    await client.resourceGroupLock.unlock();
    expect((await t.job("POST", lockUrl(t), { parameters: { waitTime: 0 } })).body.state).toBe("Succeeded");

    const log = await requestLog(t, mark);
    expect(countRequests(log, "POST", LOCK, 202)).toBe(3); // ours, theirs refused, theirs after unlock
    expect(countRequests(log, "POST", UNLOCK, 202)).toBe(1);
    if (polls === 0) expect(countRequests(log, "GET", JOBS)).toBe(0);
    else expect(countRequests(log, "GET", JOBS, 200)).toBeGreaterThanOrEqual(2);
  });

  it("falls back to polling when the array answers before the job ends (Response-Max-Wait passed)", async () => {
    t = await startTestSim();
    client = clientFor(t, { jobWait: "header", responseMaxWaitSeconds: 1, jobTimeoutMs: 10_000 });
    await client.connect();
    expect((await t.job("POST", lockUrl(t), { parameters: { waitTime: 0 } })).body.state).toBe("Succeeded");
    const mark = await logMark(t);
    const locking = client.resourceGroupLock.lock(30);
    await sleep(1_300);
    expect((await t.job("POST", unlockUrl(t))).body.state).toBe("Succeeded");
    await locking;
    const log = await requestLog(t, mark);
    expect(countRequests(log, "POST", LOCK)).toBe(1);
    expect(countRequests(log, "GET", JOBS, 200)).toBeGreaterThanOrEqual(1);
  });

  it("gives up after jobTimeoutMs with VspJobTimeoutError and does not submit again", async () => {
    t = await startTestSim();
    client = clientFor(t, { jobWait: "poll", jobTimeoutMs: 300 });
    await client.connect();
    await t.job("POST", lockUrl(t), { parameters: { waitTime: 0 } });
    const mark = await logMark(t);
    const err = await rejectionOf(client.resourceGroupLock.lock(30), VspJobTimeoutError);
    expect(err.jobId).toEqual(expect.any(Number));
    expect(err.path).toMatch(LOCK);
    expect(countRequests(await requestLog(t, mark), "POST", LOCK)).toBe(1);
    await t.job("POST", unlockUrl(t));
  });

  it("turns a Failed lock job into VspLockedError with the SSB and job id", async () => {
    t = await startTestSim();
    client = clientFor(t, { retry: { budgetMs: 0 } });
    await client.connect();
    await t.job("POST", lockUrl(t), { parameters: { waitTime: 0 } });
    const err = await rejectionOf(client.resourceGroupLock.lock(0), VspLockedError);
    expect(err).toMatchObject({
      httpStatus: 202,
      messageId: "KART40050-E",
      ssb: { ssb1: "2E11", ssb2: "2205" },
      jobId: expect.any(Number),
    });
    expect(err.is("LOCKED")).toBe(true);
  });
});

describe("affectedId", () => {
  const job = (affectedResources: string[]): Job => ({
    jobId: 1,
    status: "Completed",
    state: "Succeeded",
    affectedResources,
  });

  it.each([
    ["/ConfigurationManager/v1/objects/storages/886000123456/ldevs/3", "3"],
    ["/ConfigurationManager/v1/objects/snapshots/100,3", "100,3"],
    ["/ConfigurationManager/v1/objects/snapshots/100%2C3", "100,3"],
    ["/ConfigurationManager/v1/objects/host-groups/CL1-A,5", "CL1-A,5"],
    ["/ConfigurationManager/v1/objects/local-clone-copypairs/cg,p%20d,s,pair", "cg,p d,s,pair"],
  ])("takes the last segment of %s", (url, id) => {
    expect(affectedId(job([url]))).toBe(id);
  });

  it("lists every affected id, and fails clearly when there is none", () => {
    expect(affectedIds(job(["/x/luns/CL1-A,0,1", "/x/luns/CL2-A,0,1"]))).toEqual(["CL1-A,0,1", "CL2-A,0,1"]);
    expect(() => affectedId(job([]))).toThrow(/names no affected resource/);
  });
});
