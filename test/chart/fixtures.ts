/**
 * A miniature of the Kubernetes OpenAPI v3 documents and of a CRD, shaped like the real ones
 * (components.schemas with x-kubernetes-group-version-kind, `allOf: [$ref]` wrappers, scope only in
 * the paths), for the validator's tests: the real documents live in the Go module cache, which
 * `npm test` must not depend on.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ref = (name: string) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }], default: {} });

const schemas = {
  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
    type: "object",
    properties: {
      name: { type: "string" },
      namespace: { type: "string" },
      labels: { type: "object", additionalProperties: { type: "string", default: "" } },
      annotations: { type: "object", additionalProperties: { type: "string", default: "" } },
    },
  },
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
    format: "int-or-string",
    oneOf: [{ type: "integer" }, { type: "string" }],
  },
  "io.k8s.apimachinery.pkg.api.resource.Quantity": { oneOf: [{ type: "string" }, { type: "number" }] },
  "io.k8s.api.core.v1.ContainerPort": {
    type: "object",
    required: ["containerPort"],
    properties: {
      name: { type: "string" },
      containerPort: { type: "integer", format: "int32" },
      protocol: { type: "string", default: "TCP" },
    },
  },
  "io.k8s.api.core.v1.Container": {
    type: "object",
    required: ["name"],
    properties: {
      name: { type: "string", default: "" },
      image: { type: "string" },
      ports: {
        type: "array",
        items: ref("io.k8s.api.core.v1.ContainerPort"),
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
      },
      args: { type: "array", items: { type: "string", default: "" }, "x-kubernetes-list-type": "atomic" },
      probePort: ref("io.k8s.apimachinery.pkg.util.intstr.IntOrString"),
      memory: ref("io.k8s.apimachinery.pkg.api.resource.Quantity"),
      privileged: { type: "boolean" },
    },
  },
  "io.k8s.api.core.v1.PodSpec": {
    type: "object",
    required: ["containers"],
    properties: {
      containers: {
        type: "array",
        items: ref("io.k8s.api.core.v1.Container"),
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
      },
      nodeSelector: {
        type: "object",
        additionalProperties: { type: "string" },
        "x-kubernetes-map-type": "atomic",
      },
      finalizers: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "set" },
    },
  },
  "io.k8s.api.core.v1.Pod": {
    type: "object",
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
      spec: ref("io.k8s.api.core.v1.PodSpec"),
    },
    "x-kubernetes-group-version-kind": [{ group: "", kind: "Pod", version: "v1" }],
  },
  "io.k8s.api.core.v1.Node": {
    type: "object",
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
      spec: { type: "object", properties: { unschedulable: { type: "boolean" } } },
    },
    "x-kubernetes-group-version-kind": [{ group: "", kind: "Node", version: "v1" }],
  },
};

const coreDocument = {
  openapi: "3.0.0",
  paths: {
    "/api/v1/namespaces/{namespace}/pods": {
      post: {
        "x-kubernetes-action": "post",
        "x-kubernetes-group-version-kind": { group: "", kind: "Pod", version: "v1" },
      },
    },
    "/api/v1/nodes": {
      post: {
        "x-kubernetes-action": "post",
        "x-kubernetes-group-version-kind": { group: "", kind: "Node", version: "v1" },
      },
    },
  },
  components: { schemas },
};

const widgetCrd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: { kind: Widget, plural: widgets }
  scope: Cluster
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [driver, deletionPolicy]
          properties:
            apiVersion: { type: string }
            kind: { type: string }
            metadata: { type: object }
            driver: { type: string, maxLength: 20, pattern: "^[a-z.]+$" }
            deletionPolicy: { type: string, enum: [Delete, Retain] }
            size: { x-kubernetes-int-or-string: true }
            parameters: { type: object, additionalProperties: { type: string } }
            extra: { type: object, x-kubernetes-preserve-unknown-fields: true, properties: { known: { type: integer } } }
    - name: v0
      served: false
      storage: false
      schema: { openAPIV3Schema: { type: object } }
`;

/** Writes the miniature documents; returns the OpenAPI and CRD directories. */
export function writeFixtures(): { root: string; openapi: string; crds: string } {
  const root = mkdtempSync(join(tmpdir(), "vsp-chart-test-"));
  const openapi = join(root, "openapi");
  const crds = join(root, "crds");
  mkdirSync(openapi);
  mkdirSync(crds);
  writeFileSync(join(openapi, "api__v1_openapi.json"), JSON.stringify(coreDocument));
  writeFileSync(join(crds, "example.com_widgets.yaml"), widgetCrd);
  writeFileSync(join(crds, "kustomization.yaml"), "resources: [example.com_widgets.yaml]\n");
  return { root, openapi, crds };
}
