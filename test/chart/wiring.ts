/**
 * Checks that the rendered pods fit the driver they run — what would otherwise fail only once the
 * pods start on a cluster. For each pod that runs the driver, the driver's own configuration
 * loader (src/config loadConfig) is run with the container's exact arguments and environment, and
 * with a file system made of the pod's mounts: a file under a ConfigMap mount reads the rendered
 * ConfigMap's key, a file under a Secret mount exists when the Secret volume projects it. So the
 * --config file, every array's credentials.secretDir and caBundle, and every key must resolve as
 * they will in the pod. Then:
 *
 * - the sidecars' --csi-address is the driver's endpoint, on a volume they share; kubelet's
 *   registration path is that volume's host path;
 * - the node plugin gets its node id from the node name, sees the host's root at node.hostRoot,
 *   and keeps its stage records (node.stateDir) on a host path, so a restarted plugin finds them;
 * - every controller sidecar --timeout is longer than the driver's operation budget;
 * - the CSIDriver, StorageClasses and snapshot/attributes classes name the driver the config names.
 */
import { dirname } from "node:path";

import type { Config } from "../../src/config/index.js";
import { ConfigError, loadConfig, parseEndpoint } from "../../src/config/index.js";
import { defaultStateDir } from "../../src/node/plugin.js";
import type { Json, JsonObject } from "./schema-index.js";
import { isObject } from "./schema-index.js";
import type { Located } from "./semantic.js";
import { podTemplate } from "./semantic.js";
import type { Problem } from "./validate.js";

const obj = (v: Json | undefined): JsonObject => (isObject(v) ? v : {});
const arr = (v: Json | undefined): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);
const str = (v: Json | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const MODES = ["controller", "node", "all"];

/**
 * Stands in for CA bundles in ConfigMaps the chart does not render (the user's own): a public
 * self-signed certificate, so the loader's X.509 parsing runs.
 */
const PLACEHOLDER_CA = `-----BEGIN CERTIFICATE-----
MIIBiDCCAS+gAwIBAgIUMFE1RwsMgjDvz5OEtQwBmB08908wCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPdnNwMiBleGFtcGxlIENBMB4XDTI2MTEyMzE0NTEyMVoXDTM2
MTEyMDE0NTEyMVowGjEYMBYGA1UEAwwPdnNwMiBleGFtcGxlIENBMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEzF8VgI/6pcb6z2WhG2LT9YtmI+uT/HZmZnkwRIYm
iheLFh1bA3WSGc9UYQDSvtXY35jOhhuN8BQ/vKa1wbx42KNTMFEwHQYDVR0OBBYE
FD9lCjuBgZ9zHM//KTCKTJFeZTIxMB8GA1UdIwQYMBaAFD9lCjuBgZ9zHM//KTCK
TJFeZTIxMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgeonwsK97
xib5SSmkPTX6z3I35SYyMXmdXOvM98E+6yICIDkoYakRgGjJLV4c7kU5E7LmBrAU
zo1qTo4YX1p2piZh
-----END CERTIFICATE-----
`;

/** The node name the pod would get from spec.nodeName. */
const NODE_NAME = "node-1";

function flag(container: JsonObject, name: string): string | undefined {
  const args = Array.isArray(container.args) ? container.args : [];
  const prefix = `--${name}=`;
  const found = args.find((a): a is string => typeof a === "string" && a.startsWith(prefix));
  return found?.slice(prefix.length);
}

/** Seconds of a Go duration such as 300s, 2m or 1m30s; undefined when unparsable. */
export function durationSeconds(text: string): number | undefined {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
  const parts = [...text.matchAll(/([0-9.]+)(h|ms|us|ns|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? ""] ?? 0), 0);
}

interface Pod {
  readonly spec: JsonObject;
  readonly path: string;
  readonly configMaps: ReadonlyMap<string, JsonObject>;
}

function notFound(path: string): Error {
  return Object.assign(new Error(`${path}: not in the pod`), { code: "ENOENT" });
}

/** The key a file comes from in a configMap/secret volume (all keys when it lists no items). */
function fileKey(source: JsonObject, file: string): string | undefined {
  const items = arr(source.items);
  if (items.length === 0) return file;
  return str(items.find((i) => i.path === file)?.key);
}

/** readFile over the container's mounts, deepest mount first (as the kernel resolves them). */
function podFiles(pod: Pod, container: JsonObject): (path: string) => Promise<string> {
  const mounts = arr(container.volumeMounts).sort(
    (a, b) => (str(b.mountPath) ?? "").length - (str(a.mountPath) ?? "").length,
  );
  return (path) => {
    const mount = mounts.find((m) => path.startsWith(`${str(m.mountPath) ?? ""}/`));
    const volume = arr(pod.spec.volumes).find((v) => v.name === mount?.name);
    const file = path.slice((str(mount?.mountPath) ?? "").length + 1);
    if (volume === undefined || file.includes("/")) return Promise.reject(notFound(path));
    if (isObject(volume.configMap)) {
      const key = fileKey(volume.configMap, file);
      const rendered = pod.configMaps.get(str(volume.configMap.name) ?? "");
      const text = rendered === undefined ? PLACEHOLDER_CA : str(obj(rendered.data)[key ?? ""]);
      return key === undefined || text === undefined ? Promise.reject(notFound(path)) : Promise.resolve(text);
    }
    if (isObject(volume.secret)) {
      const key = fileKey(volume.secret, file);
      return key === undefined ? Promise.reject(notFound(path)) : Promise.resolve(`${key}-from-secret`);
    }
    return Promise.reject(notFound(path));
  };
}

function containerEnv(container: JsonObject): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of arr(container.env)) {
    const name = str(e.name) ?? "";
    if (typeof e.value === "string") env[name] = e.value;
    else if (obj(obj(e.valueFrom).fieldRef).fieldPath === "spec.nodeName") env[name] = NODE_NAME;
  }
  return env;
}

