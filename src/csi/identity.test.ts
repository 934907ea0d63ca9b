import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";

import { afterEach, describe, expect, it } from "vitest";

import { createLogger } from "../logging.js";
import { identityService } from "./identity.js";
import type { IdentityOptions } from "./identity.js";
import type { RunningCsiServer } from "./server.js";
import { bindAddress, startCsiServer } from "./server.js";
import { call, csiClients } from "./test-support/clients.js";

let server: RunningCsiServer | undefined;
let clients: ReturnType<typeof csiClients> | undefined;
let dir = "";

afterEach(async () => {
  clients?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function start(overrides: Partial<IdentityOptions> = {}) {
  dir = await mkdtemp(join(tmpdir(), "vsp-csi-id-"));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const options: IdentityOptions = {
    driverName: "csi.vsp-csi.dev",
    version: "0.1.0",
    controller: true,
    groupController: false,
    topology: false,
    probe: () => Promise.resolve(true),
    logger: createLogger("trace", sink),
    ...overrides,
  };
  server = await startCsiServer(`unix://${join(dir, "csi.sock")}`, { identity: identityService(options) });
  clients = csiClients(server.address);
  return { identity: clients.identity, lines };
}

describe("Identity over a unix socket", () => {
  it("reports name and version", async () => {
    const { identity } = await start();
    const info = await call(identity, "GetPluginInfo", {});
    expect(info).toMatchObject({ name: "csi.vsp-csi.dev", vendor_version: "0.1.0" });
  });

  it("derives capabilities from the services this process runs", async () => {
    const controller = await start({ controller: true, groupController: true });
    const caps = await call(controller.identity, "GetPluginCapabilities", {});
    expect(caps.capabilities.map((c) => c.service?.type ?? c.volume_expansion?.type)).toEqual([
      "CONTROLLER_SERVICE",
      "ONLINE",
      "GROUP_CONTROLLER_SERVICE",
    ]);
    clients?.close();
    await server?.stop();
    const nodeOnly = await start({ controller: false });
    const nodeCaps = await call(nodeOnly.identity, "GetPluginCapabilities", {});
    expect(nodeCaps.capabilities).toEqual([]);
  });

  it("answers Probe with the array's readiness, and not ready when the probe throws", async () => {
    const up = await start({ probe: () => Promise.resolve(true) });
    expect((await call(up.identity, "Probe", {})).ready).toEqual({ value: true });
    clients?.close();
    await server?.stop();
    const down = await start({ probe: () => Promise.reject(new Error("connection refused")) });
    expect((await call(down.identity, "Probe", {})).ready).toEqual({ value: false });
    expect(down.lines.join("")).toContain("probe failed");
  });

  it("logs each call with a request id", async () => {
    const { identity, lines } = await start();
    await call(identity, "GetPluginInfo", {});
    const entries = lines.map((l) => JSON.parse(l) as { requestId?: string; method?: string });
    expect(
      entries.some((e) => e.method === "GetPluginInfo" && /^[0-9a-f]{12}$/.test(e.requestId ?? "")),
    ).toBe(true);
  });
});

describe("endpoints", () => {
  it.each([
    ["unix:///run/csi/csi.sock", { address: "unix:///run/csi/csi.sock", socketPath: "/run/csi/csi.sock" }],
    ["unix:/run/csi/csi.sock", { address: "unix:///run/csi/csi.sock", socketPath: "/run/csi/csi.sock" }],
    ["tcp://127.0.0.1:10000", { address: "127.0.0.1:10000" }],
  ])("parses %s", (endpoint, expected) => {
    expect(bindAddress(endpoint)).toEqual(expected);
  });

  it.each(["/run/csi.sock", "http://x:1", "tcp://nohost", "unix://relative"])("rejects %s", (endpoint) => {
    expect(() => bindAddress(endpoint)).toThrow(/endpoint must be/);
  });
});
