/**
 * The chart as the cluster runs it: `helm template` of charts/vsp-csi with test/e2e/values.yaml,
 * so chart and e2e cannot drift. Its cluster objects (ServiceAccounts, RBAC, CSIDriver, classes,
 * ConfigMap) are created in the API server as they are; the containers of the controller
 * Deployment and the node DaemonSet become processes on this host with the rendered arguments,
 * each path in them mapped through the container's volume mounts to where that volume lives
 * here (hostPath volumes are host paths already; emptyDir, ConfigMap and Secret volumes become
 * directories of the cluster's).
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

import { parseAllDocuments, parse as parseYaml, stringify } from "yaml";

const run = promisify(execFile);

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}

interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  emptyDir?: object;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
}

interface PodSpec {
  serviceAccountName?: string;
  containers: Container[];
  volumes?: Volume[];
}

/** A container of the chart as a process here: its arguments with paths and ports mapped. */
export interface ContainerRun {
  name: string;
  args: string[];
  env: Record<string, string>;
  /** Maps a path inside the container to the host path of the volume mounted there. */
  hostPath(path: string): string;
}

export interface RenderedChart {
  /** What kubectl apply of the chart would create in the cluster (workloads excluded). */
  clusterObjects: KubeObject[];
  namespace: string;
  controllerServiceAccount: string;
  /** The containers of the controller Deployment / node DaemonSet, volumes made under `dir`. */
  containers(kind: "Deployment" | "DaemonSet", dir: string, nodeName: string): Promise<ContainerRun[]>;
}

/** Workload kinds the harness runs as processes instead (and what only serves pods). */
const NOT_APPLIED = new Set(["Deployment", "DaemonSet", "Service", "PodDisruptionBudget", "Pod"]);

export async function renderChart(
  helm: string,
  repo: string,
  namespace: string,
  sets: Record<string, string>,
  credentials: Record<string, string>,
): Promise<RenderedChart> {
  const args = [
    "template",
    "vsp-csi",
    join(repo, "charts/vsp-csi"),
    "--namespace",
    namespace,
    "--skip-tests",
    "--api-versions",
    "snapshot.storage.k8s.io/v1",
    "--api-versions",
    "groupsnapshot.storage.k8s.io/v1",
    "-f",
    join(repo, "test/e2e/values.yaml"),
    ...Object.entries(sets).flatMap(([k, v]) => ["--set-string", `${k}=${v}`]),
  ];
  const { stdout } = await run(helm, args, { maxBuffer: 32 << 20 });
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === "object" && "kind" in o);
  const podSpec = (kind: string): PodSpec => {
    const workload = objects.find((o) => o.kind === kind) as
      (KubeObject & { spec: { template: { spec: PodSpec } } }) | undefined;
    if (!workload) throw new Error(`the chart rendered no ${kind}`);
    return workload.spec.template.spec;
  };
  const configMaps = new Map(
    objects
      .filter((o) => o.kind === "ConfigMap")
      .map((o) => [o.metadata.name, (o as KubeObject & { data?: Record<string, string> }).data ?? {}]),
  );
  return {
    clusterObjects: objects.filter((o) => !NOT_APPLIED.has(o.kind)),
    namespace,
    controllerServiceAccount: podSpec("Deployment").serviceAccountName ?? "default",
    containers: async (kind, dir, nodeName) => {
      const spec = podSpec(kind);
      const volumeDirs = new Map<string, string>();
      for (const v of spec.volumes ?? []) {
        volumeDirs.set(v.name, await materialise(v, join(dir, "volumes", v.name), configMaps, credentials));
      }
      return spec.containers.map((c) => containerRun(c, volumeDirs, nodeName));
    },
  };
}

/** The host directory of a pod volume, filled as the kubelet would fill it. */
async function materialise(
  v: Volume,
  dir: string,
  configMaps: Map<string, Record<string, string>>,
  credentials: Record<string, string>,
): Promise<string> {
  if (v.hostPath) {
    // As kubelet does for these types before it starts the pod.
    if (v.hostPath.type === "DirectoryOrCreate") await mkdir(v.hostPath.path, { recursive: true });
    return v.hostPath.path;
  }
  await mkdir(dir, { recursive: true });
  const files = async (data: Record<string, string>, items?: { key: string; path: string }[]) => {
    const wanted = items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const { key, path } of wanted) {
      const value = data[key];
      if (value === undefined) throw new Error(`volume ${v.name}: no key ${key}`);
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), value, { mode: 0o600 });
    }
  };
  if (v.configMap) {
    const data = configMaps.get(v.configMap.name);
    if (!data) throw new Error(`volume ${v.name}: the chart rendered no ConfigMap ${v.configMap.name}`);
    await files(data, v.configMap.items);
  } else if (v.secret) {
    // The chart never creates the credential Secret (it names one); the suite creates it with these.
    await files(credentials, v.secret.items);
  }
  return dir;
}

function containerRun(c: Container, volumeDirs: Map<string, string>, nodeName: string): ContainerRun {
  const mounts = (c.volumeMounts ?? [])
    .map((m) => {
      const base = volumeDirs.get(m.name);
      if (base === undefined) throw new Error(`container ${c.name}: no volume ${m.name}`);
      return { at: m.mountPath.replace(/\/$/, ""), to: m.subPath ? join(base, m.subPath) : base };
    })
    .sort((a, b) => b.at.length - a.at.length);
  const hostPath = (path: string): string => {
    const m = mounts.find((x) => path === x.at || path.startsWith(`${x.at}/`));
    if (!m) return path;
    return m.at === "/" ? path : join(m.to, path.slice(m.at.length));
  };
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (field === "spec.nodeName") env[e.name] = nodeName;
    else throw new Error(`container ${c.name}: env ${e.name} comes from ${JSON.stringify(e.valueFrom)}`);
  }
  const args = (c.args ?? []).map((a) =>
    a.replace(/(^|=|unix:\/\/)(\/[^\s,]*)/g, (_, pre: string, p: string) => pre + hostPath(p)),
  );
  return { name: c.name, args, env, hostPath };
}

/**
 * The driver's configuration file of a container, its paths mapped like the arguments (the
 * chart's files name paths inside the container: the credential directories, hostRoot, stateDir),
 * plus `extra` keys the e2e host needs; written next to the original. Answers the new path.
 */
export async function mappedConfig(
  run: ContainerRun,
  extra: (config: Record<string, unknown>) => void,
): Promise<string> {
  const arg = run.args.find((a) => a.startsWith("--config="));
  if (!arg) throw new Error(`container ${run.name} has no --config`);
  const file = arg.slice("--config=".length);
  const config = parseYaml(await readFile(file, "utf8")) as Record<string, unknown>;
  const mapped = mapStrings(config, (s) => (s.startsWith("/") ? run.hostPath(s) : s)) as Record<
    string,
    unknown
  >;
  extra(mapped);
  const out = `${file}.e2e.yaml`;
  await writeFile(out, stringify(mapped), { mode: 0o600 });
  run.args = run.args.map((a) => (a === arg ? `--config=${out}` : a));
  return out;
}

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  }
  return value;
}
