import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { dockerignore, parseDockerfile, runStages } from "./dockerfile.js";

describe("parseDockerfile", () => {
  it("splits stages, joins continuation lines and drops comments inside them", () => {
    const stages = parseDockerfile(`# syntax=docker/dockerfile:1
ARG BASE=node:20
FROM \${BASE} AS build
WORKDIR /src
RUN apt-get update \\
    # a comment inside the continuation
    && apt-get install -y tini
FROM build
COPY --from=build /src/a ./a
`);
    expect(stages.map((s) => [s.name, s.from])).toEqual([
      ["build", "${BASE}"],
      ["1", "build"],
    ]);
    expect(stages[0]?.instructions.map((i) => `${i.op} ${i.args}`)).toEqual([
      "WORKDIR /src",
      "RUN apt-get update && apt-get install -y tini",
    ]);
    expect(stages[0]?.instructions[1]?.line).toBe(5);
  });
});

describe("dockerignore", () => {
  const ignore = dockerignore(`# only what the build needs
*
!package.json
!src/
src/**/*.test.ts
src/**/test-support/
`);
  it.each([
    ["package.json", false],
    ["README.md", true],
    ["node_modules/x/index.js", true],
    ["src/cli.ts", false],
    ["src/config/load.ts", false],
    ["src/config/load.test.ts", true],
    ["src/simulator/test-support/harness.ts", true],
    ["srcx/a.ts", true],
  ])("%s excluded: %s", (path, excluded) => {
    expect(ignore(path)).toBe(excluded);
  });
});

describe("runStages", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vsp-dockerfile-test-"));
    mkdirSync(join(dir, "ctx", "src", "lib"), { recursive: true });
    writeFileSync(join(dir, "ctx", "package.json"), "{}");
    writeFileSync(join(dir, "ctx", "src", "a.ts"), "a");
    writeFileSync(join(dir, "ctx", "src", "a.test.ts"), "test");
    writeFileSync(join(dir, "ctx", "src", "lib", "b.ts"), "b");
    writeFileSync(join(dir, "ctx", "secret.txt"), "no");
    writeFileSync(join(dir, "ctx", ".dockerignore"), "*\n!package.json\n!src/\nsrc/**/*.test.ts\n");
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (dockerfile: string, stages: string[]) =>
    runStages(dockerfile, join(dir, "ctx"), stages, join(dir, "work"), () => undefined);

  it("copies the context as docker would, runs RUN in WORKDIR with ENV, and copies between stages", () => {
    const result = run(
      `FROM node AS build
WORKDIR /src
ENV GREETING=hello
COPY package.json ./
COPY src ./src
RUN echo "$GREETING" > out.txt && ls src > listing.txt
FROM node AS app
WORKDIR /app
COPY --from=build /src/out.txt ./out.txt
COPY --from=build /src/src ./src
`,
      ["build", "app"],
    );
    const build = join(dir, "work", "build", "src");
    expect(readFileSync(join(build, "listing.txt"), "utf8")).toBe("a.ts\nlib\n");
    const app = join(dir, "work", "app", "app");
    expect(readFileSync(join(app, "out.txt"), "utf8")).toBe("hello\n");
    expect(existsSync(join(app, "src", "lib", "b.ts"))).toBe(true);
    expect(existsSync(join(app, "src", "a.test.ts"))).toBe(false);
    expect(result.get("app")?.workdir).toBe("/app");
  });

  it.each([
    [
      "a file .dockerignore excludes",
      "FROM node AS build\nCOPY secret.txt ./\n",
      "COPY secret.txt: not in the build context",
    ],
    [
      "a file that does not exist",
      "FROM node AS build\nCOPY missing.txt ./\n",
      "COPY missing.txt: not in the build context",
    ],
    [
      "a path the earlier stage lacks",
      "FROM node AS build\nFROM node AS app\nCOPY --from=build /nope ./nope\n",
      "COPY --from=build /nope: not in that stage",
    ],
    ["a failing RUN", "FROM node AS build\nRUN exit 3\n", "Command failed"],
  ])("fails on %s", (_what, dockerfile, expected) => {
    const stages = dockerfile.includes("AS app") ? ["build", "app"] : ["build"];
    expect(() => run(dockerfile, stages)).toThrow(expected);
  });
});
