/**
 * A whole cluster on this host for the e2e suite and `npm run cluster`: containerd with locally
 * built images, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, the
 * snapshot CRDs and snapshot-controller, the simulator as the array, and the driver as the chart
 * runs it — controller and node processes with their sidecars, each sidecar with its
 * ServiceAccount's token and the chart's RBAC. `stop` puts the host back as it was, whatever
 * state the tests left it in.
 */
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";

import { acceptsConnection } from "../../support/sockets.js";

import type { ContainerRun, KubeObject, RenderedChart } from "./chart.js";
import { mappedConfig, renderChart } from "./chart.js";
import type { Containerd } from "./containerd.js";
import { BRIDGE, importImages, removeAllContainers, startContainerd } from "./containerd.js";
import type { ControlPlane } from "./control-plane.js";
import { kubeconfigText, startControlPlane } from "./control-plane.js";
import type { HostSnapshot } from "./host-state.js";
import { restoreHost, snapshotHost } from "./host-state.js";
import { buildImages } from "./images.js";
import { startKubelet } from "./kubelet.js";
import { Processes } from "./processes.js";
import type { Registrar } from "./registrar.js";
import { startRegistrar } from "./registrar.js";
import { freePort, hostIp, waitFor } from "./wait.js";

export const NODE_NAME = "e2e-node";
export const DRIVER_NAME = "csi.vsp-csi.dev";
const NAMESPACE = "kube-system";
const SIM_USER = { username: "maintenance", password: "raid-maintenance" };
const STORAGE_DEVICE_ID = "886000123456";

export interface ClusterTools {
  repo: string;
  /** kubelet, kube-controller-manager, kube-scheduler, the sidecars, snapshot-controller, pause. */
  bin: string;
  /** etcd and kube-apiserver (the chart check's builds). */
  k8sBin: string;
  helm: string;
  /** The snapshot and group snapshot CRDs (external-snapshotter client module, config/crd). */
  crdDir: string;
  /** Simulator timings: instant (default) or realistic. */
  timings?: "instant" | "realistic";
}

