/**
 * The one way the node plugin runs host commands (mount, mkfs, losetup, iscsiadm, multipath, and the
 * sysfs writes that trigger SCSI scans and deletes). Every command:
 *   - runs as a child process without a shell (arguments are never parsed by sh);
 *   - has a timeout, after which it is SIGKILLed and the call REJECTS AT ONCE, without waiting for
 *     the child to exit — a process stuck in uninterruptible sleep (a SCSI scan of a dead path, an
 *     umount of a hung device) cannot be killed, and waiting for it is exactly how a node plugin
 *     hangs forever (csi.md §6 pain point 7);
 *   - fails with a typed `CommandError` carrying the exit code and stderr.
 * Tests replace the Runner with a fake that records commands (no real iSCSI or FC here).
 */
import { spawn } from "node:child_process";

import type { Logger } from "../logging.js";

export interface RunOptions {
  /** Milliseconds before the command is killed; default the runner's. */
  timeoutMs?: number;
  /** Written to the command's stdin, then stdin is closed. */
  input?: string;
  /** Exit codes that count as success besides 0 (iscsiadm 15 = "session already exists"). */
  okExitCodes?: readonly number[];
  /** Argument values never to show in errors or logs (CHAP passwords). */
  redact?: readonly string[];
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Runner {
  run(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    /** The arguments with redacted values replaced. */
    readonly args: readonly string[],
    /** undefined when the command was killed or could not start. */
    readonly exitCode: number | undefined,
    readonly stderr: string,
    readonly stdout: string,
    readonly timedOut: boolean,
    cause?: unknown,
  ) {
    const what = [command, ...args].join(" ");
    const why = timedOut
      ? "timed out and was killed"
      : exitCode === undefined
        ? `could not run (${cause instanceof Error ? cause.message : String(cause)})`
        : `failed with exit code ${exitCode}`;
    const detail = stderr.trim().split("\n").slice(-3).join(" / ");
    super(`${what}: ${why}${detail === "" ? "" : `: ${detail}`}`, cause === undefined ? {} : { cause });
    this.name = "CommandError";
  }
}

export function redactArgs(args: readonly string[], secrets: readonly string[] = []): string[] {
  return args.map((a) => (secrets.includes(a) && a !== "" ? "[REDACTED]" : a));
}

const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

const ms = (since: number): number => Math.round(performance.now() - since);

/** Writing back a device's dirty pages (blockdev --flushbufs) may take minutes on a busy volume. */
export const FLUSH_TIMEOUT_MS = 5 * 60_000;

/** The real runner: child_process.spawn, C locale (parsable messages), bounded output. */
export class ExecRunner implements Runner {
  constructor(
    private readonly defaultTimeoutMs = 60_000,
    private readonly log?: Logger,
  ) {}

  async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const started = performance.now();
    const shown = redactArgs(args, options.redact);
    try {
      const result = await this.spawn(command, args, shown, options);
      this.log?.debug({ command, args: shown, exitCode: result.exitCode, ms: ms(started) }, "host command");
      return result;
    } catch (err) {
      this.log?.debug({ command, args: shown, err, ms: ms(started) }, "host command failed");
      throw err;
    }
  }

  private spawn(
    command: string,
    args: readonly string[],
    shown: string[],
    options: RunOptions,
  ): Promise<RunResult> {
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        env: { ...process.env, LC_ALL: "C", LANG: "C" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      let settled = false;
      const finish = (outcome: RunResult | CommandError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (outcome instanceof CommandError) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        // Do not wait for 'close': a child in D state never closes. Drop its pipes and move on.
        child.stdout.destroy();
        child.stderr.destroy();
        child.unref();
        finish(new CommandError(command, shown, undefined, stderr, stdout, true));
      }, timeoutMs);
      child.stdout.on("data", (chunk: Buffer) => {
        if (stdout.length < MAX_OUTPUT_BYTES) stdout += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        if (stderr.length < MAX_OUTPUT_BYTES) stderr += chunk.toString("utf8");
      });
      child.on("error", (err) => {
        finish(new CommandError(command, shown, undefined, stderr, stdout, false, err));
      });
      child.on("close", (code) => {
        const exitCode = code ?? -1;
        if (exitCode === 0 || (options.okExitCodes ?? []).includes(exitCode)) {
          finish({ stdout, stderr, exitCode });
        } else {
          finish(new CommandError(command, shown, code ?? undefined, stderr, stdout, false));
        }
      });
      child.stdin.on("error", () => undefined); // EPIPE when the command exits before reading
      child.stdin.end(options.input ?? "");
    });
  }
}

/**
 * Writes `text` to a file through the runner (`tee`), for sysfs attributes whose write blocks in
 * the kernel (SCSI scan, delete, rescan): the write then has a timeout and never ties up the event
 * loop or libuv's thread pool.
 */
export async function writeThrough(
  runner: Runner,
  path: string,
  text: string,
  timeoutMs?: number,
): Promise<void> {
  await runner.run("tee", [path], { input: text, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}
