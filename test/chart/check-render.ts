/**
 * Checks one rendered manifest stream (the output of `helm template`): YAML that parses without
 * duplicate keys, every object valid against its Kubernetes schema (validate.ts), the apiserver's
 * semantic rules (semantic.ts), consistency across the objects, and the driver's configuration
 * and wiring (wiring.ts). Object names must be unique per kind and namespace.
 */
import { parseAllDocuments } from "yaml";

import type { JsonObject, SchemaIndex } from "./schema-index.js";
import { isObject } from "./schema-index.js";
import type { Located } from "./semantic.js";
import { crossProblems, objectProblems } from "./semantic.js";
import type { Problem } from "./validate.js";
import { validateObject } from "./validate.js";
import { wiringProblems } from "./wiring.js";

export interface ObjectReport {
  readonly id: string;
  readonly problems: readonly Problem[];
}

export interface RenderReport {
  readonly objects: readonly ObjectReport[];
  /** Problems of the stream itself (YAML errors, duplicates, cross-object). */
  readonly stream: readonly Problem[];
}

function objectId(o: JsonObject): string {
  const meta = isObject(o.metadata) ? o.metadata : {};
  const ns = typeof meta.namespace === "string" ? `${meta.namespace}/` : "";
  const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  return `${text(o.kind)} ${ns}${text(meta.name)}`;
}

/** The objects of a YAML stream; empty documents (helm leaves some) are skipped. */
export function parseStream(text: string): { objects: Located[]; problems: Problem[] } {
  const objects: Located[] = [];
  const problems: Problem[] = [];
  parseAllDocuments(text, { uniqueKeys: true }).forEach((doc, i) => {
    for (const e of [...doc.errors, ...doc.warnings])
      problems.push({ path: `document ${i + 1}`, message: e.message });
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isObject(value)) problems.push({ path: `document ${i + 1}`, message: "not a mapping" });
    else objects.push({ id: objectId(value), object: value });
  });
  return { objects, problems };
}

export async function checkRender(text: string, index: SchemaIndex): Promise<RenderReport> {
  const { objects, problems: stream } = parseStream(text);
  const seen = new Set<string>();
  for (const { id } of objects) {
    if (seen.has(id)) stream.push({ path: id, message: "rendered twice" });
    seen.add(id);
  }
  const cross = crossProblems(objects);
  const wiring = await wiringProblems(objects);
  stream.push(...(wiring.get("") ?? []));
  const reports = objects.map(({ id, object }) => ({
    id,
    problems: [
      ...validateObject(object, index),
      ...objectProblems(object),
      ...(cross.get(id) ?? []),
      ...(wiring.get(id) ?? []),
    ],
  }));
  return { objects: reports, stream };
}

export function formatReport(report: RenderReport): string {
  const lines: string[] = [];
  for (const p of report.stream) lines.push(`  ${p.path}: ${p.message}`);
  for (const o of report.objects) {
    for (const p of o.problems) lines.push(`  ${o.id} ${p.path}: ${p.message}`);
  }
  return lines.join("\n");
}

export function problemCount(report: RenderReport): number {
  return report.stream.length + report.objects.reduce((n, o) => n + o.problems.length, 0);
}
