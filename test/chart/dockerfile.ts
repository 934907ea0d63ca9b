/**
 * Runs stages of the Dockerfile without a container engine (there is none on the CI machine), to
 * check what `docker build` would do with the project's own files: each stage gets a directory
 * standing for its root file system, and its instructions are carried out there —
 *
 * - FROM <earlier stage>: start from a copy of that stage's directory (an image: start empty —
 *   the base image's own files are not reproduced, its tools are the host's);
 * - WORKDIR, ENV: as docker does;
 * - COPY from the build context honours .dockerignore (the same pattern rules as docker: the last
 *   matching pattern wins, `!` re-includes, a match on a directory covers what is inside);
 *   COPY --from=<stage> copies from that stage's directory;
 * - RUN runs with bash in the stage's working directory.
 *
 * Only stages whose RUN commands work on the host belong here (the build: npm and tsc); the
 * node stage's apt-get needs the real image. What this cannot show: the base image's packages,
 * file ownership and the image's size.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";

export interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** Stages with their instructions; continuation lines joined, comments and parser directives dropped. */
export function parseDockerfile(text: string): Stage[] {
  const stages: { name: string; from: string; instructions: Instruction[] }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? "";
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      i += 1;
      const next = lines[i] ?? "";
      if (!/^\s*#/.test(next)) line = `${line.slice(0, -1).trimEnd()} ${next.trim()}`;
    }
    const m = /^\s*(\w+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const op = (m[1] ?? "").toUpperCase();
    const args = (m[2] ?? "").trim();
    if (op === "FROM") {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ name: from?.[2] ?? String(stages.length), from: from?.[1] ?? args, instructions: [] });
    } else stages.at(-1)?.instructions.push({ op, args, line: start + 1 });
  }
  return stages;
}

