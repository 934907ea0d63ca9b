/**
 * The per-test lifecycle every crash test file shares: a fresh simulator and controller rig before
 * each test, both stopped after it, and the checks that no controller process outlived its test or
 * had to be killed by the watchdog.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, afterEach, beforeEach, expect } from "vitest";

import type { SimulatorOptions } from "../../src/simulator/index.js";
import type { TestSim } from "../../src/simulator/test-support/harness.js";
import { startTestSim } from "../../src/simulator/test-support/harness.js";
import { CrashRig, liveChildren, overran } from "./support.js";

export interface CrashRigAccess {
  /** The simulator of the running test. */
  sim: () => TestSim;
  /** The controller rig of the running test. */
  crashRig: () => CrashRig;
}

/** Registers beforeEach/afterEach/afterAll hooks; call once at the top of a test file. */
export function useCrashRig(
  tempPrefix: string,
  simOptions: () => Partial<SimulatorOptions> = () => ({}),
): CrashRigAccess {
  let t: TestSim | undefined;
  let rig: CrashRig | undefined;
  let workDir = "";

  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), tempPrefix));
    t = await startTestSim(simOptions());
    rig = await CrashRig.start(t, workDir);
  });

  afterEach(async () => {
    try {
      await rig?.stop();
    } finally {
      rig = undefined;
      await t?.stop();
      t = undefined;
      await rm(workDir, { recursive: true, force: true });
    }
    expect(liveChildren()).toBe(0);
    // A controller the watchdog had to kill (alive > CHILD_LIFETIME_MS) fails the test that ran it.
    expect(overran.splice(0)).toEqual([]);
  });

  afterAll(() => {
    expect(liveChildren()).toBe(0);
  });

  return {
    sim: () => {
      if (!t) throw new Error("no simulator");
      return t;
    },
    crashRig: () => {
      if (!rig) throw new Error("no controller");
      return rig;
    },
  };
}
