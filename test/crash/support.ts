/**
 * Crash-test support: the controller as a REAL child process (`node --import tsx src/cli.ts
 * controller`) against an in-process simulator, and the machinery to stop it at an exact point
 * between two REST calls.
 *
 * How a crash point is made: the simulator's `holdChangesAfter: k` fault lets k more change requests
 * through and then holds every further one unanswered. Once `heldCount` says the controller's next
 * change is held, the controller is provably waiting on that request, i.e. it has done its first k
 * changes and not learnt the outcome of change k+1. It is then SIGKILLed, and the held request is
 * released either processed ("it reached the array") or dropped ("it never did"). A restarted
 * controller must converge from whatever the array holds.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "vitest";

import { csiClients } from "../../src/csi/test-support/clients.js";
import type { SimState } from "../../src/simulator/state.js";
import type { TestSim } from "../../src/simulator/test-support/harness.js";
import { acceptsConnection } from "../support/sockets.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** A controller process may live this long before the watchdog kills it (brief: ≤ 20 s). */
export const CHILD_LIFETIME_MS = 20_000;
const SOCKET_WAIT_MS = 15_000;
const POLL_MS = 10;
/** How long a CSI call may run before it must either finish or be held by the simulator. */
const HOLD_WAIT_MS = 10_000;

export type Variant = "process" | "drop";
export const VARIANTS: readonly Variant[] = ["process", "drop"];
export type CsiClients = ReturnType<typeof csiClients>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Child processes: tracked, bounded in time, never left behind.

const live = new Set<ChildProcess>();
/** Children the watchdog had to kill: a test that caused one must fail. */
export const overran: number[] = [];

// Last resort: if the test process exits with children still running (a crash of the runner),
// kill them so no orphaned controller keeps the socket or the simulator's session.
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** Controller processes still running (0 after every test). */
export function liveChildren(): number {
  return live.size;
}

export interface ControllerProcess {
  readonly pid: number;
  readonly clients: CsiClients;
  /** SIGKILL, and resolve once the process is gone. */
  kill(): Promise<void>;
  /** What the process wrote, for failure messages. */
  output(): string;
}

export interface ControllerSetup {
  configFile: string;
  socketPath: string;
}

/** Writes the driver configuration for the simulator (one "sim" array, inline test credentials). */
export async function writeControllerConfig(t: TestSim, workDir: string): Promise<ControllerSetup> {
  const configFile = join(workDir, "driver-config.json");
  const config = {
    arrays: [
      {
        name: "sim",
        url: t.running.url,
        storageDeviceId: t.sim.core.config.storageDeviceId,
        credentials: { username: "maintenance", password: "raid-maintenance" },
        defaultPoolId: 0,
        targetPorts: ["CL1-A", "CL2-A"],
        transport: "sim",
      },
    ],
  };
  await writeFile(configFile, JSON.stringify(config, null, 2));
  return { configFile, socketPath: join(workDir, "csi.sock") };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => {
      r();
    });
  });
}

/** Resolves once something accepts connections on the unix socket; bounded. */
async function waitForSocket(path: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + SOCKET_WAIT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `controller exited (${child.exitCode ?? child.signalCode}) before listening:\n${output()}`,
      );
    }
    if (await acceptsConnection(path)) return;
    await sleep(25);
  }
  throw new Error(`controller did not listen on ${path} within ${SOCKET_WAIT_MS} ms:\n${output()}`);
}

/** Starts `vsp-csi controller` and connects CSI clients to it. */
export async function startController(setup: ControllerSetup): Promise<ControllerProcess> {
  // A socket file left by a killed predecessor would otherwise "accept" nothing but exist.
  await rm(setup.socketPath, { force: true });
  const endpoint = `unix://${setup.socketPath}`;
  const child = spawn(
    process.execPath,
    [
      ...["--import", "tsx", "src/cli.ts", "controller"],
      ...["--config", setup.configFile, "--endpoint", endpoint, "--log-level", "warn"],
    ],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } },
  );
  const pid = child.pid ?? -1;
  live.add(child);
  let text = "";
  const keep = (chunk: Buffer) => (text = (text + chunk.toString()).slice(-8_000));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const watchdog = setTimeout(() => {
    overran.push(pid);
    child.kill("SIGKILL");
  }, CHILD_LIFETIME_MS);
  child.once("exit", () => {
    clearTimeout(watchdog);
    live.delete(child);
  });
  const output = () => text;
  const killChild = async () => {
    child.kill("SIGKILL");
    await exited(child);
  };
  try {
    await waitForSocket(setup.socketPath, child, output);
  } catch (err) {
    await killChild();
    throw err;
  }
  const clients = csiClients(endpoint);
  const kill = async () => {
    clients.close();
    await killChild();
  };
  return { pid, clients, kill, output };
}