/** A .dockerignore pattern as a regular expression over slash-separated relative paths. */
function patternRegExp(pattern: string): RegExp {
  const clean = posix.normalize(pattern.replace(/^\/+/, "")).replace(/\/+$/, "");
  let re = "";
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i] ?? "";
    if (c === "*" && clean[i + 1] === "*") {
      re += clean[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += clean[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export type Ignore = (path: string) => boolean;

/** Whether a context path is excluded: the last pattern matching it or one of its parents wins. */
export function dockerignore(text: string): Ignore {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => ({ negate: l.startsWith("!"), re: patternRegExp(l.replace(/^!/, "")) }));
  return (path) => {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) excluded = !rule.negate;
    return excluded;
  };
}

/** Files of the build context under `rel` ("" for all), as docker would send them. */
function contextFiles(context: string, rel: string, ignore: Ignore): string[] {
  const abs = join(context, rel);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return ignore(rel) ? [] : [rel];
  return readdirSync(abs)
    .sort()
    .flatMap((n) => {
      const child = rel === "" ? n : `${rel}/${n}`;
      // Do not descend into excluded trees like node_modules unless a `!` rule reaches inside.
      if (
        n === ".git" ||
        (ignore(child) && ignore(`${child}/x`) && statSync(join(context, child)).isDirectory())
      )
        return [];
      return contextFiles(context, child, ignore);
    });
}

interface StageState {
  root: string;
  workdir: string;
  env: Record<string, string>;
}

function copyFromContext(
  state: StageState,
  sources: string[],
  dest: string,
  context: string,
  ignore: Ignore,
): void {
  for (const src of sources) {
    const rel = posix
      .normalize(src)
      .replace(/^\.\/?/, "")
      .replace(/\/$/, "");
    const files = contextFiles(context, rel, ignore);
    if (files.length === 0)
      throw new Error(`COPY ${src}: not in the build context (missing or excluded by .dockerignore)`);
    const isDir = statSync(join(context, rel)).isDirectory();
    for (const f of files) {
      const within = isDir ? f.slice(rel.length + 1) : posix.basename(f);
      const target = sources.length > 1 || dest.endsWith("/") || isDir ? join(dest, within) : dest;
      mkdirSync(join(target, ".."), { recursive: true });
      cpSync(join(context, f), target);
    }
  }
}

function copy(
  state: StageState,
  args: string,
  stages: ReadonlyMap<string, StageState>,
  context: string,
  ignore: Ignore,
): void {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
  const paths = words.filter((w) => !w.startsWith("--"));
  const destArg = paths.pop() ?? ".";
  const dest = join(state.root, posix.isAbsolute(destArg) ? destArg : posix.join(state.workdir, destArg));
  if (from === undefined) {
    copyFromContext(state, paths, dest, context, ignore);
    return;
  }
  const source = stages.get(from);
  if (source === undefined) throw new Error(`COPY --from=${from}: no such stage`);
  for (const p of paths) {
    const abs = join(source.root, p);
    if (!existsSync(abs)) throw new Error(`COPY --from=${from} ${p}: not in that stage`);
    cpSync(abs, dest, { recursive: true });
  }
}

/**
 * Carries out `names` (in order) of the Dockerfile's stages under `work`; returns each stage's
 * root directory. `log` receives one line per instruction.
 */
export function runStages(
  dockerfile: string,
  context: string,
  names: readonly string[],
  work: string,
  log: (line: string) => void,
): Map<string, StageState> {
  const all = parseDockerfile(dockerfile);
  const ignorePath = join(context, ".dockerignore");
  const ignore = existsSync(ignorePath) ? dockerignore(readFileSync(ignorePath, "utf8")) : () => false;
  const done = new Map<string, StageState>();
  for (const name of names) {
    const stage = all.find((s) => s.name === name);
    if (stage === undefined) throw new Error(`no stage ${name} in the Dockerfile`);
    const root = join(work, name);
    const base = done.get(stage.from);
    if (base !== undefined) cpSync(base.root, root, { recursive: true });
    else mkdirSync(root, { recursive: true });
    const state: StageState = { root, workdir: base?.workdir ?? "/", env: { ...base?.env } };
    log(`FROM ${stage.from} AS ${name}`);
    for (const ins of stage.instructions) {
      log(`  ${ins.op} ${ins.args}`);
      if (ins.op === "WORKDIR") {
        state.workdir = posix.resolve(state.workdir, ins.args);
        mkdirSync(join(root, state.workdir), { recursive: true });
      } else if (ins.op === "ENV") {
        for (const m of ins.args.matchAll(/(\w+)=("[^"]*"|\S+)/g))
          state.env[m[1] ?? ""] = (m[2] ?? "").replace(/^"|"$/g, "");
      } else if (ins.op === "COPY") copy(state, ins.args, done, context, ignore);
      else if (ins.op === "RUN") {
        execFileSync("bash", ["-c", ins.args], {
          cwd: join(root, state.workdir),
          stdio: "inherit",
          env: { ...process.env, ...state.env },
        });
      }
    }
    done.set(name, state);
  }
  return done;
}

/**
 * Starts the image's command the way the container would, from the application directory alone
 * (production dependencies only): `--help`, then `all --embedded-simulator` until its CSI socket
 * appears. Returns what happened; throws when the application does not come up.
 */
export async function smokeTest(appDir: string, timeoutMs = 30_000): Promise<string> {
  const cli = join(appDir, "dist", "cli.js");
  // A container starts with the image's environment, not the CI's: no VSP_CSI_* settings leak in.
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VSP_CSI_"))),
    NODE_ENV: "production",
  };
  const help = execFileSync("node", [cli, "--help"], { encoding: "utf8", env });
  if (!help.includes("Usage: vsp-csi")) throw new Error(`--help printed:\n${help}`);
  const cwd = mkdtempSync(join(tmpdir(), "vsp-image-smoke-"));
  const child = spawn("node", [cli, "all", "--embedded-simulator", "--log-level", "warn"], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const socket = join(cwd, ".vsp-sim", "csi.sock");
  try {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(socket)) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output}`);
      // The CLI's error lines start "vsp-csi: " (its banner is "vsp-csi all: ...").
      if (/^vsp-csi: /m.test(output)) throw new Error(`failed to start:\n${output}`);
      if (Date.now() > deadline) throw new Error(`no CSI socket after ${timeoutMs} ms:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return `--help ok; "all --embedded-simulator" listening on ${socket}`;
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r).once("error", r));
    rmSync(cwd, { recursive: true, force: true });
  }
}
