/**
 * Command line of the chart check's TypeScript parts (run with tsx from scripts/chart-check.sh):
 *
 *   validate --openapi <dir> [--crds <dir>]... <rendered.yaml>...   Kubernetes schemas + wiring
 *   rbac <templates dir>                                            sidecar RBAC vs upstream
 *   junit <cases dir> <out.xml> <suite name>                        JUnit report
 *   image <Dockerfile> <context> <work dir> <stage>... <app dir>    Dockerfile stages, no engine
 *
 * Exit status 1 when a check finds problems, 2 on a usage error.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { checkRender, formatReport, problemCount } from "./check-render.js";
import { runStages, smokeTest } from "./dockerfile.js";
import { junitXml, readCases } from "./junit.js";
import { checkRbac } from "./rbac-sync.js";
import { SchemaIndex } from "./schema-index.js";

async function validate(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { openapi: { type: "string" }, crds: { type: "string", multiple: true } },
    allowPositionals: true,
  });
  if (values.openapi === undefined || positionals.length === 0) {
    console.error("usage: validate --openapi <dir> [--crds <dir>]... <file>...");
    return 2;
  }
  const index = new SchemaIndex(values.openapi, values.crds ?? []);
  let failed = 0;
  for (const file of positionals) {
    const report = await checkRender(readFileSync(file, "utf8"), index);
    const count = problemCount(report);
    console.log(
      `${file}: ${report.objects.length} objects, ${count === 0 ? "no problems" : `${count} problem(s)`}`,
    );
    if (count > 0) {
      console.log(formatReport(report));
      failed += 1;
    }
  }
  return failed === 0 ? 0 : 1;
}

function rbac(args: string[]): number {
  const [dir] = args;
  if (dir === undefined) {
    console.error("usage: rbac <templates dir>");
    return 2;
  }
  const results = checkRbac(dir);
  for (const r of results) {
    const where = `${r.block.file}:${r.block.line} ${r.block.kind}/${r.block.name} = ${r.block.module}@${r.block.version}`;
    console.log(r.problem === undefined ? `ok   ${where}` : `FAIL ${where}\n  ${r.problem}`);
  }
  if (results.length === 0) console.log(`no SIDECAR RBAC blocks under ${dir}`);
  return results.length > 0 && results.every((r) => r.problem === undefined) ? 0 : 1;
}

function junit(args: string[]): number {
  const [dir, out, suite] = args;
  if (dir === undefined || out === undefined || suite === undefined) {
    console.error("usage: junit <cases dir> <out.xml> <suite name>");
    return 2;
  }
  const cases = readCases(dir);
  writeFileSync(out, junitXml(suite, cases));
  return 0;
}

/** Runs the stages, then starts the application from <app dir> inside the last stage's root. */
async function image(args: string[]): Promise<number> {
  const [dockerfile, context, work, ...rest] = args;
  const appDir = rest.pop();
  if (
    dockerfile === undefined ||
    context === undefined ||
    work === undefined ||
    appDir === undefined ||
    rest.length === 0
  ) {
    console.error("usage: image <Dockerfile> <context> <work dir> <stage>... <app dir>");
    return 2;
  }
  const stages = runStages(readFileSync(dockerfile, "utf8"), context, rest, work, (l) => {
    console.log(l);
  });
  const last = stages.get(rest.at(-1) ?? "");
  if (last === undefined) return 1;
  console.log(await smokeTest(join(last.root, appDir)));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command = "", ...rest] = argv;
  switch (command) {
    case "validate":
      return validate(rest);
    case "rbac":
      return rbac(rest);
    case "junit":
      return junit(rest);
    case "image":
      return image(rest);
    default:
      console.error("usage: cli.ts validate|rbac|junit|image ...");
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
