import { describe, expect, it } from "vitest";

import type { JsonObject } from "./schema-index.js";
import type { Located } from "./semantic.js";
import { crossProblems, objectProblems } from "./semantic.js";

function deployment(
  pod: JsonObject,
  labels: JsonObject = { app: "x" },
  selector: JsonObject = { app: "x" },
): JsonObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", namespace: "ns" },
    spec: { selector: { matchLabels: selector }, template: { metadata: { labels }, spec: pod } },
  };
}

const container = (extra: JsonObject = {}): JsonObject => ({ name: "c", image: "i", ...extra });
const messages = (o: JsonObject) =>
  objectProblems(o)
    .map((p) => `${p.path}: ${p.message}`)
    .join("\n");

describe("objectProblems: the apiserver's rules beyond the schema", () => {
  it("accepts a well-formed workload", () => {
    const pod = {
      containers: [
        container({
          ports: [{ name: "http", containerPort: 80 }],
          livenessProbe: { httpGet: { port: "http" } },
          volumeMounts: [{ name: "v", mountPath: "/v" }],
        }),
      ],
      volumes: [{ name: "v", emptyDir: {} }],
    };
    expect(objectProblems(deployment(pod))).toEqual([]);
  });

  it.each([
    [
      "a name that is no DNS subdomain",
      { ...deployment({ containers: [container()] }), metadata: { name: "D_1", namespace: "ns" } },
      "is not a DNS-1123 subdomain",
    ],
    [
      "a Service name that is no DNS-1035 label",
      { apiVersion: "v1", kind: "Service", metadata: { name: "1svc" } },
      "is not a DNS-1035 label",
    ],
    [
      "a label value over 63 characters",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", labels: { a: "x".repeat(64) } } },
      "is not a valid label value",
    ],
    [
      "a bad annotation key",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", annotations: { "Bad_Prefix/x": "1" } } },
      "prefix must be a DNS subdomain",
    ],
    [
      "a selector that misses the template",
      deployment({ containers: [container()] }, { app: "y" }),
      "app does not match the pod template's labels",
    ],
    [
      "a mount of an undeclared volume",
      deployment({ containers: [container({ volumeMounts: [{ name: "nope", mountPath: "/x" }] })] }),
      'mounts volume "nope"',
    ],
    [
      "two mounts at one path",
      deployment({
        containers: [
          container({
            volumeMounts: [
              { name: "v", mountPath: "/x" },
              { name: "w", mountPath: "/x" },
            ],
          }),
        ],
        volumes: [{ name: "v" }, { name: "w" }],
      }),
      "mountPath /x is used twice",
    ],
    [
      "Bidirectional propagation without privilege",
      deployment({
        containers: [
          container({ volumeMounts: [{ name: "v", mountPath: "/x", mountPropagation: "Bidirectional" }] }),
        ],
        volumes: [{ name: "v" }],
      }),
      "needs a privileged container",
    ],
    [
      "a probe naming an undeclared port",
      deployment({ containers: [container({ livenessProbe: { httpGet: { port: "healthz" } } })] }),
      'names port "healthz"',
    ],
    [
      "a port name over 15 characters",
      deployment({ containers: [container({ ports: [{ name: "http-provisioner", containerPort: 1 }] })] }),
      "is not an IANA service name",
    ],
    [
      "two containers of one name",
      deployment({ containers: [container(), container()] }),
      'container "c" is declared twice',
    ],
    [
      "a volume declared twice",
      deployment({ containers: [container()], volumes: [{ name: "v" }, { name: "v" }] }),
      'volume "v" is declared twice',
    ],
    [
      "a hostPort unlike the containerPort under hostNetwork",
      deployment({
        hostNetwork: true,
        containers: [container({ ports: [{ containerPort: 1, hostPort: 2 }] })],
      }),
      "hostPort must equal containerPort",
    ],
  ])("reports %s", (_what, object, expected) => {
    expect(messages(object as JsonObject)).toContain(expected);
  });
});

describe("crossProblems: references between the rendered objects", () => {
  const objects = (...list: JsonObject[]): Located[] => list.map((object, i) => ({ id: String(i), object }));
  const sa = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa", namespace: "ns" } };
  const cm = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cfg", namespace: "ns" },
    data: { "a.yaml": "x: 1" },
  };
  const workload = deployment({
    serviceAccountName: "sa",
    containers: [container({ ports: [{ name: "http", containerPort: 80 }] })],
    volumes: [{ name: "cfg", configMap: { name: "cfg", items: [{ key: "a.yaml", path: "a.yaml" }] } }],
  });

  it("accepts consistent references", () => {
    const svc = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { selector: { app: "x" }, ports: [{ port: 80, targetPort: "http" }] },
    };
    const role = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "r" } };
    const binding = {
      kind: "RoleBinding",
      metadata: { name: "b" },
      roleRef: { kind: "Role", name: "r" },
      subjects: [{ kind: "ServiceAccount", name: "sa" }],
    };
    const pdb = {
      kind: "PodDisruptionBudget",
      metadata: { name: "p" },
      spec: { selector: { matchLabels: { app: "x" } } },
    };
    expect([...crossProblems(objects(sa, cm, workload, svc, role, binding, pdb))]).toEqual([]);
  });

  it.each([
    [
      "a Service target port no pod has",
      {
        kind: "Service",
        metadata: { name: "s" },
        spec: { selector: { app: "x" }, ports: [{ targetPort: "metrics" }] },
      },
      'targetPort "metrics"',
    ],
    [
      "a Service selecting nothing",
      { kind: "Service", metadata: { name: "s" }, spec: { selector: { app: "y" } } },
      "selects no rendered pod",
    ],
    [
      "a PodDisruptionBudget selecting nothing",
      {
        kind: "PodDisruptionBudget",
        metadata: { name: "p" },
        spec: { selector: { matchLabels: { app: "y" } } },
      },
      "selects no rendered pod",
    ],
    [
      "a binding to a role that is not rendered",
      {
        kind: "ClusterRoleBinding",
        metadata: { name: "b" },
        roleRef: { kind: "ClusterRole", name: "gone" },
        subjects: [],
      },
      'ClusterRole "gone" is not rendered',
    ],
    [
      "a binding to an account that is not rendered",
      {
        kind: "RoleBinding",
        metadata: { name: "b" },
        roleRef: { kind: "ServiceAccount", name: "sa" },
        subjects: [{ kind: "ServiceAccount", name: "other" }],
      },
      'ServiceAccount "other" is not rendered',
    ],
  ])("reports %s", (_what, extra, expected) => {
    const found = [...crossProblems(objects(sa, cm, workload, extra as JsonObject)).values()]
      .flat()
      .map((p) => p.message);
    expect(found.join("\n")).toContain(expected);
  });

  it("reports a pod's service account and ConfigMap key that are not rendered", () => {
    const bad = deployment({
      serviceAccountName: "nobody",
      containers: [container()],
      volumes: [{ name: "cfg", configMap: { name: "cfg", items: [{ key: "b.yaml", path: "b.yaml" }] } }],
    });
    const found = [...crossProblems(objects(sa, cm, bad)).values()].flat().map((p) => p.message);
    expect(found).toEqual(['ServiceAccount "nobody" is not rendered', 'ConfigMap cfg has no key "b.yaml"']);
  });
});
