/**
 * The part of the apiserver's validation that no OpenAPI schema carries (k8s.io/apimachinery
 * validation and pkg/apis/core/validation), for the kinds the chart renders: object names,
 * label and annotation syntax, workload selectors, and pod specs (unique container, volume and
 * port names, mounts naming declared volumes, probes naming declared ports, Bidirectional
 * propagation only in privileged containers). Then a few checks across the rendered objects that
 * the apiserver would not catch but a running cluster would: a Service's target ports exist on the
 * pods it selects, bindings name rendered roles and service accounts, pods name rendered service
 * accounts, and configMap volume items name keys the rendered ConfigMap has.
 */
import type { Json, JsonObject } from "./schema-index.js";
import { isObject } from "./schema-index.js";
import type { Problem } from "./validate.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const obj = (v: Json | undefined): JsonObject => (isObject(v) ? v : {});
const arr = (v: Json | undefined): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);
const str = (v: Json | undefined): string | undefined => (typeof v === "string" ? v : undefined);

function isSubdomain(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

/** `prefix/name` label and annotation keys (IsQualifiedName). */
function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && !isSubdomain(prefix)) return "prefix must be a DNS subdomain";
  if (name.length > 63 || !QUALIFIED_NAME.test(name))
    return "name part must be ≤ 63 alphanumerics, '-', '_', '.'";
  return undefined;
}

function nameRule(kind: string): { test: (n: string) => boolean; rule: string } {
  if (kind === "Service")
    return { test: (n) => n.length <= 63 && DNS_1035.test(n), rule: "a DNS-1035 label" };
  // RBAC objects only need a valid path segment.
  if (/Role(Binding)?$/.test(kind))
    return { test: (n) => !/[/%]/.test(n) && n !== "." && n !== "..", rule: "a path segment" };
  return { test: isSubdomain, rule: "a DNS-1123 subdomain" };
}

function metadataProblems(o: JsonObject): Problem[] {
  const problems: Problem[] = [];
  const meta = obj(o.metadata);
  const name = str(meta.name);
  const { test, rule } = nameRule(str(o.kind) ?? "");
  if (name === undefined) problems.push({ path: ".metadata.name", message: "missing" });
  else if (!test(name))
    problems.push({ path: ".metadata.name", message: `${JSON.stringify(name)} is not ${rule}` });
  for (const [field, map] of [
    ["labels", obj(meta.labels)],
    ["annotations", obj(meta.annotations)],
  ] as const) {
    for (const [key, value] of Object.entries(map)) {
      const bad = keyProblem(key);
      if (bad !== undefined) problems.push({ path: `.metadata.${field}.${key}`, message: `key: ${bad}` });
      if (
        field === "labels" &&
        typeof value === "string" &&
        value !== "" &&
        (value.length > 63 || !QUALIFIED_NAME.test(value))
      ) {
        problems.push({
          path: `.metadata.labels.${key}`,
          message: `value ${JSON.stringify(value)} is not a valid label value`,
        });
      }
    }
  }
  return problems;
}

function containersOf(pod: JsonObject): { list: JsonObject[]; field: string }[] {
  return [
    { list: arr(pod.initContainers), field: "initContainers" },
    { list: arr(pod.containers), field: "containers" },
  ];
}

function duplicates(names: (string | undefined)[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) if (n !== undefined) (seen.has(n) ? dup : seen).add(n);
  return [...dup];
}

