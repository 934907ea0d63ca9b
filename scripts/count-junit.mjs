#!/usr/bin/env node
// Sums tests, failures, errors and skips over JUnit XML reports and prints "N passed, N failed".
// Used by .ci/run, which prints the line last; exits 1 when any test failed or nothing ran.
import { readFileSync } from "node:fs";

let total = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  const xml = readFileSync(file, "utf8");
  // Count <testcase> elements rather than trusting suite attributes: every runner writes those.
  const cases = xml.match(/<testcase\b[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g) ?? [];
  for (const c of cases) {
    total += 1;
    if (/<(failure|error)\b/.test(c)) failed += 1;
    else if (/<skipped\b/.test(c)) skipped += 1;
  }
}
const passed = total - failed - skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || total === 0 ? 1 : 0);
