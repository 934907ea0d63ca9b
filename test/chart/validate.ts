/**
 * Structural validation of a Kubernetes object against the apiserver's OpenAPI v3 schema, with
 * the rules the apiserver applies on create under `fieldValidation=Strict` (kubectl's default):
 *
 * - an unknown field is an error (the schema has `properties` and no `additionalProperties`),
 *   unless `x-kubernetes-preserve-unknown-fields`;
 * - types as declared, integers within their `format` (int32/int64), `enum`, `required`,
 *   `minimum`/`maximum`, `minLength`/`maxLength`, `pattern`, `minItems`/`maxItems` (CRDs use these);
 * - `oneOf`/`anyOf`/`allOf` (IntOrString and Quantity are `oneOf`), `x-kubernetes-int-or-string`;
 * - `x-kubernetes-list-type: map` (no two items with the same key fields, e.g. two env vars of one
 *   name) and `set` (no duplicates);
 * - null: refused unless `nullable` (the apiserver would drop most nulls; a chart should not
 *   render them at all).
 *
 * Not evaluated: CEL rules (`x-kubernetes-validations`) and `format` checks other than integer
 * ranges. semantic.ts adds the apiserver's own validation that no schema carries.
 */
import type { Json, JsonObject, SchemaIndex } from "./schema-index.js";
import { isObject } from "./schema-index.js";

export interface Problem {
  readonly path: string;
  readonly message: string;
}

interface Ctx {
  readonly components: Readonly<Record<string, JsonObject>>;
  readonly problems: Problem[];
}

const INT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    default:
      return true;
  }
}

function resolve(schema: JsonObject, ctx: Ctx, path: string): JsonObject | undefined {
  const ref = schema.$ref;
  if (typeof ref !== "string") return schema;
  const name = ref.replace(/^#\/components\/schemas\//, "");
  const target = ctx.components[name];
  if (target === undefined) ctx.problems.push({ path, message: `schema error: unresolved $ref ${ref}` });
  return target;
}

/** Validates against each branch in isolation; returns how many branches accepted the value. */
function branches(value: unknown, list: Json[], ctx: Ctx, path: string): { ok: number; first: Problem[] } {
  let ok = 0;
  let first: Problem[] = [];
  list.filter(isObject).forEach((branch, i) => {
    const sub: Ctx = { components: ctx.components, problems: [] };
    validateValue(value, branch, sub, path);
    if (sub.problems.length === 0) ok += 1;
    else if (i === 0) first = sub.problems;
  });
  return { ok, first };
}

function validateCombinators(value: unknown, schema: JsonObject, ctx: Ctx, path: string): void {
  if (Array.isArray(schema.allOf))
    for (const s of schema.allOf.filter(isObject)) validateValue(value, s, ctx, path);
  if (Array.isArray(schema.oneOf)) {
    const { ok, first } = branches(value, schema.oneOf, ctx, path);
    if (ok !== 1) {
      const why =
        ok === 0 ? `matches none of the ${schema.oneOf.length} allowed forms` : "matches more than one form";
      ctx.problems.push({ path, message: `${why}${first[0] ? ` (first: ${first[0].message})` : ""}` });
    }
  }
  if (Array.isArray(schema.anyOf)) {
    const { ok, first } = branches(value, schema.anyOf, ctx, path);
    if (ok === 0)
      ctx.problems.push({ path, message: `matches none of the allowed forms (${first[0]?.message ?? ""})` });
  }
}

function validateScalar(value: unknown, schema: JsonObject, ctx: Ctx, path: string): void {
  const push = (message: string) => ctx.problems.push({ path, message });
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value)) {
    push(`${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (typeof value === "number") {
    const format = typeof schema.format === "string" ? schema.format : "";
    const range = INT_RANGES[format];
    if (range !== undefined && (value < range[0] || value > range[1]))
      push(`${value} is out of ${format} range`);
    if (typeof schema.minimum === "number" && value < schema.minimum)
      push(`${value} is below the minimum ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum)
      push(`${value} is above the maximum ${schema.maximum}`);
  }
  if (typeof value === "string") {
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength)
      push(`longer than ${schema.maxLength}`);
    if (typeof schema.minLength === "number" && value.length < schema.minLength)
      push(`shorter than ${schema.minLength}`);
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) {
      push(`${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
  }
}

function validateObjectFields(value: JsonObject, schema: JsonObject, ctx: Ctx, path: string): void {
  const props = isObject(schema.properties) ? schema.properties : undefined;
  const additional = schema.additionalProperties;
  if (Array.isArray(schema.required)) {
    for (const key of schema.required) {
      if (typeof key === "string" && !(key in value))
        ctx.problems.push({ path, message: `missing required field "${key}"` });
    }
  }
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}.${key}`;
    const declared = props?.[key];
    if (isObject(declared)) validateValue(child, declared, ctx, childPath);
    else if (isObject(additional)) validateValue(child, additional, ctx, childPath);
    else if (props !== undefined && additional !== true && !preserve) {
      ctx.problems.push({ path: childPath, message: "unknown field" });
    } else if (additional === false) ctx.problems.push({ path: childPath, message: "unknown field" });
  }
}