function containerProblems(c: JsonObject, volumes: Set<string>, path: string): Problem[] {
  const problems: Problem[] = [];
  const ports = arr(c.ports);
  const portNames = new Set(ports.map((p) => str(p.name)).filter((n): n is string => n !== undefined));
  for (const n of portNames) {
    if (n.length > 15 || !PORT_NAME.test(n) || !/[a-z]/.test(n))
      problems.push({
        path: `${path}.ports`,
        message: `port name ${JSON.stringify(n)} is not an IANA service name (≤ 15)`,
      });
  }
  const mountPaths = arr(c.volumeMounts).map((m) => str(m.mountPath));
  for (const d of duplicates(mountPaths))
    problems.push({ path: `${path}.volumeMounts`, message: `mountPath ${d} is used twice` });
  const privileged = obj(c.securityContext).privileged === true;
  for (const m of arr(c.volumeMounts)) {
    const name = str(m.name) ?? "";
    if (!volumes.has(name))
      problems.push({
        path: `${path}.volumeMounts`,
        message: `mounts volume "${name}", which the pod does not declare`,
      });
    if (m.mountPropagation === "Bidirectional" && !privileged) {
      problems.push({
        path: `${path}.volumeMounts`,
        message: `Bidirectional propagation of "${name}" needs a privileged container`,
      });
    }
  }
  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
    const p = obj(c[probe]);
    const port = obj(p.httpGet).port ?? obj(p.tcpSocket).port;
    if (typeof port === "string" && !portNames.has(port)) {
      problems.push({
        path: `${path}.${probe}`,
        message: `names port "${port}", which the container does not declare`,
      });
    }
  }
  return problems;
}

function podSpecProblems(pod: JsonObject, path: string): Problem[] {
  const problems: Problem[] = [];
  const volumeNames = arr(pod.volumes).map((v) => str(v.name));
  for (const d of duplicates(volumeNames))
    problems.push({ path: `${path}.volumes`, message: `volume "${d}" is declared twice` });
  for (const n of volumeNames) {
    if (n !== undefined && (n.length > 63 || !DNS_LABEL.test(n)))
      problems.push({ path: `${path}.volumes`, message: `volume name "${n}" is not a DNS-1123 label` });
  }
  const volumes = new Set(volumeNames.filter((n): n is string => n !== undefined));
  const all = containersOf(pod).flatMap(({ list }) => list);
  for (const d of duplicates(all.map((c) => str(c.name))))
    problems.push({ path, message: `container "${d}" is declared twice` });
  for (const { list, field } of containersOf(pod)) {
    list.forEach((c, i) => problems.push(...containerProblems(c, volumes, `${path}.${field}[${i}]`)));
  }
  if (pod.hostNetwork === true) {
    for (const c of all) {
      for (const p of arr(c.ports)) {
        if (p.hostPort !== undefined && p.hostPort !== p.containerPort)
          problems.push({ path, message: "with hostNetwork, hostPort must equal containerPort" });
      }
    }
  }
  return problems;
}

/** The pod template of a workload, with its path. */
export function podTemplate(
  o: JsonObject,
): { labels: JsonObject; spec: JsonObject; path: string } | undefined {
  if (o.kind === "Pod") return { labels: obj(obj(o.metadata).labels), spec: obj(o.spec), path: ".spec" };
  const template = obj(obj(o.spec).template);
  if (!isObject(obj(o.spec).template)) return undefined;
  return {
    labels: obj(obj(template.metadata).labels),
    spec: obj(template.spec),
    path: ".spec.template.spec",
  };
}

function selectorProblems(o: JsonObject): Problem[] {
  if (!["Deployment", "DaemonSet", "StatefulSet", "ReplicaSet"].includes(str(o.kind) ?? "")) return [];
  const tpl = podTemplate(o);
  const match = obj(obj(obj(o.spec).selector).matchLabels);
  if (tpl === undefined) return [];
  return Object.entries(match)
    .filter(([k, v]) => tpl.labels[k] !== v)
    .map(([k]) => ({
      path: ".spec.selector.matchLabels",
      message: `${k} does not match the pod template's labels`,
    }));
}

/** Problems of one object on its own. */
export function objectProblems(o: JsonObject): Problem[] {
  const problems = [...metadataProblems(o), ...selectorProblems(o)];
  const tpl = podTemplate(o);
  if (tpl !== undefined) problems.push(...podSpecProblems(tpl.spec, tpl.path));
  return problems;
}

export interface Located {
  readonly id: string;
  readonly object: JsonObject;
}

function matches(selector: JsonObject, labels: JsonObject): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

