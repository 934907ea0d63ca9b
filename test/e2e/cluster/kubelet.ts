/**
 * A real kubelet on this host (kubelet-e2e.md): cgroup v1 allowed (failCgroupV1: false), the
 * cgroupfs driver, containerd's CRI socket, its own root directory, its server on loopback with
 * anonymous access (test only), and eviction and image GC relaxed so a busy CI disk does not
 * evict the test's pods.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { Processes } from "./processes.js";
import { freePort } from "./wait.js";

export interface KubeletOptions {
  bin: string;
  dir: string;
  nodeName: string;
  nodeIp: string;
  kubeconfig: string;
  containerdSocket: string;
}

export async function startKubelet(procs: Processes, o: KubeletOptions): Promise<{ root: string }> {
  const root = join(o.dir, "kubelet");
  await mkdir(root, { recursive: true });
  const config = join(o.dir, "kubelet-config.yaml");
  const [port, healthzPort] = [await freePort(), await freePort()];
  await writeFile(
    config,
    [
      "apiVersion: kubelet.config.k8s.io/v1beta1",
      "kind: KubeletConfiguration",
      "failCgroupV1: false",
      "cgroupDriver: cgroupfs",
      `containerRuntimeEndpoint: unix://${o.containerdSocket}`,
      "address: 127.0.0.1",
      `port: ${port}`,
      "healthzBindAddress: 127.0.0.1",
      `healthzPort: ${healthzPort}`,
      "readOnlyPort: 0",
      "authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}",
      "authorization: {mode: AlwaysAllow}",
      "failSwapOn: false",
      'evictionHard: {memory.available: "1Mi", nodefs.available: "0%", imagefs.available: "0%", nodefs.inodesFree: "0%"}',
      "imageGCHighThresholdPercent: 100",
      "imageGCLowThresholdPercent: 99",
      "localStorageCapacityIsolation: false",
      "serializeImagePulls: false",
      "syncFrequency: 5s",
      "fileCheckFrequency: 5s",
      "nodeStatusUpdateFrequency: 2s",
      "",
    ].join("\n"),
  );
  procs.start(
    "kubelet",
    join(o.bin, "kubelet"),
    [
      `--config=${config}`,
      `--kubeconfig=${o.kubeconfig}`,
      `--root-dir=${root}`,
      `--cert-dir=${join(o.dir, "kubelet-pki")}`,
      `--hostname-override=${o.nodeName}`,
      `--node-ip=${o.nodeIp}`,
      "--v=2",
    ],
    { graceSeconds: 15 },
  );
  return { root };
}
