/**
 * The cluster's processes: each started with its output in a log file of its own, and stopped by
 * pid in the reverse order of their start (clients before the servers they talk to), SIGTERM
 * first and SIGKILL after a grace period, so nothing the harness started outlives it.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface StartOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Seconds to wait after SIGTERM before SIGKILL (default 10). */
  graceSeconds?: number;
  /**
   * Start it again when it exits on its own, as kubelet does for a pod's containers: the sidecars
   * exit when their connection to the driver drops (a crashed controller), then reconnect.
   */
  restart?: boolean;
}

/** Restarts of one process at most (a crash loop ends instead of spinning). */
const MAX_RESTARTS = 50;

interface Entry {
  name: string;
  command: string;
  args: readonly string[];
  options: StartOptions;
  log: string;
  child: ChildProcess;
  /** Resolves once the current child exited or could not be started. */
  done: Promise<unknown>;
  isDone: boolean;
  stopping: boolean;
  restarts: number;
}

export class Processes {
  private readonly started: Entry[] = [];

  constructor(private readonly logDir: string) {}

  start(name: string, command: string, args: readonly string[], options: StartOptions = {}): void {
    const entry = {
      name,
      command,
      args,
      options,
      log: join(this.logDir, `${name}.log`),
      stopping: false,
      restarts: 0,
    };
    this.started.push(this.spawn(entry));
  }

  private spawn(entry: Omit<Entry, "child" | "done" | "isDone">): Entry {
    const out = createWriteStream(entry.log, { flags: "a" });
    const child = spawn(entry.command, entry.args, {
      cwd: entry.options.cwd,
      env: { ...process.env, ...entry.options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    let finish: (value?: unknown) => void = () => undefined;
    const done = new Promise<unknown>((resolve) => {
      finish = resolve;
    });
    const running = Object.assign(entry, { child, done, isDone: false }) as Entry;
    const end = (line: string) => {
      if (running.isDone) return;
      running.isDone = true;
      out.end(`\n[e2e] ${entry.name} ${line}\n`);
      finish();
      if (entry.options.restart === true && !running.stopping && running.restarts < MAX_RESTARTS) {
        running.restarts += 1;
        setTimeout(() => {
          if (!running.stopping) this.spawn(running);
        }, 1_000);
      }
    };
    // A command that cannot start (ENOENT) must not crash the harness: it shows as exited.
    child.once("error", (err) => {
      end(`could not run: ${err.message}`);
    });
    child.once("exit", (code, signal) => {
      end(`exited: code ${String(code)} signal ${String(signal)}`);
    });
    return running;
  }

  /** Whether the named process has exited (or was never started). */
  exited(name: string): boolean {
    const entry = this.started.find((s) => s.name === name);
    return entry === undefined || entry.isDone;
  }

  /** The last lines of a process's log, for error messages. */
  async tail(name: string, lines = 30): Promise<string> {
    const entry = this.started.find((s) => s.name === name);
    if (!entry) return "";
    const text = await readFile(entry.log, "utf8").catch(() => "");
    return text.split("\n").slice(-lines).join("\n");
  }

  /** SIGKILLs a process and starts it again with the same command (a crash and a restart). */
  async crash(name: string): Promise<void> {
    const entry = this.started.find((s) => s.name === name);
    if (!entry) throw new Error(`no process ${name}`);
    entry.stopping = true;
    await terminate(entry, 0);
    entry.stopping = false;
    this.spawn(entry);
  }

  /** Stops one process. */
  async stop(name: string): Promise<void> {
    const index = this.started.findIndex((s) => s.name === name);
    const entry = this.started[index];
    if (!entry) return;
    this.started.splice(index, 1);
    entry.stopping = true;
    await terminate(entry, entry.options.graceSeconds ?? 10);
  }

  /** Stops everything except `keep`, newest first. */
  async stopAllBut(keep: string): Promise<void> {
    for (const entry of [...this.started].reverse()) {
      if (entry.name === keep) continue;
      await this.stop(entry.name);
    }
  }

  /** Stops everything, newest first. */
  async stopAll(): Promise<void> {
    for (const entry of [...this.started].reverse()) await this.stop(entry.name);
  }
}

async function terminate(entry: Entry, graceSeconds: number): Promise<void> {
  if (entry.isDone) return;
  entry.child.kill(graceSeconds === 0 ? "SIGKILL" : "SIGTERM");
  const timer = setTimeout(() => entry.child.kill("SIGKILL"), graceSeconds * 1000);
  await entry.done;
  clearTimeout(timer);
}