export interface Cluster {
  dir: string;
  kubeconfig: string;
  kc: k8s.KubeConfig;
  simUrl: string;
  simDataDir: string;
  chart: RenderedChart;
  procs: Processes;
  /**
   * SIGKILLs the controller driver (the sidecars lose their connection, exit and are started
   * again, as in a pod) and starts it again; answers once its socket accepts connections.
   */
  crashController(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts everything; on any failure stops what it started and rethrows (with the logs' dir). */
export async function startCluster(tools: ClusterTools): Promise<Cluster> {
  const before = await snapshotHost();
  const dir = await mkdtemp(join(tmpdir(), "vsp-e2e-"));
  const logs = join(dir, "logs");
  await mkdir(logs, { recursive: true });
  const procs = new Processes(logs);
  const state: { containerd?: Containerd; registrar?: Registrar } = {};
  const stop = () => stopCluster(procs, state, before, dir);
  try {
    return { ...(await bringUp(tools, dir, procs, state)), stop };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await stop().catch(() => undefined);
    throw new Error(`${message} (cluster logs were in ${logs})`);
  }
}

async function bringUp(
  tools: ClusterTools,
  dir: string,
  procs: Processes,
  state: { containerd?: Containerd; registrar?: Registrar },
): Promise<Omit<Cluster, "stop">> {
  const containerd = await startContainerd(procs, dir);
  state.containerd = containerd;
  await importImages(containerd, await buildImages(join(dir, "images"), join(tools.bin, "pause")));

  const cp = await startControlPlane(procs, tools.k8sBin, tools.bin, join(dir, "control-plane"), NODE_NAME);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  await installCrds(kc, tools.crdDir);
  procs.start("snapshot-controller", join(tools.bin, "snapshot-controller"), [
    `--kubeconfig=${cp.adminKubeconfig}`,
    "--leader-election=false",
    "--feature-gates=CSIVolumeGroupSnapshot=true",
    "--v=2",
  ]);

  const simDataDir = join(dir, "sim");
  const simPort = await freePort();
  procs.start("simulator", process.execPath, [
    join(tools.repo, "dist/cli.js"),
    "simulator",
    `--port=${simPort}`,
    "--tls",
    `--data-dir=${simDataDir}`,
    `--storage-device-id=${STORAGE_DEVICE_ID}`,
    `--timings=${tools.timings ?? "instant"}`,
  ]);
  const simUrl = `https://127.0.0.1:${simPort}`;

  const kubeletRoot = join(dir, "kubelet");
  const chart = await renderChart(
    tools.helm,
    tools.repo,
    NAMESPACE,
    {
      "arrays[0].url": simUrl,
      "arrays[0].storageDeviceId": STORAGE_DEVICE_ID,
      "node.kubeletDir": kubeletRoot,
    },
    SIM_USER,
  );
  await applyChartObjects(kc, chart);

  await startKubelet(procs, {
    bin: tools.bin,
    dir,
    nodeName: NODE_NAME,
    nodeIp: hostIp(),
    kubeconfig: cp.nodeKubeconfig,
    containerdSocket: containerd.socket,
  });
  await waitForNodeReady(kc, procs);

  const controllerKubeconfig = await serviceAccountKubeconfig(kc, cp, chart.controllerServiceAccount, dir);
  const controllerSocket = await startWorkload(
    procs,
    tools,
    chart,
    "Deployment",
    join(dir, "controller"),
    controllerKubeconfig,
    state,
    {
      simDataDir,
      kubeletRoot,
    },
  );
  await startWorkload(procs, tools, chart, "DaemonSet", join(dir, "node"), undefined, state, {
    simDataDir,
    kubeletRoot,
  });
  await waitFor(
    `CSINode ${NODE_NAME} to list ${DRIVER_NAME}`,
    async () => {
      // kubelet's verdict on the registration, when it refused it, is what the timeout reports.
      const verdict = state.registrar?.status();
      if (verdict && !verdict.registered)
        throw new Error(`kubelet refused the registration: ${verdict.error}`);
      const storage = kc.makeApiClient(k8s.StorageV1Api);
      const node = await storage.readCSINode({ name: NODE_NAME });
      return node.spec.drivers.some((d) => d.name === DRIVER_NAME) ? true : undefined;
    },
    60_000,
    500,
  );
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigText(cp.server, "e2e-admin", cp.adminToken), { mode: 0o600 });
  const crashController = async () => {
    await procs.crash("controller-driver");
    await waitFor(
      "the restarted controller's socket",
      async () => ((await acceptsConnection(controllerSocket)) ? true : undefined),
      60_000,
    );
  };
  return { dir, kubeconfig, kc, simUrl, simDataDir, chart, procs, crashController };
}

async function installCrds(kc: k8s.KubeConfig, crdDir: string): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  const names: string[] = [];
  for (const file of (await readdir(crdDir)).filter(
    (f) => f.endsWith(".yaml") && f !== "kustomization.yaml",
  )) {
    for (const doc of parseAllDocuments(await readFile(join(crdDir, file), "utf8"))) {
      const crd = doc.toJS() as KubeObject | null;
      if (crd?.kind !== "CustomResourceDefinition") continue;
      await client.create(crd);
      names.push(crd.metadata.name);
    }
  }
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const name of names) {
    await waitFor(
      `CRD ${name} Established`,
      async () => {
        const crd = await ext.readCustomResourceDefinition({ name });
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")
          ? true
          : undefined;
      },
      60_000,
    );
  }
}

/** Creates the chart's cluster objects and the credential Secret it names. */
async function applyChartObjects(kc: k8s.KubeConfig, chart: RenderedChart): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const obj of chart.clusterObjects) {
    await waitFor(
      `${obj.kind} ${obj.metadata.name} created`,
      () => client.create(obj).then(() => true),
      30_000,
      500,
    );
  }
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedSecret({
    namespace: chart.namespace,
    body: {
      metadata: { name: "sim-credentials" },
      stringData: SIM_USER,
    },
  });
}

async function waitForNodeReady(kc: k8s.KubeConfig, procs: Processes): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await waitFor(
    `node ${NODE_NAME} Ready`,
    async () => {
      if (procs.exited("kubelet")) throw new Error(`kubelet exited:\n${await procs.tail("kubelet")}`);
      const node = await core.readNode({ name: NODE_NAME });
      const ready = node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      const tainted = (node.spec?.taints ?? []).some((t) => t.key === "node.kubernetes.io/not-ready");
      return ready && !tainted ? true : undefined;
    },
    120_000,
    500,
  );
}

