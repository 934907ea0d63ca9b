/**
 * Test harness: a simulator in a fresh temp data directory, served on 127.0.0.1 port 0, plus a raw
 * HTTP helper that speaks the VSP API (session login, both URL styles) so tests can check exactly
 * what goes over the wire. Not part of the build.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { SimulatorOptions, RunningSimulator } from "../index.js";
import { Simulator } from "../index.js";
import { DEFAULT_PASSWORD, DEFAULT_USERNAME } from "../config.js";

export interface RawResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
}

export interface TestSim {
  sim: Simulator;
  running: RunningSimulator;
  dataDir: string;
  /** `http://127.0.0.1:<port>/ConfigurationManager/v1` */
  base: string;
  /** Storage-scoped objects root: `${base}/objects/storages/<id>`. */
  scoped: string;
  /** Short objects root: `${base}/objects`. */
  short: string;
  token: string;
  sessionId: number;
  /** A raw request with the test session's token; body is JSON-encoded. */
  req(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
  /** A change request that waits for its job (Response-Job-Status: Completed). */
  job(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
  admin(method: string, path: string, body?: unknown): Promise<RawResponse>;
  /** Stops the server; keeps the data dir unless `wipe`. */
  stop(wipe?: boolean): Promise<void>;
}

export const basicAuth = `Basic ${Buffer.from(`${DEFAULT_USERNAME}:${DEFAULT_PASSWORD}`).toString("base64")}`;

export async function rawRequest(
  method: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<RawResponse> {
  const init: RequestInit = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    // binary or non-JSON body: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export async function startTestSim(options: Partial<SimulatorOptions> = {}): Promise<TestSim> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "vsp-sim-test-")));
  const sim = await Simulator.create({ ...options, dataDir });
  const running = await sim.listen({ port: 0 });
  const base = `${running.url}/ConfigurationManager/v1`;
  const sid = sim.core.config.storageDeviceId;
  const login = await rawRequest("POST", `${base}/objects/sessions`, undefined, { Authorization: basicAuth });
  if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
  const token = String(login.body.token);
  const t: TestSim = {
    sim,
    running,
    dataDir,
    base,
    scoped: `${base}/objects/storages/${sid}`,
    short: `${base}/objects`,
    token,
    sessionId: Number(login.body.sessionId),
    req: (method, url, body, headers = {}) =>
      rawRequest(method, url, body, { Authorization: `Session ${token}`, ...headers }),
    job: (method, url, body, headers = {}) =>
      rawRequest(method, url, body, {
        Authorization: `Session ${token}`,
        "Response-Job-Status": "Completed",
        ...headers,
      }),
    admin: (method, path, body) =>
      rawRequest(method, `${running.url}${path}`, body, { Authorization: basicAuth }),
    stop: async (wipe = true) => {
      await running.close();
      if (wipe) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** The id at the end of a job's first affected resource (`.../ldevs/5` → "5"). */
export function affectedId(job: { affectedResources?: string[] }): string {
  const url = job.affectedResources?.[0];
  if (!url) throw new Error(`job has no affected resource: ${JSON.stringify(job)}`);
  return decodeURIComponent(url.slice(url.lastIndexOf("/") + 1));
}
