import { afterEach, describe, expect, it } from "vitest";

import { startTestSim } from "./test-support/harness.js";
import type { TestSim } from "./test-support/harness.js";

let t: TestSim | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const lockPath = "/services/resource-group-service/actions/lock/invoke";
const unlockPath = "/services/resource-group-service/actions/unlock/invoke";

describe("jobs", () => {
  it("answers a change with 202 and a queued job, then completes it for GET /jobs/{id}", async () => {
    t = await startTestSim();
    const res = await t.req("POST", `${t.base}${lockPath}`, { parameters: { waitTime: 0 } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "Initializing", state: "Queued", affectedResources: [] });
    expect(res.body.self).toBe(`/ConfigurationManager/v1/objects/jobs/${res.body.jobId}`);
    expect(res.body.request).toEqual({
      requestUrl: expect.stringContaining(lockPath),
      requestMethod: "POST",
      requestBody: JSON.stringify({ parameters: { waitTime: 0 } }),
    });
    const job = await t.req("GET", `${t.scoped}/jobs/${res.body.jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({ jobId: res.body.jobId, status: "Completed", state: "Succeeded" });
    expect(job.body.completedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it("holds the answer until the job ends with Response-Job-Status: Completed", async () => {
    t = await startTestSim();
    const sid = t.sim.core.config.storageDeviceId;
    const res = await t.job("POST", `${t.base}/${sid}${lockPath}`, { parameters: { waitTime: 0 } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "Completed", state: "Succeeded" });
    expect(res.body.self).toBe(`/ConfigurationManager/v1/objects/storages/${sid}/jobs/${res.body.jobId}`);
  });

  it("accepts the legacy PUT spelling of an action invoke", async () => {
    t = await startTestSim();
    const res = await t.job("PUT", `${t.base}${lockPath}`, { parameters: { waitTime: 0 } });
    expect(res.body.state).toBe("Succeeded");
    const unlock = await t.job("PUT", `${t.base}${unlockPath}`);
    expect(unlock.body.state).toBe("Succeeded");
  });

  it("answers with a still-running job when Response-Max-Wait passes first", async () => {
    t = await startTestSim();
    await t.job("POST", `${t.base}${lockPath}`, { parameters: { waitTime: 0 } });
    const other = await t.req("POST", `${t.short}/sessions`, undefined, {
      Authorization: `Basic ${Buffer.from("maintenance:raid-maintenance").toString("base64")}`,
    });
    const res = await fetch(`${t.base}${lockPath}`, {
      method: "POST",
      headers: {
        Authorization: `Session ${other.body.token}`,
        "Content-Type": "application/json",
        "Response-Job-Status": "Completed",
        "Response-Max-Wait": "1",
      },
      body: JSON.stringify({ parameters: { waitTime: 3 } }),
    });
    const job = (await res.json()) as { status: string; state: string };
    expect(res.status).toBe(202);
    expect(job).toMatchObject({ status: "Running", state: "Started" });
  });

  it("keeps at most jobRetention records, evicting the oldest", async () => {
    t = await startTestSim({ jobRetention: 3 });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const path = i % 2 === 0 ? lockPath : unlockPath;
      ids.push(Number((await t.job("POST", `${t.base}${path}`, { parameters: {} })).body.jobId));
    }
    expect((await t.req("GET", `${t.short}/jobs/${ids[0]}`)).status).toBe(404);
    expect((await t.req("GET", `${t.short}/jobs/${ids[4]}`)).status).toBe(200);
    const list = await t.req("GET", `${t.short}/jobs?count=10`);
    expect(list.body.data.map((j: { jobId: number }) => j.jobId)).toEqual([ids[4], ids[3], ids[2]]);
  });

  it("rejects a body that is not JSON with 400 and no job", async () => {
    t = await startTestSim();
    const res = await t.req("POST", `${t.base}${lockPath}`, "{not json");
    expect(res.status).toBe(400);
    expect(res.body.messageId).toBe("KART20003-E");
  });

  it("validates action parameters the array's way", async () => {
    t = await startTestSim();
    const res = await t.req("POST", `${t.base}${lockPath}`, { parameters: { waitTime: 99999 } });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain("parameters.waitTime");
  });
});
