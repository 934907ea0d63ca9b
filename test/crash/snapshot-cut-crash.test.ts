/**
 * The point-in-time image exists before CreateSnapshot answers — on a retry after a crash too
 * (issue 11 §1; ARCHITECTURE §4: the CO unfreezes the application at the answer).
 *
 * The controller runs as a real child process and is SIGKILLed while a new snapshot's pair is
 * still in COPY (the array splits it at the end of COPY, autoSplit). The simulator's clock is held
 * still meanwhile, so the pair provably stays unsplit for as long as the test says: the retried
 * call must not answer while it does. The volume is written before the retry (B) and right after
 * its answer (C); a volume restored from the snapshot must hold B — never C, which is what a
 * snapshot answered before its cut would hold. Single Thin Image snapshots, group snapshots, and
 * ShadowImage snapshots (killed before the split reached the array).
 */

import { describe, expect, it } from "vitest";

import { call } from "../../src/csi/test-support/clients.js";
import { writeData } from "../../src/csi/test-support/driver-harness.js";
import { pattern, sha256Of, shaOfImage } from "../../src/csi/test-support/snapshot-harness.js";
import { parseSnapshotId, parseVolumeId } from "../../src/driver/ids.js";
import type { Clock } from "../../src/simulator/clock.js";
import type { TestSim } from "../../src/simulator/test-support/harness.js";

import type { CsiClients } from "./support.js";
import { useCrashRig } from "./rig-lifecycle.js";

const MIB = 1024 * 1024;
const SIZE = 8 * MIB;
const DATA = MIB;
const CAPABILITY = { access_mode: { mode: "SINGLE_NODE_WRITER" as const }, block: {} };
const TEST_TIMEOUT_MS = 120_000;
const WAIT_MS = 15_000;

/** The real clock, except while paused: then time stands still for the simulator. */
class PausableClock implements Clock {
  private offset = 0;
  private pausedAt: number | undefined;
  now(): number {
    return this.pausedAt ?? Date.now() - this.offset;
  }
  pause(): void {
    this.pausedAt ??= this.now();
  }
  resume(): void {
    if (this.pausedAt === undefined) return;
    this.offset = Date.now() - this.pausedAt;
    this.pausedAt = undefined;
  }
}

