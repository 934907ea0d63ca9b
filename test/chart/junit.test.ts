import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { junitXml, readCases } from "./junit.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vsp-junit-test-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeCase(n: string, files: Record<string, string>): void {
  mkdirSync(join(dir, n));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, n, name), text);
}

describe("chart check JUnit report", () => {
  it("reads the recorded checks in order, a missing or odd status counting as a failure", () => {
    writeCase("002", { name: "b\n", status: "fail\n", time: "0.5\n", output: "boom\n" });
    writeCase("001", { name: "a\n", status: "pass\n", time: "1.25\n", output: "" });
    writeCase("003", { name: "c\n", status: "maybe\n" });
    expect(readCases(dir)).toEqual([
      { name: "a", status: "pass", seconds: 1.25, output: "" },
      { name: "b", status: "fail", seconds: 0.5, output: "boom\n" },
      { name: "c", status: "fail", seconds: 0, output: "" },
    ]);
  });

  it("writes one testcase per check with counts, failures and escaped output", () => {
    const xml = junitXml("chart", [
      { name: "lint <defaults>", status: "pass", seconds: 1, output: "" },
      {
        name: "refuses",
        status: "fail",
        seconds: 0.25,
        output: "\nat '/arrays': minItems & \"more\"\u0007\n",
      },
      { name: "later", status: "skip", seconds: 0, output: "" },
    ]);
    expect(xml).toContain(
      '<testsuite name="chart" tests="3" failures="1" errors="0" skipped="1" time="1.250">',
    );
    expect(xml).toContain('<testcase classname="chart" name="lint &lt;defaults&gt;" time="1.000"/>');
    expect(xml).toContain(`<failure message="at '/arrays': minItems &amp; &quot;more&quot;?">`);
    expect(xml).toContain("<skipped/>");
    expect(xml.match(/<testcase /g)).toHaveLength(3);
  });
});
