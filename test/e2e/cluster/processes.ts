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

export interface Started {
  name: string;
  child: ChildProcess;
  log: string;
  /** Set once the process exited or could not be started. */
  done: Promise<unknown>;
  isDone: boolean;
}

export interface StartOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Seconds to wait after SIGTERM before SIGKILL (default 10). */
  graceSeconds?: number;
}

export class Processes {
  private readonly started: (Started & { graceSeconds: number })[] = [];

  constructor(private readonly logDir: string) {}

  start(name: string, command: string, args: readonly string[], options: StartOptions = {}): Started {
    const log = join(this.logDir, `${name}.log`);
    const out = createWriteStream(log, { flags: "a" });
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    let finish: (value?: unknown) => void = () => undefined;
    const done = new Promise<unknown>((resolve) => {
      finish = resolve;
    });
    const entry = { name, child, log, done, isDone: false, graceSeconds: options.graceSeconds ?? 10 };
    const end = (line: string) => {
      if (entry.isDone) return;
      entry.isDone = true;
      out.end(`\n[e2e] ${name} ${line}\n`);
      finish();
    };
    // A command that cannot start (ENOENT) must not crash the harness: it shows as exited.
    child.once("error", (err) => {
      end(`could not run: ${err.message}`);
    });
    child.once("exit", (code, signal) => {
      end(`exited: code ${String(code)} signal ${String(signal)}`);
    });
    this.started.push(entry);
    return entry;
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

  /** Stops one process (SIGKILL at once when `kill` is set: a crash, not a shutdown). */
  async stop(name: string, kill = false): Promise<void> {
    const index = this.started.findIndex((s) => s.name === name);
    const entry = this.started[index];
    if (!entry) return;
    this.started.splice(index, 1);
    await terminate(entry, kill ? 0 : entry.graceSeconds);
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
    while (this.started.length > 0) {
      const entry = this.started.pop();
      if (entry) await terminate(entry, entry.graceSeconds);
    }
  }
}

async function terminate(entry: Started, graceSeconds: number): Promise<void> {
  if (entry.isDone) return;
  entry.child.kill(graceSeconds === 0 ? "SIGKILL" : "SIGTERM");
  const timer = setTimeout(() => entry.child.kill("SIGKILL"), graceSeconds * 1000);
  await entry.done;
  clearTimeout(timer);
}
