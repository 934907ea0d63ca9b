/**
 * JUnit XML for the chart check. scripts/chart-check.sh records each check as a directory
 * (`<cases>/<NNN>/` with the files `name`, `status` = pass | fail | skip, `time` in seconds and
 * `output`); this turns them into one <testsuite> with a <testcase> per check, the form
 * scripts/count-junit.mjs and CI count.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface CaseRecord {
  readonly name: string;
  readonly status: "pass" | "fail" | "skip";
  readonly seconds: number;
  readonly output: string;
}

function escapeXml(text: string): string {
  // Control characters other than tab/newline are not allowed in XML 1.0 at all.
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "?");
  return clean.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function read(dir: string, file: string): string {
  const path = join(dir, file);
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

export function readCases(dir: string): CaseRecord[] {
  return readdirSync(dir)
    .sort()
    .map((n) => {
      const d = join(dir, n);
      const status = read(d, "status").trim();
      return {
        name: read(d, "name").trim() || n,
        status: status === "pass" || status === "skip" ? status : "fail",
        seconds: Number(read(d, "time").trim()) || 0,
        output: read(d, "output"),
      };
    });
}

export function junitXml(suite: string, cases: readonly CaseRecord[]): string {
  const failures = cases.filter((c) => c.status === "fail").length;
  const skipped = cases.filter((c) => c.status === "skip").length;
  const total = cases.reduce((s, c) => s + c.seconds, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${total.toFixed(3)}">`,
  ];
  for (const c of cases) {
    const head = `    <testcase classname="${escapeXml(suite)}" name="${escapeXml(c.name)}" time="${c.seconds.toFixed(3)}"`;
    const out = c.output === "" ? "" : `\n      <system-out>${escapeXml(c.output)}</system-out>`;
    if (c.status === "pass") lines.push(out === "" ? `${head}/>` : `${head}>${out}\n    </testcase>`);
    else if (c.status === "skip") lines.push(`${head}>\n      <skipped/>${out}\n    </testcase>`);
    else {
      const first = c.output.split("\n").find((l) => l.trim() !== "") ?? "failed";
      lines.push(
        `${head}>\n      <failure message="${escapeXml(first.slice(0, 300))}">${escapeXml(c.output)}</failure>\n    </testcase>`,
      );
    }
  }
  lines.push("  </testsuite>", "</testsuites>", "");
  return lines.join("\n");
}
