/**
 * What a kubelet and containerd leave on the host, put back at teardown — also when a test
 * failed (kubelet-e2e.md "Settings that matter", stop order): kubelet's sysctl changes, mounts
 * under the cluster's directory (kubelet bind-mounts its root onto itself; pod volumes; overlay
 * snapshots), network namespaces and the bridge, loop devices over the simulator's files, the
 * kubepods cgroups, and containerd shims of this cluster's containerd.
 */
import { execFile } from "node:child_process";
import { readdir, readFile, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The sysctls kubelet 1.36 changes on start (vm.overcommit_memory 0→1, kernel.panic 1→10, …). */
const SYSCTLS = ["vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"];
const NETNS_DIR = "/var/run/netns";

export interface HostSnapshot {
  sysctls: Map<string, string>;
  netns: Set<string>;
  runContainerdExisted: boolean;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function snapshotHost(): Promise<HostSnapshot> {
  const sysctls = new Map<string, string>();
  for (const key of SYSCTLS) {
    const value = await readFile(join("/proc/sys", key), "utf8").catch(() => undefined);
    if (value !== undefined) sysctls.set(key, value.trim());
  }
  return {
    sysctls,
    netns: new Set(await list(NETNS_DIR)),
    runContainerdExisted: await exists("/run/containerd"),
  };
}

/** Mount points at or under `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const points = text
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\040/g, " "));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string): Promise<void> {
  // Bounded: each pass unmounts what it sees; stacked mounts need a few passes.
  for (let pass = 0; pass < 10; pass++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) return;
    for (const p of points) await run("umount", ["-l", p]).catch(() => undefined);
  }
}

async function detachLoopsUnder(dir: string): Promise<void> {
  const { stdout } = await run("losetup", ["--list", "--json"]).catch(() => ({ stdout: "" }));
  if (stdout.trim() === "") return;
  const parsed = JSON.parse(stdout) as { loopdevices?: { name: string; "back-file"?: string }[] };
  for (const loop of parsed.loopdevices ?? []) {
    const file = (loop["back-file"] ?? "").replace(/ \(deleted\)$/, "");
    if (file.startsWith(`${dir}/`)) await run("losetup", ["-d", loop.name]).catch(() => undefined);
  }
}

/** Removes a cgroup directory tree bottom-up (cgroupfs directories are removed with rmdir). */
async function removeCgroup(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeCgroup(join(path, e.name));
  await rmdir(path).catch(() => undefined);
}

/** Kills processes whose command line names `marker` (the shims of this cluster's containerd). */
async function killProcessesNaming(marker: string): Promise<void> {
  for (const pid of await list("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(marker)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }
}

export async function restoreHost(before: HostSnapshot, clusterDir: string, bridge: string): Promise<void> {
  await killProcessesNaming(join(clusterDir, "containerd"));
  // kubelet holds each mapped raw block volume open with a loop device of its own over the device
  // file in its directory: those go first (their backing path vanishes with the unmount), then
  // the mounts, then the loop devices over the simulator's files, which the mounts kept busy.
  await detachLoopsUnder(clusterDir);
  await unmountUnder(clusterDir);
  await detachLoopsUnder(clusterDir);
  for (const name of await list(NETNS_DIR)) {
    if (before.netns.has(name)) continue;
    await run("umount", [join(NETNS_DIR, name)]).catch(() => undefined);
    await rm(join(NETNS_DIR, name), { force: true }).catch(() => undefined);
  }
  await run("ip", ["link", "delete", bridge]).catch(() => undefined);
  for (const controller of await list("/sys/fs/cgroup")) {
    await removeCgroup(join("/sys/fs/cgroup", controller, "kubepods"));
  }
  if (!before.runContainerdExisted) await rm("/run/containerd", { recursive: true, force: true });
  for (const [key, value] of before.sysctls) {
    await writeFile(join("/proc/sys", key), value).catch(() => undefined);
  }
}
