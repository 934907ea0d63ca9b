import { request } from "node:https";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { Simulator } from "./index.js";
import type { RunningSimulator } from "./index.js";

function get(url: string, ca?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

let running: RunningSimulator | undefined;
let dir = "";
afterEach(async () => {
  await running?.close();
  running = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe("HTTPS", () => {
  it("serves TLS with a generated certificate that clients can pin, and keeps it across restarts", async () => {
    dir = await mkdtemp(join(tmpdir(), "vsp-sim-tls-"));
    const sim = await Simulator.create({ dataDir: dir });
    running = await sim.listen({ tls: true });
    expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(running.certPath ?? "", "utf8");

    await expect(get(`${running.url}/ConfigurationManager/v1/objects/jobs`)).rejects.toThrow(
      /self.signed|certificate/i,
    );
    expect(await get(`${running.url}/ConfigurationManager/v1/objects/jobs`, ca)).toBe(401);

    await running.close();
    running = await (await Simulator.create({ dataDir: dir })).listen({ tls: true });
    expect(await readFile(running.certPath ?? "", "utf8")).toBe(ca);
    expect(await get(`${running.url}/ConfigurationManager/v1/objects/jobs`, ca)).toBe(401);
  });
});
