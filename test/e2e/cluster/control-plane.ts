/**
 * etcd, kube-apiserver, kube-controller-manager and kube-scheduler as processes on loopback
 * (settings: ../shared/reference/kubelet-e2e.md). Authentication is by static tokens: an admin
 * for the harness and the control plane, and system:node:<name> for kubelet, which the Node
 * authorizer then confines to its own node. ServiceAccount tokens (TokenRequest) are signed with
 * a key made here, so each sidecar runs with its ServiceAccount's token and the chart's RBAC.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { request } from "node:https";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { Processes } from "./processes.js";
import { freePort, waitFor } from "./wait.js";

export interface ControlPlane {
  server: string;
  adminToken: string;
  /** kubeconfig of the admin (system:masters). */
  adminKubeconfig: string;
  /** kubeconfig for kubelet of `nodeName`. */
  nodeKubeconfig: string;
}

/** The kube-controller-manager controllers a CSI cluster needs (names: KCMN). */
const CONTROLLERS = [
  "persistentvolume-binder-controller",
  "persistentvolume-attach-detach-controller",
  "persistentvolume-expander-controller",
  "persistentvolume-protection-controller",
  "persistentvolumeclaim-protection-controller",
  "garbage-collector-controller",
  "namespace-controller",
  "ephemeral-volume-controller",
  // Removes the not-ready taint kubelet registers the node with; without it nothing is scheduled.
  "node-lifecycle-controller",
];

export function kubeconfigText(server: string, user: string, token: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{name: e2e, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
    `users: [{name: ${user}, user: {token: "${token}"}}]`,
    `contexts: [{name: e2e, context: {cluster: e2e, user: ${user}}}]`,
    "current-context: e2e",
    "",
  ].join("\n");
}

export async function startControlPlane(
  procs: Processes,
  /** etcd and kube-apiserver (the chart check's builds) */
  bin: string,
  /** kube-controller-manager and kube-scheduler (scripts/e2e-tools.sh) */
  controllersBin: string,
  dir: string,
  nodeName: string,
): Promise<ControlPlane> {
  await mkdir(dir, { recursive: true });
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  procs.start("etcd", join(bin, "etcd"), [
    `--data-dir=${join(dir, "etcd")}`,
    "--name=e2e",
    "--unsafe-no-fsync",
    "--log-level=error",
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=e2e=${peerUrl}`,
  ]);

  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const saKey = join(dir, "sa.key");
  const saPub = join(dir, "sa.pub");
  await writeFile(saKey, privateKey.export({ type: "pkcs8", format: "pem" }));
  await writeFile(saPub, publicKey.export({ type: "spki", format: "pem" }));
  const adminToken = randomBytes(16).toString("hex");
  const nodeToken = randomBytes(16).toString("hex");
  await writeFile(
    join(dir, "tokens.csv"),
    `${adminToken},e2e-admin,e2e-admin,system:masters\n` +
      `${nodeToken},system:node:${nodeName},system:node:${nodeName},system:nodes\n`,
    { mode: 0o600 },
  );
  procs.start("kube-apiserver", join(bin, "kube-apiserver"), [
    `--etcd-servers=${etcdUrl}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(dir, "certs")}`,
    `--token-auth-file=${join(dir, "tokens.csv")}`,
    "--authorization-mode=Node,RBAC",
    "--service-account-issuer=https://kubernetes.default.svc",
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    "--service-cluster-ip-range=10.0.0.0/24",
    // No token controller mounts ServiceAccount tokens into pods here; the workload pods need none.
    "--disable-admission-plugins=ServiceAccount",
    "--endpoint-reconciler-type=none",
    "--allow-privileged=true",
    "--kubelet-preferred-address-types=InternalIP,Hostname",
  ]);
  const server = `https://127.0.0.1:${apiPort}`;
  await waitFor("kube-apiserver /readyz", () => readyz(server, adminToken), 180_000, 500);

  const adminKubeconfig = join(dir, "admin.kubeconfig");
  const nodeKubeconfig = join(dir, "node.kubeconfig");
  await writeFile(adminKubeconfig, kubeconfigText(server, "e2e-admin", adminToken), { mode: 0o600 });
  await writeFile(nodeKubeconfig, kubeconfigText(server, `system:node:${nodeName}`, nodeToken), {
    mode: 0o600,
  });

  procs.start("kube-controller-manager", join(controllersBin, "kube-controller-manager"), [
    `--kubeconfig=${adminKubeconfig}`,
    `--controllers=${CONTROLLERS.join(",")}`,
    "--leader-elect=false",
    "--secure-port=0",
    "--pvclaimbinder-sync-period=2s",
    "--node-monitor-period=2s",
  ]);
  procs.start("kube-scheduler", join(controllersBin, "kube-scheduler"), [
    `--kubeconfig=${adminKubeconfig}`,
    "--leader-elect=false",
    "--secure-port=0",
  ]);
  return { server, adminToken, adminKubeconfig, nodeKubeconfig };
}

/** True when the apiserver answers /readyz with 200 (its certificate is self-signed: not checked). */
function readyz(server: string, token: string): Promise<true | undefined> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? true : undefined);
      },
    );
    req.on("error", () => {
      resolve(undefined);
    });
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
