import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { basicAuth, rawRequest, startTestSim } from "./test-support/harness.js";
import type { TestSim } from "./test-support/harness.js";

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
});
afterEach(async () => {
  await t.stop();
});

describe("sessions", () => {
  it("creates a session with Basic auth and answers token and sessionId", async () => {
    const res = await rawRequest(
      "POST",
      `${t.scoped}/sessions`,
      { aliveTime: 60 },
      { Authorization: basicAuth },
    );
    expect(res.status).toBe(200);
    expect(typeof res.body.token).toBe("string");
    expect(res.body.sessionId).toBeGreaterThan(t.sessionId);
    const got = await t.req("GET", `${t.short}/sessions/${res.body.sessionId}`);
    expect(got.status).toBe(200);
    expect(got.body.aliveTime).toBe(60);
  });

  it("rejects bad credentials with 401 and a Basic challenge", async () => {
    const bad = `Basic ${Buffer.from("maintenance:wrong").toString("base64")}`;
    const res = await rawRequest("POST", `${t.short}/sessions`, undefined, { Authorization: bad });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Basic");
    expect(res.body.messageId).toMatch(/^KART\d{5}-E$/);
  });

  it("answers 401 with a Session challenge for an unknown token", async () => {
    const res = await rawRequest("GET", `${t.short}/jobs`, undefined, { Authorization: "Session nope" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Session realm="Block storage"');
    expect(res.body.message).toContain("The specified token is invalid");
  });

  it("refuses the 65th session with 503 and accepts again after one is discarded", async () => {
    const made: number[] = [t.sessionId];
    for (let i = 1; i < 64; i++) {
      const r = await rawRequest("POST", `${t.short}/sessions`, undefined, { Authorization: basicAuth });
      expect(r.status).toBe(200);
      made.push(Number(r.body.sessionId));
    }
    const over = await rawRequest("POST", `${t.short}/sessions`, undefined, { Authorization: basicAuth });
    expect(over.status).toBe(503);
    expect(over.body.solutionType).toBe("RETRY");
    const del = await t.req("DELETE", `${t.short}/sessions/${made[5]}`);
    expect(del.status).toBe(200);
    const again = await rawRequest("POST", `${t.short}/sessions`, undefined, { Authorization: basicAuth });
    expect(again.status).toBe(200);
  });

  it("expires a session after aliveTime idle seconds", async () => {
    const r = await rawRequest("POST", `${t.short}/sessions`, { aliveTime: 1 }, { Authorization: basicAuth });
    const auth = { Authorization: `Session ${r.body.token}` };
    expect((await rawRequest("GET", `${t.short}/jobs`, undefined, auth)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await rawRequest("GET", `${t.short}/jobs`, undefined, auth)).status).toBe(401);
  });

  it("rejects the wrong storage device id with 404", async () => {
    const res = await t.req("GET", `${t.base}/objects/storages/886000999999/jobs`);
    expect(res.status).toBe(404);
    expect(res.body.messageId).toBe("KART30013-E");
  });
});

describe("errors", () => {
  it("answers an unknown URL with 404 and the documented error object", async () => {
    const res = await t.req("GET", `${t.short}/no-such-things`);
    expect(res.status).toBe(404);
    expect(Object.keys(res.body).sort()).toEqual(
      ["errorSource", "message", "messageId", "solution", "solutionType"].sort(),
    );
    expect(res.body.errorSource).toBe("/ConfigurationManager/v1/objects/no-such-things");
  });
});

describe("resource group lock", () => {
  it("binds the lock to its session and refuses changes from other sessions", async () => {
    const lock = await t.job("POST", `${t.base}/services/resource-group-service/actions/lock/invoke`, {
      parameters: { waitTime: 0 },
    });
    expect(lock.status).toBe(202);
    expect(lock.body.state).toBe("Succeeded");

    const other = await rawRequest("POST", `${t.short}/sessions`, undefined, { Authorization: basicAuth });
    const auth = { Authorization: `Session ${other.body.token}`, "Response-Job-Status": "Completed" };
    const theirLock = await rawRequest(
      "POST",
      `${t.base}/${t.sim.core.config.storageDeviceId}/services/resource-group-service/actions/lock/invoke`,
      { parameters: { waitTime: 0 } },
      auth,
    );
    expect(theirLock.body.state).toBe("Failed");
    expect(theirLock.body.error.messageId).toBe("KART40050-E");
    expect(theirLock.body.error.errorCode).toEqual({ SSB1: "2E11", SSB2: "2205" });

    const unlockByOther = await rawRequest(
      "POST",
      `${t.base}/services/resource-group-service/actions/unlock/invoke`,
      undefined,
      auth,
    );
    expect(unlockByOther.status).toBe(412);

    const unlock = await t.job("POST", `${t.base}/services/resource-group-service/actions/unlock/invoke`);
    expect(unlock.body.state).toBe("Succeeded");
  });

  it("waits up to waitTime for a lock held by a session that goes away", async () => {
    await t.job("POST", `${t.base}/services/resource-group-service/actions/lock/invoke`, {
      parameters: { waitTime: 0 },
    });
    const other = await rawRequest("POST", `${t.short}/sessions`, undefined, { Authorization: basicAuth });
    const pending = rawRequest(
      "POST",
      `${t.base}/services/resource-group-service/actions/lock/invoke`,
      { parameters: { waitTime: 5 } },
      { Authorization: `Session ${other.body.token}`, "Response-Job-Status": "Completed" },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.req("DELETE", `${t.short}/sessions/${t.sessionId}`);
    const res = await pending;
    expect(res.body.state).toBe("Succeeded");
  });
});