function namesOf(objects: readonly Located[], kind: string): Set<string> {
  return new Set(
    objects.filter((l) => l.object.kind === kind).map((l) => str(obj(l.object.metadata).name) ?? ""),
  );
}

function serviceProblems(objects: readonly Located[], svc: Located): Problem[] {
  const selector = obj(obj(svc.object.spec).selector);
  const pods = objects
    .map((l) => podTemplate(l.object))
    .filter((t) => t !== undefined && matches(selector, t.labels));
  if (pods.length === 0) return [{ path: ".spec.selector", message: "selects no rendered pod" }];
  const problems: Problem[] = [];
  for (const port of arr(obj(svc.object.spec).ports)) {
    const target = port.targetPort;
    if (typeof target !== "string") continue;
    const found = pods.some((t) =>
      arr(t?.spec.containers).some((c) => arr(c.ports).some((p) => p.name === target)),
    );
    if (!found)
      problems.push({
        path: ".spec.ports",
        message: `targetPort "${target}" is no container port of the selected pods`,
      });
  }
  return problems;
}

function bindingProblems(objects: readonly Located[], b: Located): Problem[] {
  const problems: Problem[] = [];
  const roleRef = obj(b.object.roleRef);
  const roleKind = str(roleRef.kind) ?? "";
  if (!namesOf(objects, roleKind).has(str(roleRef.name) ?? "")) {
    problems.push({ path: ".roleRef", message: `${roleKind} "${str(roleRef.name) ?? ""}" is not rendered` });
  }
  const accounts = namesOf(objects, "ServiceAccount");
  for (const s of arr(b.object.subjects)) {
    if (s.kind === "ServiceAccount" && !accounts.has(str(s.name) ?? "")) {
      problems.push({ path: ".subjects", message: `ServiceAccount "${str(s.name) ?? ""}" is not rendered` });
    }
  }
  return problems;
}

function podReferenceProblems(objects: readonly Located[], l: Located): Problem[] {
  const tpl = podTemplate(l.object);
  if (tpl === undefined) return [];
  const problems: Problem[] = [];
  const sa = str(tpl.spec.serviceAccountName);
  if (sa !== undefined && !namesOf(objects, "ServiceAccount").has(sa)) {
    problems.push({
      path: `${tpl.path}.serviceAccountName`,
      message: `ServiceAccount "${sa}" is not rendered`,
    });
  }
  const configMaps = new Map(
    objects
      .filter((o) => o.object.kind === "ConfigMap")
      .map((o) => [str(obj(o.object.metadata).name) ?? "", o.object]),
  );
  for (const v of arr(tpl.spec.volumes)) {
    const cm = obj(v.configMap);
    const rendered = configMaps.get(str(cm.name) ?? "");
    if (rendered === undefined) continue;
    const data = obj(rendered.data);
    for (const item of arr(cm.items)) {
      const key = str(item.key) ?? "";
      if (!(key in data))
        problems.push({
          path: `${tpl.path}.volumes`,
          message: `ConfigMap ${str(cm.name) ?? ""} has no key "${key}"`,
        });
    }
  }
  return problems;
}

/** Problems across the rendered objects, keyed by the object's id. */
export function crossProblems(objects: readonly Located[]): Map<string, Problem[]> {
  const result = new Map<string, Problem[]>();
  for (const l of objects) {
    const problems: Problem[] = [];
    if (l.object.kind === "Service") problems.push(...serviceProblems(objects, l));
    if (l.object.kind === "PodDisruptionBudget") {
      const selector = obj(obj(obj(l.object.spec).selector).matchLabels);
      if (!objects.some((o) => matches(selector, podTemplate(o.object)?.labels ?? {}))) {
        problems.push({ path: ".spec.selector", message: "selects no rendered pod" });
      }
    }
    if (l.object.kind === "RoleBinding" || l.object.kind === "ClusterRoleBinding")
      problems.push(...bindingProblems(objects, l));
    problems.push(...podReferenceProblems(objects, l));
    if (problems.length > 0) result.set(l.id, problems);
  }
  return result;
}
