/**
 * The Kubernetes API schemas the chart's rendered objects are checked against, read offline from
 * Go modules in the module cache:
 *
 * - built-in kinds: the OpenAPI v3 documents the apiserver publishes, committed in the
 *   k8s.io/kubernetes module at api/openapi-spec/v3 (one file per group-version, e.g.
 *   apis__apps__v1_openapi.json); each document is self-contained, so `$ref`s resolve within it;
 * - custom resources: the CRD manifests shipped in a module (the snapshot and group snapshot CRDs
 *   are in github.com/kubernetes-csi/external-snapshotter/client/v8 at config/crd).
 *
 * Documents are loaded on first use: a render touches a handful of group-versions.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

import { parseAllDocuments } from "yaml";

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The schema of one kind, and what its `$ref`s resolve against. */
export interface KindSchema {
  /** "group/version/Kind" ("v1/ConfigMap" for the core group). */
  readonly gvk: string;
  readonly schema: JsonObject;
  /** `components.schemas` of the document the schema came from (empty for CRDs). */
  readonly components: Readonly<Record<string, JsonObject>>;
  readonly namespaced: boolean;
  readonly source: string;
}

const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/** `v1` → api__v1_openapi.json, `apps/v1` → apis__apps__v1_openapi.json. */
function documentFile(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return `api__${apiVersion}_openapi.json`;
  return `apis__${apiVersion.slice(0, slash)}__${apiVersion.slice(slash + 1)}_openapi.json`;
}

function gvkKey(group: string, version: string, kind: string): string {
  return group === "" ? `${version}/${kind}` : `${group}/${version}/${kind}`;
}

/** `x-kubernetes-group-version-kind`: a list on schemas, a single object on operations. */
function asGvks(value: Json | undefined): { group: string; version: string; kind: string }[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.filter(isObject).map((g) => ({
    group: typeof g.group === "string" ? g.group : "",
    version: typeof g.version === "string" ? g.version : "",
    kind: typeof g.kind === "string" ? g.kind : "",
  }));
}

/**
 * Which kinds of a document are namespaced: their create (POST) operation sits under
 * `/namespaces/{namespace}/`. The documents carry no other scope marker.
 */
function namespacedKinds(doc: JsonObject): Set<string> {
  const namespaced = new Set<string>();
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item) || !isObject(item.post) || !path.includes("/namespaces/{namespace}/")) continue;
    for (const g of asGvks(item.post["x-kubernetes-group-version-kind"])) {
      namespaced.add(gvkKey(g.group, g.version, g.kind));
    }
  }
  return namespaced;
}

export class SchemaIndex {
  private readonly kinds = new Map<string, KindSchema>();
  private readonly loadedDocs = new Map<string, Readonly<Record<string, JsonObject>>>();

  constructor(
    private readonly openapiDir: string,
    crdDirs: readonly string[] = [],
  ) {
    if (!existsSync(join(openapiDir, documentFile("v1")))) {
      throw new Error(`${openapiDir}: no OpenAPI v3 documents (expected ${documentFile("v1")})`);
    }
    for (const dir of crdDirs) this.addCrds(dir);
  }

  /** The schema of apiVersion + kind, or undefined when the API is unknown. */
  lookup(apiVersion: string, kind: string): KindSchema | undefined {
    const key = `${apiVersion}/${kind}`;
    if (!this.kinds.has(key)) this.loadDocument(apiVersion);
    return this.kinds.get(key);
  }

  /** ObjectMeta from the core document: every object's metadata, custom resources' included. */
  objectMeta(): { schema: JsonObject; components: Readonly<Record<string, JsonObject>> } {
    const components = this.loadDocument("v1");
    const schema = components[OBJECT_META];
    if (schema === undefined) throw new Error(`core document lacks ${OBJECT_META}`);
    return { schema, components };
  }

  private loadDocument(apiVersion: string): Readonly<Record<string, JsonObject>> {
    const cached = this.loadedDocs.get(apiVersion);
    if (cached !== undefined) return cached;
    const file = join(this.openapiDir, documentFile(apiVersion));
    let components: Record<string, JsonObject> = {};
    if (existsSync(file)) {
      const doc: unknown = JSON.parse(readFileSync(file, "utf8"));
      if (!isObject(doc)) throw new Error(`${file}: not a JSON object`);
      const schemas =
        isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
      components = Object.fromEntries(
        Object.entries(schemas).filter((e): e is [string, JsonObject] => isObject(e[1])),
      );
      const namespaced = namespacedKinds(doc);
      for (const schema of Object.values(components)) {
        for (const g of asGvks(schema["x-kubernetes-group-version-kind"])) {
          const gvk = gvkKey(g.group, g.version, g.kind);
          if (gvk === `${apiVersion}/${g.kind}` && !this.kinds.has(gvk)) {
            this.kinds.set(gvk, { gvk, schema, components, namespaced: namespaced.has(gvk), source: file });
          }
        }
      }
    }
    this.loadedDocs.set(apiVersion, components);
    return components;
  }

  private addCrds(dir: string): void {
    for (const name of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(name) || name === "kustomization.yaml") continue;
      const file = join(dir, name);
      for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
        const crd: unknown = doc.toJS();
        if (isObject(crd) && crd.kind === "CustomResourceDefinition") this.addCrd(crd, file);
      }
    }
  }

  private addCrd(crd: JsonObject, source: string): void {
    const spec = isObject(crd.spec) ? crd.spec : {};
    const names = isObject(spec.names) ? spec.names : {};
    if (typeof spec.group !== "string" || typeof names.kind !== "string") return;
    for (const version of Array.isArray(spec.versions) ? spec.versions : []) {
      if (!isObject(version) || version.served !== true || typeof version.name !== "string") continue;
      const schema = isObject(version.schema) ? version.schema.openAPIV3Schema : undefined;
      if (!isObject(schema)) continue;
      const gvk = gvkKey(spec.group, version.name, names.kind);
      this.kinds.set(gvk, { gvk, schema, components: {}, namespaced: spec.scope === "Namespaced", source });
    }
  }
}
