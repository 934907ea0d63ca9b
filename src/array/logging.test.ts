import { afterEach, describe, expect, it } from "vitest";

import { startTestSim } from "../simulator/test-support/harness.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import type { VspClient } from "./client.js";
import { VspStorageError } from "./errors.js";
import { clientLogger } from "./logging.js";
import { clientFor, memoryLogger, rejectionOf } from "./test-support/client-harness.js";

let t: TestSim | undefined;
let client: VspClient | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await t?.stop();
  t = undefined;
});

function liveTokens(t: TestSim): string[] {
  return t.sim.core.sessions.list().map((s) => s.token);
}

describe("secrets never reach the log", () => {
  it("logs login, a 401 re-login and a failed job at trace level without any token or password", async () => {
    t = await startTestSim();
    const log = memoryLogger("trace");
    const password = t.sim.core.config.password;
    client = clientFor(t, { logger: log.logger, jobWait: "poll" });
    const tokens = new Set<string>();

    await client.storage.get();
    liveTokens(t).forEach((tok) => tokens.add(tok));
    await t.admin("POST", "/simulator/sessions/expire");
    await client.storage.get(); // 401 → re-login → replay
    liveTokens(t).forEach((tok) => tokens.add(tok));
    await client.resourceGroupLock.lock(0);
    await t.admin("PUT", "/simulator/faults", {
      failJobsCount: 1,
      failJobsMatch: "/unlock",
      failJobsSsb: ["2E30", "0007"],
    });
    await rejectionOf(client.resourceGroupLock.unlock(), VspStorageError);
    await client.close();
    client = undefined;

    const text = log.text();
    // The log is not empty: it has the events we expect, so the absence checks below mean something.
    expect(text.match(/vsp session created/g)).toHaveLength(2);
    expect(text).toContain("vsp session no longer valid");
    expect(text).toContain("vsp session discarded");
    expect(text).toContain("vsp job completed");
    expect(text).toContain('"state":"Failed"');
    expect(tokens.size).toBeGreaterThanOrEqual(2); // the harness session and ours, at least
    for (const token of tokens) expect(text).not.toContain(token);
    expect(text).not.toContain(password);
    expect(text).not.toContain(Buffer.from(`${t.sim.core.config.username}:${password}`).toString("base64"));
    expect(text).not.toMatch(/Session [A-Za-z0-9_-]{20,}/);
  });

  it("redacts credential fields even if a caller logs them through the client logger", () => {
    const log = memoryLogger("info");
    const logger = clientLogger(log.logger, "886000123456");
    logger.info(
      {
        token: "tok-secret",
        password: "pw-secret",
        headers: { authorization: "Session tok-secret-2" },
        body: { chapPassword: "chap-secret" },
        secrets: { username: "u", password: "pw-2" },
      },
      "careless",
    );
    const text = log.text();
    expect(text).toContain("careless");
    expect(text).toContain("[redacted]");
    for (const secret of ["tok-secret", "pw-secret", "chap-secret", "pw-2"])
      expect(text).not.toContain(secret);
  });
});