// ---------------------------------------------------------------------------------------------
// The array's side: faults, the request log, state.

interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  /** It waited in the hold: the request the crash point stopped the controller at. */
  held?: boolean;
}

interface FaultState {
  heldCount: number;
  /** "METHOD /path" of each held change request, in arrival order. */
  heldRequests: string[];
  holdChangesAfter: number | null;
}

async function faultsOf(t: TestSim): Promise<FaultState> {
  const res = await t.admin("GET", "/simulator/faults");
  if (res.status !== 200) throw new Error(`GET /simulator/faults answered ${res.status}`);
  return res.body as FaultState;
}

async function setFaults(t: TestSim, patch: Record<string, unknown>): Promise<void> {
  const res = await t.admin("PUT", "/simulator/faults", patch);
  if (res.status !== 200) throw new Error(`PUT /simulator/faults answered ${res.status}`);
}

async function logMark(t: TestSim): Promise<number> {
  return Number((await t.admin("GET", "/simulator/requests")).body.next);
}

/** Change requests (anything but GET) the simulator finished since `mark`. */
async function changesSince(t: TestSim, mark: number): Promise<LoggedRequest[]> {
  const res = await t.admin("GET", `/simulator/requests?since=${mark}`);
  return (res.body.data as LoggedRequest[]).filter((e) => e.method !== "GET");
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** A deep copy of the array's configuration state. */
export function snapshotState(t: TestSim): SimState {
  return structuredClone(t.sim.core.state);
}

export interface CollectionDiff {
  added: unknown[];
  removed: unknown[];
}

const COLLECTIONS = [
  "pools",
  "ldevs",
  "tiPairs",
  "snapshotGroups",
  "siCopyGroups",
  "siPairs",
  "ports",
  "hostGroups",
  "hostWwns",
  "hostIscsis",
  "luns",
] as const satisfies readonly (keyof SimState)[];

/**
 * What changed between two states, per collection (only collections that changed are present).
 * An object changed in place shows as removed (old) + added (new). `naaSerial`, a counter, is left
 * out: a dropped-then-redone create may advance it without leaving anything behind.
 */
export function stateDiff(before: SimState, after: SimState): Record<string, CollectionDiff> {
  const diff: Record<string, CollectionDiff> = {};
  for (const name of COLLECTIONS) {
    const a: unknown[] = Object.values(before[name]);
    const b: unknown[] = Object.values(after[name]);
    const minus = (xs: unknown[], ys: unknown[]) => {
      const rest = ys.map((y) => JSON.stringify(y));
      return xs.filter((x) => {
        const i = rest.indexOf(JSON.stringify(x));
        if (i < 0) return true;
        rest.splice(i, 1);
        return false;
      });
    };
    const added = minus(b, a);
    const removed = minus(a, b);
    if (added.length > 0 || removed.length > 0) diff[name] = { added, removed };
  }
  return diff;
}

/** LDEV ids that have a data file in the simulator's block store. */
export async function ldevFileIds(t: TestSim): Promise<number[]> {
  const names = await readdir(t.sim.core.blocks.ldevDir);
  return names.map((n) => Number(/^(\d+)\.img$/.exec(n)?.[1] ?? Number.NaN)).sort((x, y) => x - y);
}

// ---------------------------------------------------------------------------------------------
// Crash points.

/** The change request a crash point stopped the controller before, as the simulator logged it. */
export interface HeldRequest {
  request: string;
  status: number;
}

export type CrashOutcome<R> = { held: false; result: R } | { held: true; heldRequest: HeldRequest };

/** A controller child plus the simulator it talks to; restarts the child after each crash. */
export class CrashRig {
  private constructor(
    readonly t: TestSim,
    private readonly setup: ControllerSetup,
    private current: ControllerProcess,
  ) {}

  static async start(t: TestSim, workDir: string): Promise<CrashRig> {
    const setup = await writeControllerConfig(t, workDir);
    return new CrashRig(t, setup, await startController(setup));
  }

  get clients(): CsiClients {
    return this.current.clients;
  }

  async stop(): Promise<void> {
    await this.current.kill();
  }

  /** SIGKILLs the controller wherever it is (not at a held request) and starts a new one. */
  async killAndRestart(): Promise<void> {
    await this.current.kill();
    this.current = await startController(this.setup);
  }

  /**
   * Issues `call` with change requests held after `k`. If the call finishes without any request
   * being held, that is its result. Otherwise the controller is killed while waiting on the held
   * request, the request is released the `variant` way, and a new controller is started.
   */
  async crashAt<R>(
    k: number,
    variant: Variant,
    call: (c: CsiClients) => Promise<R>,
  ): Promise<CrashOutcome<R>> {
    const { t } = this;
    await setFaults(t, { holdChangesAfter: k, heldOnRelease: variant });
    let settled: { ok: true; value: R } | { ok: false; error: unknown } | undefined;
    const pending = call(this.current.clients).then(
      (value) => (settled = { ok: true, value }),
      (error: unknown) => (settled = { ok: false, error }),
    );
    const held = await until(`the call to finish or be held (k=${k})`, HOLD_WAIT_MS, async () => {
      if (settled) return false;
      return (await faultsOf(t)).heldCount >= 1 ? true : undefined;
    });
    if (!held) {
      await setFaults(t, { holdChangesAfter: null });
      if (settled?.ok !== true) throw settled?.error;
      return { held: false, result: settled.value };
    }
    const mark = await logMark(t);
    // The crash point is the request the simulator holds — not whatever change (a concurrent
    // sibling already past the hold) happens to be logged first after the kill.
    const [heldAt = "?"] = (await faultsOf(t)).heldRequests;
    await this.current.kill();
    await pending;
    // The controller died before the held request answered: the call cannot have succeeded.
    if (settled?.ok !== false)
      throw new Error(`k=${k}: the call succeeded although its controller was killed`);
    await setFaults(t, { holdChangesAfter: null });
    // By the log's held mark: concurrent siblings past the hold may share the held one's path.
    const logged = await until("the held request to be released", HOLD_WAIT_MS, async () =>
      (await changesSince(t, mark)).find((e) => e.held === true),
    );
    expect(`${logged.method} ${logged.path}`).toBe(heldAt);
    if ((await faultsOf(t)).heldCount !== 0) throw new Error("requests are still held after the release");
    const heldRequest = { request: `${logged.method} ${normalisePath(logged.path)}`, status: logged.status };
    this.current = await startController(this.setup);
    return { held: true, heldRequest };
  }
}

/** `/ConfigurationManager/v1/objects/storages/886000123456/ldevs/12` → `ldevs/{id}` for reports. */
function normalisePath(path: string): string {
  return path
    .replace(/^\/ConfigurationManager\/v1\/objects(\/storages\/\d+)?\//, "")
    .replace(/\/[^/]*\d[^/]*$/, "/{id}");
}

/** One operation under test: fresh inputs per crash point, the call, and the end-state check. */
export interface CrashCase<I, R> {
  /** Makes fresh inputs for one crash point (with no fault set); may call the controller. */
  prepare(clients: CsiClients, k: number, variant: Variant): Promise<I>;
  call(clients: CsiClients, input: I): Promise<R>;
  /** Asserts the end state after `result`, given the state right after `prepare`. */
  verify(input: I, result: R, before: SimState): Promise<void>;
}

/** Per variant, the request held at each crash point k = 0, 1, … (the last k completed unheld). */
export type CrashReport = Record<Variant, HeldRequest[]>;

/** Bound on crash points per operation, so a call that never completes cannot loop forever. */
const MAX_CRASH_POINTS = 20;

/**
 * For each variant and k = 0, 1, …: fresh inputs, the call with a crash after k changes, the
 * retried call on the restarted controller, the end-state check, and a second retry that must
 * answer exactly as the first (and leave the same end state). Stops at the first k whose call
 * completes without being held (that run is checked too).
 */
export async function runCrashMatrix<I, R>(rig: CrashRig, kase: CrashCase<I, R>): Promise<CrashReport> {
  const report: CrashReport = { process: [], drop: [] };
  for (const variant of VARIANTS) {
    for (let k = 0; ; k++) {
      if (k > MAX_CRASH_POINTS) throw new Error(`more than ${MAX_CRASH_POINTS} crash points`);
      const input = await kase.prepare(rig.clients, k, variant);
      const before = snapshotState(rig.t);
      const outcome = await rig.crashAt(k, variant, (c) => kase.call(c, input));
      if (!outcome.held) {
        await kase.verify(input, outcome.result, before);
        break;
      }
      report[variant].push(outcome.heldRequest);
      const retried = await kase.call(rig.clients, input);
      await kase.verify(input, retried, before);
      expect(await kase.call(rig.clients, input)).toEqual(retried);
      await kase.verify(input, retried, before);
    }
  }
  return report;
}