/** Runs the driver's loader as the container would; the problems are the loader's own lines. */
async function loadAsPod(
  pod: Pod,
  driver: JsonObject,
  mode: string,
  problems: Problem[],
): Promise<Config | undefined> {
  const args = (Array.isArray(driver.args) ? driver.args : []).filter(
    (a): a is string => typeof a === "string",
  );
  const env = containerEnv(driver);
  if (mode !== "controller" && env.VSP_CSI_NODE_ID !== NODE_NAME) {
    problems.push({ path: pod.path, message: "the node plugin must get VSP_CSI_NODE_ID from spec.nodeName" });
  }
  try {
    const { config } = await loadConfig({
      argv: ["--mode", mode, ...args.slice(1)],
      env,
      readFile: podFiles(pod, driver),
      hostname: () => "pod-hostname",
      driverVersion: "0.0.0",
    });
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.problems) problems.push({ path: `${pod.path} (driver start-up)`, message: line });
    return undefined;
  }
}

function mountedVolume(pod: Pod, container: JsonObject, dir: string): JsonObject | undefined {
  const mount = arr(container.volumeMounts).find((m) => m.mountPath === dir);
  return arr(pod.spec.volumes).find((v) => v.name === mount?.name);
}

function checkSockets(pod: Pod, driver: JsonObject, config: Config, problems: Problem[]): void {
  const endpoint = parseEndpoint(config.endpoint);
  if (endpoint?.kind !== "unix") {
    problems.push({ path: pod.path, message: "the driver must listen on a unix socket" });
    return;
  }
  const dir = dirname(endpoint.path);
  const socketVolume = mountedVolume(pod, driver, dir);
  if (socketVolume === undefined)
    problems.push({ path: pod.path, message: `nothing is mounted at the socket directory ${dir}` });
  for (const c of arr(pod.spec.containers)) {
    const address = flag(c, "csi-address");
    if (address === undefined) continue;
    const name = str(c.name) ?? "";
    if (address.replace(/^unix:\/\//, "") !== endpoint.path) {
      problems.push({
        path: pod.path,
        message: `${name}: --csi-address=${address} is not the driver's ${endpoint.path}`,
      });
    } else if (socketVolume === undefined || mountedVolume(pod, c, dir)?.name !== socketVolume.name) {
      problems.push({ path: pod.path, message: `${name} does not share the driver's socket volume` });
    }
    const registration = flag(c, "kubelet-registration-path");
    const hostPath = str(obj(socketVolume?.hostPath).path);
    if (registration !== undefined && hostPath !== dirname(registration)) {
      problems.push({
        path: pod.path,
        message: `${name}: kubelet looks for the socket in ${dirname(registration)}, the volume is ${hostPath ?? "not a hostPath"}`,
      });
    }
  }
}

/** The deepest mount of the container that holds `path`, with its volume. */
function mountHolding(
  pod: Pod,
  container: JsonObject,
  path: string,
): { mount: JsonObject; volume?: JsonObject } | undefined {
  const holding = arr(container.volumeMounts)
    .filter((m) => {
      const at = str(m.mountPath) ?? "";
      return path === at || path.startsWith(at.endsWith("/") ? at : `${at}/`);
    })
    .sort((a, b) => (str(b.mountPath) ?? "").length - (str(a.mountPath) ?? "").length)[0];
  if (holding === undefined) return undefined;
  const volume = arr(pod.spec.volumes).find((v) => v.name === holding.name);
  return volume === undefined ? { mount: holding } : { mount: holding, volume };
}

function checkNodeHost(pod: Pod, driver: JsonObject, config: Config, problems: Problem[]): void {
  const root = mountHolding(pod, driver, config.node.hostRoot);
  if (root?.mount.mountPath !== config.node.hostRoot || str(obj(root.volume?.hostPath).path) !== "/") {
    problems.push({
      path: pod.path,
      message: `node.hostRoot ${config.node.hostRoot} is not a mount of the host's /`,
    });
  }
  const transport = config.node.transport ?? "fc";
  const stateDir =
    config.node.stateDir ?? defaultStateDir(config.driverName, transport, config.node.simDataDir);
  const state = mountHolding(pod, driver, stateDir);
  if (!isObject(state?.volume?.hostPath)) {
    problems.push({
      path: pod.path,
      message: `node.stateDir ${stateDir} is not on a host path: stage records would not survive a restart`,
    });
  }
}

function checkTimeouts(pod: Pod, config: Config, problems: Problem[]): void {
  const budget = config.controller.operationTimeoutSeconds;
  for (const c of arr(pod.spec.containers)) {
    const timeout = flag(c, "timeout");
    const seconds = timeout === undefined ? undefined : durationSeconds(timeout);
    if (timeout !== undefined && (seconds === undefined || seconds <= budget)) {
      problems.push({
        path: pod.path,
        message: `${str(c.name) ?? ""}: --timeout=${timeout} must be longer than operationTimeoutSeconds ${budget}`,
      });
    }
  }
}

function driverNameProblems(
  objects: readonly Located[],
  driverName: string,
  out: Map<string, Problem[]>,
): void {
  const fields: Record<string, string> = {
    CSIDriver: "name",
    StorageClass: "provisioner",
    VolumeSnapshotClass: "driver",
    VolumeGroupSnapshotClass: "driver",
    VolumeAttributesClass: "driverName",
  };
  for (const l of objects) {
    const field = fields[str(l.object.kind) ?? ""];
    if (field === undefined) continue;
    const value = field === "name" ? obj(l.object.metadata).name : l.object[field];
    if (value !== driverName) {
      out.set(l.id, [
        { path: `.${field}`, message: `${JSON.stringify(value)} is not the driver name ${driverName}` },
      ]);
    }
  }
}

/** Wiring problems keyed by the id of the object they concern ("" for the render as a whole). */
export async function wiringProblems(objects: readonly Located[]): Promise<Map<string, Problem[]>> {
  const out = new Map<string, Problem[]>();
  const configMaps = new Map(
    objects
      .filter((l) => l.object.kind === "ConfigMap")
      .map((l) => [str(obj(l.object.metadata).name) ?? "", l.object]),
  );
  const driverNames = new Set<string>();
  for (const l of objects) {
    const tpl = podTemplate(l.object);
    const modeOf = (c: JsonObject) => str(Array.isArray(c.args) ? c.args[0] : undefined) ?? "";
    const driver = arr(tpl?.spec.containers).find((c) => MODES.includes(modeOf(c)));
    if (tpl === undefined || driver === undefined) continue;
    const problems: Problem[] = [];
    const pod: Pod = { spec: tpl.spec, path: tpl.path, configMaps };
    const mode = modeOf(driver);
    const config = await loadAsPod(pod, driver, mode, problems);
    if (config !== undefined) {
      checkSockets(pod, driver, config, problems);
      if (mode !== "node") checkTimeouts(pod, config, problems);
      if (mode === "node") checkNodeHost(pod, driver, config, problems);
      driverNames.add(config.driverName);
    }
    if (problems.length > 0) out.set(l.id, problems);
  }
  if (driverNames.size > 1) {
    out.set("", [
      { path: "", message: `the pods disagree on the driver name: ${[...driverNames].join(", ")}` },
    ]);
  }
  const [driverName] = driverNames;
  if (driverName !== undefined) driverNameProblems(objects, driverName, out);
  return out;
}
