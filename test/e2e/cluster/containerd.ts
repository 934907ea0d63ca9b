/**
 * Debian's containerd 1.6 (CRI) with runc and the CNI bridge plugin, every path of its own under
 * the cluster's directory (kubelet-e2e.md "Settings that matter"): cgroupfs (PID 1 is not
 * systemd), restrict_oom_score_adj (root lacks CAP_SYS_RESOURCE here, and the pause container
 * asks for -998), the locally built pause image as sandbox image, and a bridge network.
 */
import { execFile } from "node:child_process";
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

import { BUSYBOX_IMAGE, PAUSE_IMAGE } from "./images.js";
import type { Processes } from "./processes.js";
import { waitFor } from "./wait.js";

const run = promisify(execFile);

export const BRIDGE = "vspe2e0";
const POD_SUBNET = "10.88.0.0/24";

export interface Containerd {
  socket: string;
  /** `ctr` against this containerd, in the CRI namespace. */
  ctr(args: string[]): Promise<string>;
}

export async function startContainerd(procs: Processes, dir: string): Promise<Containerd> {
  const root = join(dir, "containerd");
  const cniConf = join(root, "cni-conf");
  await mkdir(cniConf, { recursive: true });
  const socket = join(root, "containerd.sock");
  await writeFile(
    join(cniConf, "10-e2e.conflist"),
    JSON.stringify({
      cniVersion: "0.4.0",
      name: "vsp-csi-e2e",
      plugins: [
        {
          type: "bridge",
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          ipam: { type: "host-local", ranges: [[{ subnet: POD_SUBNET }]], dataDir: join(root, "ipam") },
        },
      ],
    }),
  );
  const config = join(root, "config.toml");
  await writeFile(
    config,
    [
      "version = 2",
      `root = "${join(root, "root")}"`,
      `state = "${join(root, "state")}"`,
      "[grpc]",
      `  address = "${socket}"`,
      "[ttrpc]",
      `  address = "${socket}.ttrpc"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(root, "opt")}"`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = "${PAUSE_IMAGE}"`,
      "  restrict_oom_score_adj = true",
      '  [plugins."io.containerd.grpc.v1.cri".containerd]',
      '    snapshotter = "overlayfs"',
      '    default_runtime_name = "runc"',
      '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '      runtime_type = "io.containerd.runc.v2"',
      '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
      "        SystemdCgroup = false",
      '  [plugins."io.containerd.grpc.v1.cri".cni]',
      '    bin_dir = "/usr/lib/cni"',
      `    conf_dir = "${cniConf}"`,
      "",
    ].join("\n"),
  );
  procs.start("containerd", "containerd", ["--config", config]);
  const ctr = async (args: string[]) =>
    (await run("ctr", ["--address", socket, "-n", "k8s.io", ...args], { maxBuffer: 16 << 20 })).stdout;
  await waitFor(
    "containerd's socket",
    async () => {
      await access(socket);
      await ctr(["version"]);
      return true;
    },
    60_000,
  );
  return { socket, ctr };
}

/** Imports OCI archives into the CRI namespace (kubelet sees them as present images). */
export async function importImages(containerd: Containerd, archives: readonly string[]): Promise<void> {
  // One archive per call: `ctr images import` reads only its first argument.
  for (const archive of archives) await containerd.ctr(["images", "import", archive]);
  const listed = await containerd.ctr(["images", "ls", "-q"]);
  for (const ref of [PAUSE_IMAGE, BUSYBOX_IMAGE]) {
    if (!listed.split("\n").includes(ref))
      throw new Error(`image ${ref} is not in containerd after the import`);
  }
}

/**
 * Kills every task (pod sandboxes and containers) this containerd runs and removes its
 * containers, so that no shim or container process outlives the cluster.
 */
export async function removeAllContainers(containerd: Containerd): Promise<void> {
  const tasks = (await containerd.ctr(["tasks", "ls", "-q"]).catch(() => "")).split("\n").filter(Boolean);
  for (const id of tasks) await containerd.ctr(["tasks", "kill", "-s", "SIGKILL", id]).catch(() => "");
  for (const id of tasks) {
    await waitFor(
      `task ${id} to stop`,
      async () => {
        await containerd.ctr(["tasks", "delete", id]).catch(() => "");
        const still = await containerd.ctr(["tasks", "ls", "-q"]).catch(() => "");
        return still.split("\n").includes(id) ? undefined : true;
      },
      20_000,
      200,
    ).catch(() => undefined);
  }
  const containers = (await containerd.ctr(["containers", "ls", "-q"]).catch(() => ""))
    .split("\n")
    .filter(Boolean);
  for (const id of containers) await containerd.ctr(["containers", "delete", id]).catch(() => "");
}