let clock = new PausableClock();
const { sim, crashRig } = useCrashRig("vsp-cut-crash-", () => {
  clock = new PausableClock();
  return {
    clock,
    timings: {
      tiPairCreateMs: 1_000,
      tiSplitMs: 0,
      tiResyncMs: 0,
      tiRestoreMs: 0,
      cloneMiBPerSecond: 0,
      pairDeleteMs: 0,
      siCopyMs: 1_000,
    },
  };
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A promise and whether it has settled yet. */
function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const tracked = promise.finally(() => (done = true));
  // The call may fail before the test awaits it (its controller is killed): not an unhandled one.
  tracked.catch(() => undefined);
  return { promise: tracked, settled: () => done };
}

// --- CSI calls ----------------------------------------------------------------------------------

async function createVolume(c: CsiClients, name: string, source?: string): Promise<string> {
  const res = await call(c.controller, "CreateVolume", {
    name,
    capacity_range: { required_bytes: String(SIZE) },
    volume_capabilities: [CAPABILITY],
    parameters: {},
    ...(source ? { volume_content_source: { snapshot: { snapshot_id: source } } } : {}),
  });
  if (!res.volume) throw new Error("CreateVolume returned no volume");
  return res.volume.volume_id;
}

async function createSnapshot(c: CsiClients, name: string, source: string, parameters = {}) {
  const res = await call(c.controller, "CreateSnapshot", { name, source_volume_id: source, parameters });
  if (!res.snapshot) throw new Error("CreateSnapshot returned no snapshot");
  return res.snapshot;
}

async function createGroup(c: CsiClients, name: string, sources: string[]) {
  const res = await call(c.groupController, "CreateVolumeGroupSnapshot", {
    name,
    source_volume_ids: sources,
    parameters: {},
  });
  if (!res.group_snapshot) throw new Error("CreateVolumeGroupSnapshot returned no group snapshot");
  return res.group_snapshot;
}

// --- the array's side ---------------------------------------------------------------------------

const ldevOf = (volumeId: string) => parseVolumeId(volumeId).ldevId;

async function write(t: TestSim, volumeId: string, seed: string): Promise<Buffer> {
  const data = pattern(seed, DATA);
  await writeData(t, ldevOf(volumeId), data);
  return data;
}

async function logMark(t: TestSim): Promise<number> {
  return Number((await t.admin("GET", "/simulator/requests")).body.next);
}

/** GET requests since `mark` whose path contains `fragment`. */
async function readsSince(t: TestSim, mark: number, fragment: string): Promise<number> {
  const res = await t.admin("GET", `/simulator/requests?since=${mark}`);
  const log = res.body.data as { method: string; path: string }[];
  return log.filter((e) => e.method === "GET" && decodeURIComponent(e.path).includes(fragment)).length;
}

/**
 * Runs the retry while the simulator's clock stands still: once it has read `polled` twice (it is
 * waiting on the pair or group), it must not have answered; `whileFrozen` checks more then. The
 * clock then runs again and the retry's answer is returned.
 */
async function retryWhileFrozen<T>(
  t: TestSim,
  retryCall: () => Promise<T>,
  polled: string,
  whileFrozen: () => void = () => undefined,
): Promise<T> {
  const mark = await logMark(t);
  const retry = track(retryCall());
  await until(`the retry reading ${polled} twice`, async () =>
    (await readsSince(t, mark, polled)) >= 2 ? true : undefined,
  );
  expect(retry.settled(), "no answer while the image is not cut").toBe(false);
  whileFrozen();
  clock.resume();
  return retry.promise;
}

/** A restore of `snapshotId` into a new volume holds `expected` (and zeros after it). */
async function expectRestoredBytes(c: CsiClients, name: string, snapshotId: string, expected: Buffer) {
  const restored = await createVolume(c, name, snapshotId);
  expect(await sha256Of(sim(), ldevOf(restored)), `${name} holds the bytes written before the answer`).toBe(
    shaOfImage(expected, SIZE),
  );
}

// --- the cases ----------------------------------------------------------------------------------

describe("a retried CreateSnapshot answers only once the image is cut", () => {
  it(
    "Thin Image: killed while the pair is in COPY; the retry waits for the split, the restore holds the bytes at the answer",
    async () => {
      const t = sim();
      const rig = crashRig();
      const source = await createVolume(rig.clients, "pvc-cut-ti");
      await write(t, source, "A");

      clock.pause();
      const first = track(createSnapshot(rig.clients, "snap-cut-ti", source));
      const pair = await until("the pair in COPY", () =>
        t.sim.core.state.tiPairs.find((p) => p.pvolLdevId === ldevOf(source) && p.status === "COPY"),
      );
      await rig.killAndRestart();
      await expect(first.promise).rejects.toThrow();
      const b = await write(t, source, "B");

      const answer = await retryWhileFrozen(
        t,
        () => createSnapshot(rig.clients, "snap-cut-ti", source),
        `snapshots/${pair.pvolLdevId},${pair.muNumber}`,
        () => {
          expect(t.sim.core.state.tiPairs.find((p) => p === pair)?.status).toBe("COPY");
        },
      );
      await write(t, source, "C");
      expect(parseSnapshotId(answer.snapshot_id)).toMatchObject({ pvolLdevId: pair.pvolLdevId });
      await expectRestoredBytes(rig.clients, "pvc-cut-ti-restored", answer.snapshot_id, b);
      // creation_time is the cut: the pair's splitTime, not the time of the first call.
      const splitTime = t.sim.core.state.tiPairs.find((p) => p.muNumber === pair.muNumber)?.splitTime;
      expect(splitTime).toBeDefined();
      expect(Number(answer.creation_time?.seconds)).toBe(Date.parse(`${splitTime ?? ""}Z`) / 1000);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "group snapshot: killed while the members' pairs are in COPY; the retry splits the group before it answers",
    async () => {
      const t = sim();
      const rig = crashRig();
      const sources = [
        await createVolume(rig.clients, "pvc-cut-g0"),
        await createVolume(rig.clients, "pvc-cut-g1"),
      ];
      for (const s of sources) await write(t, s, `A-${s}`);

      clock.pause();
      const first = track(createGroup(rig.clients, "group-cut", sources));
      const copying = () =>
        t.sim.core.state.tiPairs.filter(
          (p) => sources.map(ldevOf).includes(p.pvolLdevId) && p.status === "COPY" && p.isConsistencyGroup,
        );
      await until("both pairs in COPY", () => (copying().length === 2 ? true : undefined));
      const [groupName] = new Set(copying().map((p) => p.snapshotGroupName));
      await rig.killAndRestart();
      await expect(first.promise).rejects.toThrow();
      const written = new Map<string, Buffer>();
      for (const s of sources) written.set(s, await write(t, s, `B-${s}`));

      const answer = await retryWhileFrozen(
        t,
        () => createGroup(rig.clients, "group-cut", sources),
        `snapshot-groups/${groupName ?? "?"}`,
      );
      for (const s of sources) await write(t, s, `C-${s}`);
      for (const member of answer.snapshots) {
        const expected = written.get(member.source_volume_id);
        if (!expected) throw new Error(`member of an unknown source ${member.source_volume_id}`);
        await expectRestoredBytes(
          rig.clients,
          `pvc-cut-g-${ldevOf(member.source_volume_id)}`,
          member.snapshot_id,
          expected,
        );
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "ShadowImage: killed before the split reached the array; the retry splits before it answers",
    async () => {
      const t = sim();
      const rig = crashRig();
      const source = await createVolume(rig.clients, "pvc-cut-si");
      await write(t, source, "A");
      const si = { copyMethod: "shadowImage" };

      clock.pause();
      // S-VOL create, S-VOL label, pair create: the fourth change is the split.
      const outcome = await rig.crashAt(3, "drop", (c) => createSnapshot(c, "snap-cut-si", source, si));
      expect(outcome.held && outcome.heldRequest.request).toMatch(/local-clone-copypairs\/.*split/);
      expect(t.sim.core.state.siPairs.map((p) => p.status)).toEqual(["COPY"]);
      const b = await write(t, source, "B");

      const answer = await createSnapshot(rig.clients, "snap-cut-si", source, si);
      await write(t, source, "C");
      clock.resume();
      await until("the ShadowImage snapshot ready", async () => {
        const res = await call(rig.clients.controller, "ListSnapshots", { snapshot_id: answer.snapshot_id });
        return res.entries[0]?.snapshot?.ready_to_use === true ? true : undefined;
      });
      await expectRestoredBytes(rig.clients, "pvc-cut-si-restored", answer.snapshot_id, b);
    },
    TEST_TIMEOUT_MS,
  );
});
