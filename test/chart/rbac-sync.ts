/**
 * The chart's RBAC rules for each sidecar are copied from the sidecar's own
 * deploy/kubernetes/*.yaml at the version the chart pins, between markers:
 *
 *   # BEGIN SIDECAR RBAC github.com/kubernetes-csi/external-attacher/v4@v4.12.0 ClusterRole/external-attacher-runner
 *   - apiGroups: [...]
 *   # END SIDECAR RBAC
 *
 * This compares every marked block with that object's `rules` in the module (fetched by
 * `go mod download`, i.e. from the Go module proxy into the module cache), so a version bump
 * without the matching RBAC, or a hand edit, fails the chart check.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

import { parse, parseAllDocuments } from "yaml";

import { isObject } from "./schema-index.js";

export interface RbacBlock {
  readonly file: string;
  readonly line: number;
  readonly module: string;
  readonly version: string;
  readonly kind: string;
  readonly name: string;
  readonly rules: unknown;
}

const BEGIN = /^\s*# BEGIN SIDECAR RBAC (\S+)@(\S+) (\w+)\/(\S+)\s*$/;
const END = /^\s*# END SIDECAR RBAC\s*$/;

/** The marked blocks of one template file. */
export function rbacBlocks(file: string, text: string): RbacBlock[] {
  const blocks: RbacBlock[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = BEGIN.exec(lines[i] ?? "");
    if (m === null) continue;
    const end = lines.findIndex((l, j) => j > i && END.test(l));
    if (end < 0) throw new Error(`${file}:${i + 1}: BEGIN SIDECAR RBAC without END`);
    const body = lines.slice(i + 1, end).join("\n");
    if (body.includes("{{")) throw new Error(`${file}:${i + 1}: template code inside a SIDECAR RBAC block`);
    const [, module = "", version = "", kind = "", name = ""] = m;
    blocks.push({ file, line: i + 1, module, version, kind, name, rules: parse(body) as unknown });
    i = end;
  }
  return blocks;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const path = join(dir, n);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(n) ? [path] : [];
    });
}

/** Directory of module@version in the module cache, downloading it if needed. */
function moduleDir(module: string, version: string): string {
  const out = execFileSync("go", ["mod", "download", "-json", `${module}@${version}`], { encoding: "utf8" });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (info.Dir === undefined)
    throw new Error(`go mod download ${module}@${version}: ${info.Error ?? "no directory"}`);
  return info.Dir;
}

/** `rules` of kind/name in the module's deploy/kubernetes manifests. */
export function upstreamRules(dir: string, kind: string, name: string): unknown {
  for (const file of yamlFiles(join(dir, "deploy", "kubernetes"))) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      const o: unknown = doc.toJS();
      if (isObject(o) && o.kind === kind && isObject(o.metadata) && o.metadata.name === name) return o.rules;
    }
  }
  return undefined;
}

export interface RbacResult {
  readonly block: RbacBlock;
  readonly problem?: string;
}

/** Compares every marked block under templatesDir with its upstream; one result per block. */
export function checkRbac(templatesDir: string, download = moduleDir): RbacResult[] {
  const results: RbacResult[] = [];
  for (const file of yamlFiles(templatesDir)) {
    for (const block of rbacBlocks(file, readFileSync(file, "utf8"))) {
      const upstream = upstreamRules(download(block.module, block.version), block.kind, block.name);
      let problem: string | undefined;
      if (upstream === undefined)
        problem = `${block.kind}/${block.name} not found in ${block.module}@${block.version}`;
      else if (JSON.stringify(upstream) !== JSON.stringify(block.rules)) {
        problem = `rules differ from ${block.module}@${block.version}:\n  upstream: ${JSON.stringify(upstream)}\n  chart:    ${JSON.stringify(block.rules)}`;
      }
      results.push(problem === undefined ? { block } : { block, problem });
    }
  }
  return results;
}
