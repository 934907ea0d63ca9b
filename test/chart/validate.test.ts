import { rmSync } from "node:fs";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { writeFixtures } from "./fixtures.js";
import type { JsonObject } from "./schema-index.js";
import { SchemaIndex } from "./schema-index.js";
import { validateObject } from "./validate.js";

let fixtures: ReturnType<typeof writeFixtures>;
let index: SchemaIndex;

beforeAll(() => {
  fixtures = writeFixtures();
  index = new SchemaIndex(fixtures.openapi, [fixtures.crds]);
});
afterAll(() => {
  rmSync(fixtures.root, { recursive: true, force: true });
});

function pod(spec: JsonObject, metadata: JsonObject = { name: "p", namespace: "ns" }): JsonObject {
  return { apiVersion: "v1", kind: "Pod", metadata, spec };
}

function widget(body: JsonObject): JsonObject {
  return {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: { name: "w" },
    driver: "csi.x",
    deletionPolicy: "Delete",
    ...body,
  };
}

const messages = (o: JsonObject) => validateObject(o, index).map((p) => `${p.path}: ${p.message}`);

describe("validateObject against OpenAPI v3 documents", () => {
  it("accepts a valid namespaced object and a valid custom resource", () => {
    const ok = pod({
      containers: [
        {
          name: "a",
          ports: [{ containerPort: 80 }, { containerPort: 80, protocol: "UDP" }],
          probePort: "http",
          memory: "64Mi",
        },
        { name: "b", probePort: 8080, memory: 1 },
      ],
      nodeSelector: { "kubernetes.io/os": "linux" },
    });
    expect(messages(ok)).toEqual([]);
    expect(
      messages(widget({ size: "10Gi", parameters: { a: "1" }, extra: { known: 1, anything: [1] } })),
    ).toEqual([]);
  });

  it.each([
    [
      "an unknown field",
      pod({ containers: [{ name: "a", imagePullPolicyy: "Always" }] }),
      ".spec.containers[0].imagePullPolicyy: unknown field",
    ],
    [
      "a wrong type",
      pod({ containers: [{ name: "a", privileged: "true" }] }),
      ".spec.containers[0].privileged: expected boolean, got string",
    ],
    [
      "a missing required field",
      pod({ containers: [{ image: "x" }] }),
      '.spec.containers[0]: missing required field "name"',
    ],
    [
      "an int32 overflow",
      pod({ containers: [{ name: "a", ports: [{ containerPort: 2 ** 31 }] }] }),
      "out of int32 range",
    ],
    [
      "a float for an integer",
      pod({ containers: [{ name: "a", ports: [{ containerPort: 80.5 }] }] }),
      "expected integer, got number",
    ],
    [
      "two containers of one name (list-map key)",
      pod({ containers: [{ name: "a" }, { name: "a" }] }),
      ".spec.containers[1]: duplicate of item 0",
    ],
    [
      "two ports whose defaulted key fields collide",
      pod({
        containers: [{ name: "a", ports: [{ containerPort: 80 }, { containerPort: 80, protocol: "TCP" }] }],
      }),
      ".spec.containers[0].ports[1]: duplicate of item 0",
    ],
    [
      "a duplicate in a set",
      pod({ containers: [{ name: "a" }], finalizers: ["x", "x"] }),
      ".spec.finalizers[1]: duplicate of item 0",
    ],
    [
      "a null",
      pod({ containers: [{ name: "a", image: null }] }),
      ".spec.containers[0].image: null is not allowed",
    ],
    [
      "a boolean for IntOrString",
      pod({ containers: [{ name: "a", probePort: true }] }),
      "matches none of the 2 allowed forms",
    ],
    [
      "an object for a Quantity",
      pod({ containers: [{ name: "a", memory: {} }] }),
      "matches none of the 2 allowed forms",
    ],
    [
      "a non-string label value",
      pod({ containers: [{ name: "a" }] }, { name: "p", namespace: "ns", labels: { a: 1 } }),
      ".metadata.labels.a: expected string",
    ],
    [
      "a namespaced kind without namespace",
      pod({ containers: [{ name: "a" }] }, { name: "p" }),
      "Pod is namespaced",
    ],
    [
      "a cluster-scoped kind with a namespace",
      { apiVersion: "v1", kind: "Node", metadata: { name: "n", namespace: "ns" } },
      "Node is cluster-scoped",
    ],
    [
      "an unknown kind",
      { apiVersion: "v1", kind: "Gadget", metadata: { name: "g" } },
      "no schema for v1 Gadget",
    ],
    [
      "an unserved CRD version",
      { apiVersion: "example.com/v0", kind: "Widget", metadata: { name: "w" } },
      "no schema for example.com/v0 Widget",
    ],
    [
      "a CRD enum",
      widget({ deletionPolicy: "Keep" }),
      '.deletionPolicy: "Keep" is not one of "Delete", "Retain"',
    ],
    ["a CRD pattern", widget({ driver: "CSI" }), '.driver: "CSI" does not match'],
    ["a CRD maxLength", widget({ driver: "a".repeat(21) }), ".driver: longer than 20"],
    [
      "a CRD required field",
      { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, driver: "x" },
      'missing required field "deletionPolicy"',
    ],
    ["a CRD int-or-string", widget({ size: 1.5 }), ".size: expected an integer or a string, got number"],
    [
      "a CR's metadata against ObjectMeta",
      widget({ metadata: { name: "w", labelz: {} } }),
      ".metadata.labelz: unknown field",
    ],
    [
      "a wrong type for a map value",
      widget({ parameters: { a: 1 } }),
      ".parameters.a: expected string, got integer",
    ],
  ])("reports %s", (_what, object, expected) => {
    expect(messages(object).join("\n")).toContain(expected);
  });

  it("refuses a directory without the OpenAPI documents", () => {
    expect(() => new SchemaIndex(fixtures.crds)).toThrow(/no OpenAPI v3 documents/);
  });
});