function listKey(item: unknown, keys: readonly string[], itemSchema: JsonObject | undefined): string {
  const props = isObject(itemSchema?.properties) ? itemSchema.properties : {};
  return JSON.stringify(
    keys.map((k) => {
      const v = isObject(item) ? item[k] : undefined;
      const prop = props[k];
      // Defaulted key fields (ContainerPort.protocol) take their default, as the apiserver's do.
      return v ?? (isObject(prop) ? (prop.default ?? null) : null);
    }),
  );
}

function validateArray(value: Json[], schema: JsonObject, ctx: Ctx, path: string): void {
  const items = isObject(schema.items) ? schema.items : undefined;
  value.forEach((item, i) => {
    if (items !== undefined) validateValue(item, items, ctx, `${path}[${i}]`);
  });
  if (typeof schema.minItems === "number" && value.length < schema.minItems) {
    ctx.problems.push({ path, message: `fewer than ${schema.minItems} items` });
  }
  if (typeof schema.maxItems === "number" && value.length > schema.maxItems) {
    ctx.problems.push({ path, message: `more than ${schema.maxItems} items` });
  }
  const listType = schema["x-kubernetes-list-type"];
  const mapKeys = schema["x-kubernetes-list-map-keys"];
  if (listType !== "map" && listType !== "set") return;
  const keyFields = Array.isArray(mapKeys) ? mapKeys.filter((k): k is string => typeof k === "string") : [];
  const itemSchema = items === undefined ? undefined : resolveDeep(items, ctx);
  const seen = new Map<string, number>();
  value.forEach((item, i) => {
    const key = listType === "map" ? listKey(item, keyFields, itemSchema) : JSON.stringify(item);
    const before = seen.get(key);
    if (before !== undefined) {
      const what = listType === "map" ? `same ${keyFields.join("+")} ${key}` : `same value ${key}`;
      ctx.problems.push({ path: `${path}[${i}]`, message: `duplicate of item ${before} (${what})` });
    } else seen.set(key, i);
  });
}

/** Follows `$ref` and single-entry `allOf` wrappers (how the documents reference types). */
function resolveDeep(schema: JsonObject, ctx: Ctx): JsonObject | undefined {
  const sub: Ctx = { components: ctx.components, problems: [] };
  let current = resolve(schema, sub, "");
  for (let i = 0; i < 5 && current !== undefined; i++) {
    const only = Array.isArray(current.allOf) && current.allOf.length === 1 ? current.allOf[0] : undefined;
    if (!isObject(only)) break;
    current = resolve(only, sub, "");
  }
  return current;
}

export function validateValue(value: unknown, schemaIn: JsonObject, ctx: Ctx, path: string): void {
  const schema = resolve(schemaIn, ctx, path);
  if (schema === undefined || value === undefined) return;
  if (value === null) {
    if (schema.nullable !== true)
      ctx.problems.push({ path, message: "null is not allowed (leave the field out)" });
    return;
  }
  validateCombinators(value, schema, ctx, path);
  if (schema["x-kubernetes-int-or-string"] === true) {
    if (!typeMatches("integer", value) && !typeMatches("string", value)) {
      ctx.problems.push({ path, message: `expected an integer or a string, got ${describe(value)}` });
    }
    return;
  }
  if (typeof schema.type === "string" && !typeMatches(schema.type, value)) {
    ctx.problems.push({ path, message: `expected ${schema.type}, got ${describe(value)}` });
    return;
  }
  validateScalar(value, schema, ctx, path);
  if (isObject(value)) validateObjectFields(value, schema, ctx, path);
  else if (Array.isArray(value)) validateArray(value, schema, ctx, path);
}

/**
 * Validates one object: its kind must be known, its body must match the kind's schema, and its
 * metadata ObjectMeta (for custom resources too, whose CRD schema leaves metadata open).
 */
export function validateObject(obj: JsonObject, index: SchemaIndex): Problem[] {
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return [{ path: "", message: "apiVersion and kind are required strings" }];
  }
  const known = index.lookup(apiVersion, kind);
  if (known === undefined) return [{ path: "", message: `no schema for ${apiVersion} ${kind}` }];
  const problems: Problem[] = [];
  const body: JsonObject = { ...obj };
  delete body.metadata;
  validateValue(body, known.schema, { components: known.components, problems }, "");
  const meta = index.objectMeta();
  if (obj.metadata === undefined) problems.push({ path: ".metadata", message: "missing" });
  else validateValue(obj.metadata, meta.schema, { components: meta.components, problems }, ".metadata");
  const namespace = isObject(obj.metadata) ? obj.metadata.namespace : undefined;
  if (known.namespaced && typeof namespace !== "string") {
    problems.push({
      path: ".metadata.namespace",
      message: `${kind} is namespaced: set the namespace explicitly`,
    });
  }
  if (!known.namespaced && namespace !== undefined) {
    problems.push({ path: ".metadata.namespace", message: `${kind} is cluster-scoped: it has no namespace` });
  }
  return problems;
}
