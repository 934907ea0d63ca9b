/**
 * The command runner: no shell, typed failures with exit code and stderr, redaction, stdin, and a
 * timeout that answers on time even when the command cannot be stopped politely.
 */
import { describe, expect, it } from "vitest";

import { CommandError, ExecRunner, writeThrough } from "./runner.js";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const runner = new ExecRunner(5_000);

async function failure(promise: Promise<unknown>): Promise<CommandError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommandError);
  return err as CommandError;
}

describe("ExecRunner", () => {
  it("returns stdout, stderr and the exit code, in the C locale", async () => {
    const res = await runner.run("sh", ["-c", 'echo out; echo err >&2; echo "$LC_ALL"']);
    expect(res).toEqual({ stdout: "out\nC\n", stderr: "err\n", exitCode: 0 });
  });

  it("passes arguments verbatim, never through a shell", async () => {
    const res = await runner.run("printf", ["%s|", "$(id)", "a b", "; rm -rf /"]);
    expect(res.stdout).toBe("$(id)|a b|; rm -rf /|");
  });

  it("fails with a CommandError carrying the exit code and the end of stderr", async () => {
    const err = await failure(
      runner.run("sh", ["-c", "echo first >&2; echo 'mount: wrong fs type' >&2; exit 32"]),
    );
    expect(err.exitCode).toBe(32);
    expect(err.timedOut).toBe(false);
    expect(err.stderr).toContain("wrong fs type");
    expect(err.message).toBe(
      "sh -c echo first >&2; echo 'mount: wrong fs type' >&2; exit 32: failed with exit code 32: first / mount: wrong fs type",
    );
  });

  it("accepts the exit codes it is told are fine", async () => {
    const res = await runner.run("sh", ["-c", "exit 15"], { okExitCodes: [15] });
    expect(res.exitCode).toBe(15);
  });

  // A runner that waited for the command would hang for its 30 s: this test's own 15 s timeout
  // fails it then. No tighter bound: speed is the benchmarks' business, not this suite's.
  it(
    "kills a command at its timeout and answers, even one that ignores SIGTERM",
    { timeout: 15_000 },
    async () => {
      const err = await failure(runner.run("sh", ["-c", "trap '' TERM; sleep 30"], { timeoutMs: 150 }));
      expect(err.timedOut).toBe(true);
      expect(err.exitCode).toBeUndefined();
      expect(err.message).toMatch(/timed out and was killed/);
    },
  );

  it("feeds stdin", async () => {
    expect((await runner.run("cat", [], { input: "0 1 5" })).stdout).toBe("0 1 5");
  });

  it("keeps redacted values out of the error message", async () => {
    const err = await failure(runner.run("sh", ["-c", "exit 3", "s3cret"], { redact: ["s3cret"] }));
    expect(err.message).not.toContain("s3cret");
    expect(err.args).toEqual(["-c", "exit 3", "[REDACTED]"]);
  });

  it("reports a command that does not exist", async () => {
    const err = await failure(runner.run("/nonexistent/tool", []));
    expect(err.exitCode).toBeUndefined();
    expect(err.message).toMatch(/could not run .*ENOENT/);
  });

  it("writes a sysfs-style attribute through tee", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vsp-csi-runner-"));
    try {
      await writeThrough(runner, join(dir, "scan"), "- - 7");
      expect(await readFile(join(dir, "scan"), "utf8")).toBe("- - 7");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