/** A kubeconfig with a TokenRequest token of the ServiceAccount (the chart's RBAC applies). */
async function serviceAccountKubeconfig(
  kc: k8s.KubeConfig,
  cp: ControlPlane,
  name: string,
  dir: string,
): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const token = await waitFor(
    `a token of ServiceAccount ${name}`,
    async () =>
      (
        await core.createNamespacedServiceAccountToken({
          name,
          namespace: NAMESPACE,
          body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
        })
      ).status?.token,
    30_000,
  );
  const file = join(dir, `${name}.kubeconfig`);
  await writeFile(file, kubeconfigText(cp.server, `system:serviceaccount:${NAMESPACE}:${name}`, token), {
    mode: 0o600,
  });
  return file;
}

/** Containers the module proxy does not serve a build of, and what stands in for them. */
const NOT_BUILT = new Set(["livenessprobe", "liveness-probe"]);

async function startWorkload(
  procs: Processes,
  tools: ClusterTools,
  chart: RenderedChart,
  kind: "Deployment" | "DaemonSet",
  dir: string,
  kubeconfig: string | undefined,
  state: { registrar?: Registrar },
  host: { simDataDir: string; kubeletRoot: string },
): Promise<string> {
  const prefix = kind === "Deployment" ? "controller" : "node";
  const containers = await chart.containers(kind, dir, NODE_NAME);
  const driver = containers.find((c) => c.args[0] === "controller" || c.args[0] === "node");
  if (!driver) throw new Error(`the chart's ${kind} has no driver container`);
  await mappedConfig(driver, (config) => {
    // The sim transport's LUNs are loop devices over the simulator's files (a real node has HBAs).
    if (kind === "DaemonSet") (config.node as Record<string, unknown>).simDataDir = host.simDataDir;
  });
  // Every container restarts when it exits, as in a pod (restartPolicy Always).
  procs.start(`${prefix}-driver`, process.execPath, [join(tools.repo, "dist/cli.js"), ...driver.args], {
    env: driver.env,
    restart: true,
  });
  const socket = endpointPath(driver);
  await waitFor(
    `the ${prefix} driver's socket ${socket}`,
    async () => {
      if (procs.exited(`${prefix}-driver`)) throw new Error(await procs.tail(`${prefix}-driver`));
      await access(socket);
      return true;
    },
    60_000,
  );

  for (const c of containers) {
    if (c === driver || NOT_BUILT.has(c.name)) continue;
    if (c.name === "node-driver-registrar" || c.name === "csi-node-driver-registrar") {
      const path = flag(c, "--kubelet-registration-path");
      state.registrar = await startRegistrar(host.kubeletRoot, DRIVER_NAME, path);
      continue;
    }
    procs.start(`${prefix}-${c.name}`, join(tools.bin, c.name), await sidecarArgs(c, kubeconfig), {
      env: c.env,
      restart: true,
    });
  }
  return socket;
}

function flag(c: ContainerRun, name: string): string {
  const arg = c.args.find((a) => a.startsWith(`${name}=`));
  if (arg === undefined) throw new Error(`container ${c.name} has no ${name}`);
  return arg.slice(name.length + 1);
}

function endpointPath(c: ContainerRun): string {
  return flag(c, "--endpoint").replace(/^unix:\/\//, "");
}

/** The chart's arguments; HTTP endpoints on loopback ports of their own, and the SA's kubeconfig. */
async function sidecarArgs(c: ContainerRun, kubeconfig: string | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const a of c.args) {
    if (a.startsWith("--http-endpoint=") || a.startsWith("--metrics-address=")) {
      out.push(`${a.split("=")[0] ?? ""}=127.0.0.1:${await freePort()}`);
    } else out.push(a);
  }
  if (kubeconfig !== undefined) out.push(`--kubeconfig=${kubeconfig}`);
  return out;
}

async function stopCluster(
  procs: Processes,
  state: { containerd?: Containerd; registrar?: Registrar },
  before: HostSnapshot,
  dir: string,
): Promise<void> {
  await state.registrar?.stop().catch(() => undefined);
  // Everything but containerd, newest first: the driver and sidecars, kubelet, the simulator,
  // the control plane (clients before the apiserver, the apiserver before etcd).
  await procs.stopAllBut("containerd");
  if (state.containerd) await removeAllContainers(state.containerd).catch(() => undefined);
  await procs.stopAll();
  await restoreHost(before, dir, BRIDGE);
  if (process.env.E2E_KEEP_DIR === undefined) await rm(dir, { recursive: true, force: true });
}
