/**
 * Test harness for the node plugin end to end on THIS machine: an in-process simulator, the driver
 * (controller + node, mode "all", sim transport) built by the composition root and served over
 * gRPC, real loop devices, mkfs and mounts under a temp directory. `stop()` unmounts everything
 * under the temp directory and detaches every loop device over the simulator's LDEV files, whatever
 * state a failed test left. Needs root and loop devices: `hostSupport()` says why not.
 * Not part of the build.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { buildDriver } from "../../cli/wiring.js";
import type { Driver } from "../../cli/wiring.js";
import { loadConfig } from "../../config/index.js";
import type { Config } from "../../config/index.js";
import { csiClients } from "../../csi/test-support/clients.js";
import { startCsiServer } from "../../csi/server.js";
import { createLogger } from "../../logging.js";
import { DEFAULT_PASSWORD, DEFAULT_USERNAME } from "../../simulator/config.js";
import { startTestSim } from "../../simulator/test-support/harness.js";
import type { TestSim } from "../../simulator/test-support/harness.js";
import { allMounts } from "../mounts.js";

const exec = promisify(execFile);

/** Why the real-host node tests cannot run here, or undefined when they can. */
export function hostSupport(): string | undefined {
  if (process.getuid?.() !== 0) return "not running as root (mount and losetup need it)";
  if (!existsSync("/dev/loop-control")) return "no loop device support (/dev/loop-control missing)";
  return undefined;
}

export interface NodeHarness {
  dir: string;
  t: TestSim;
  config: Config;
  driver: Driver;
  clients: ReturnType<typeof csiClients>;
  /** A fresh staging directory (created, as kubelet does) and target path (not created). */
  paths(name: string): Promise<{ staging: string; target: string }>;
  /** The LDEV's data file in the simulator. */
  ldevFile(ldevId: number): string;
  stop(): Promise<void>;
}

export interface NodeHarnessOptions {
  /** Node settings merged into the configuration (stateDir, maxVolumesPerNode…). */
  node?: Record<string, unknown>;
  logLevel?: string;
}

export async function startNodeHarness(options: NodeHarnessOptions = {}): Promise<NodeHarness> {
  const dir = await mkdtemp(join(tmpdir(), "vsp-csi-node-"));
  const t = await startTestSim();
  const configPath = join(dir, "config.json");
  const file = JSON.stringify({
    arrays: [
      {
        name: "sim",
        url: t.running.url,
        storageDeviceId: t.sim.core.config.storageDeviceId,
        credentials: { username: DEFAULT_USERNAME, password: DEFAULT_PASSWORD },
        defaultPoolId: 0,
        targetPorts: ["CL1-A", "CL2-A"],
        transport: "sim",
      },
    ],
    node: {
      hostRoot: join(dir, "host"),
      simDataDir: t.dataDir,
      stateDir: join(dir, "state"),
      ...options.node,
    },
  });
  await mkdir(join(dir, "host"));
  const { config } = await loadConfig({
    argv: ["--mode", "all", "--endpoint", `unix://${join(dir, "csi.sock")}`, "--config", configPath],
    env: {},
    readFile: (path) =>
      path === configPath
        ? Promise.resolve(file)
        : Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" })),
    hostname: () => "node-1",
    driverVersion: "0.0.0-test",
  });
  const driver = await buildDriver(config, createLogger(options.logLevel ?? "silent"));
  const server = await startCsiServer(`unix://${join(dir, "csi.sock")}`, driver.services);
  const clients = csiClients(server.address);
  let n = 0;
  return {
    dir,
    t,
    config,
    driver,
    clients,
    paths: async (name) => {
      n += 1;
      const staging = join(dir, "kubelet", `${name}-${n}`, "globalmount");
      await mkdir(staging, { recursive: true });
      return { staging, target: join(dir, "kubelet", `${name}-${n}`, "pod", "mount") };
    },
    ldevFile: (ldevId) => join(t.dataDir, "ldevs", `${ldevId}.img`),
    stop: async () => {
      clients.close();
      await server.stop();
      await driver.close();
      await cleanupHost(dir, t.dataDir);
      await t.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Unmounts everything under `dir` (deepest first) and detaches loop devices over files in `dataDir`. */
export async function cleanupHost(dir: string, dataDir: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const mounts = (await allMounts()).filter((m) => m.mountPoint.startsWith(`${dir}/`));
    if (mounts.length === 0) break;
    mounts.sort((a, b) => b.mountPoint.length - a.mountPoint.length);
    for (const m of mounts)
      await exec("umount", [m.mountPoint]).catch(() => exec("umount", ["-l", m.mountPoint]));
  }
  const { stdout } = await exec("losetup", ["--list", "--json", "--output", "NAME,BACK-FILE"]);
  const loops =
    stdout.trim() === ""
      ? []
      : (JSON.parse(stdout) as { loopdevices: { name: string; "back-file": string }[] }).loopdevices;
  for (const loop of loops) {
    if (loop["back-file"].startsWith(`${dataDir}/`))
      await exec("losetup", ["-d", loop.name]).catch(() => undefined);
  }
}

/** Loop devices whose backing file is `file` (exactly; a deleted one shows "(deleted)"). */
export async function loopsOver(file: string): Promise<string[]> {
  const { stdout } = await exec("losetup", ["--list", "--json", "--output", "NAME,BACK-FILE"]);
  if (stdout.trim() === "") return [];
  const parsed = JSON.parse(stdout) as { loopdevices: { name: string; "back-file": string }[] };
  return parsed.loopdevices.filter((l) => l["back-file"].trim() === file).map((l) => l.name);
}

/** blkid TYPE of a device or image file, "" when blank. */
export async function fsTypeOf(path: string): Promise<string> {
  const res = await exec("blkid", ["-p", "-s", "TYPE", "-o", "value", path]).catch(() => ({ stdout: "" }));
  return res.stdout.trim();
}
