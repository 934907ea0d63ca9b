/**
 * The operation/status matrix (D-HTI-MATRIX, §6) through HTTP: for every status a pair can be in,
 * every operation → refused (412, state unchanged), accepted without effect (YN: job succeeds,
 * nothing changes) or executed (Y: the status moves on). The expectations are written out from
 * the reference table, independently of matrix.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { TestSim } from "../../test-support/harness.js";
import type { TiPairState, TiStatus } from "../../state.js";
import {
  NO_WAIT,
  TI_POOL,
  VOLUME_BYTES,
  fill,
  snapshotsUrl,
  startTiSim,
  volumes,
  write,
} from "./test-support/kit.js";

const HOUR = 3_600_000;
let t: TestSim;
let nextLdev = 100;

beforeAll(async () => {
  // Slow enough that every executed operation is still in its new status when we look.
  t = await startTiSim({
    tiPairCreateMs: HOUR,
    tiResyncMs: HOUR,
    tiRestoreMs: HOUR,
    pairDeleteMs: HOUR,
    cloneMiBPerSecond: 0.001,
  });
});
afterAll(async () => {
  await t.stop();
});

type Kind = "snapshot" | "clone";

/** Where a transient status is heading (its `pending`), as the array would have set it. */
function pendingFor(kind: Kind, status: TiStatus): TiStatus | "DELETED" | undefined {
  const table: Partial<Record<TiStatus, TiStatus | "DELETED">> = {
    COPY: "PAIR",
    RCPY: "PSUS",
    PSUP: kind === "clone" ? "SMPP" : "PSUS",
    SMPP: "DELETED",
  };
  return table[status];
}

/** A pair put straight into state in `status` (reaching each status over HTTP is tested elsewhere). */
async function seedPair(kind: Kind, status: TiStatus, withSvol: boolean): Promise<string> {
  const core = t.sim.core;
  const pvol = nextLdev++;
  const svol = nextLdev++;
  await volumes(t, [pvol, svol]);
  await write(t, pvol, 0, fill(0x11));
  const now = core.clock.now();
  const to = pendingFor(kind, status);
  const hasData = kind === "snapshot" && ["PSUS", "PSUP", "PSUE"].includes(status);
  const pair: TiPairState = {
    pvolLdevId: pvol,
    muNumber: 0,
    ...(withSvol ? { svolLdevId: svol } : {}),
    snapshotGroupName: `m-${kind}`,
    snapshotPoolId: TI_POOL,
    isConsistencyGroup: false,
    isClone: kind === "clone",
    canCascade: true,
    clonesAutomation: false,
    copySpeed: "medium",
    status,
    ...(to === undefined ? {} : { pending: { to, from: now, at: now + HOUR } }),
    isWrittenInSvol: false,
    hasSnapshotData: hasData,
    createdTime: "2026-01-01T00:00:00Z",
  };
  if (hasData) {
    const bytes = VOLUME_BYTES;
    await core.blocks.copyAllocated(core.blocks.ldevPath(pvol), core.blocks.imagePath(`ti-${pvol}-0`), bytes);
  }
  core.state.tiPairs.push(pair);
  if (!core.state.snapshotGroups.some((g) => g.snapshotGroupName === pair.snapshotGroupName)) {
    core.state.snapshotGroups.push({ snapshotGroupName: pair.snapshotGroupName, isConsistencyGroup: false });
  }
  const svolLdev = core.state.ldevs[String(svol)];
  if (withSvol && svolLdev) svolLdev.snapshotPoolId = TI_POOL;
  core.store.save();
  return `${pvol},0`;
}

type Op = "split" | "resync" | "restore" | "clone" | "delete" | "assign-volume" | "unassign-volume";
/** "N", "YN", or the status an executed operation leaves the pair in. */
type Expect = "N" | "YN" | TiStatus | "GONE";

function parametersFor(op: Op, id: string): Record<string, unknown> | undefined {
  if (op === "assign-volume") return { svolLdevId: Number(id.split(",")[0]) + 1 };
  if (op === "resync" || op === "restore") return { autoSplit: false };
  if (op === "clone") return { copySpeed: "slower" };
  return undefined;
}

async function perform(op: Op, id: string) {
  if (op === "delete")
    return t.req("DELETE", snapshotsUrl(t, id), undefined, {
      "Response-Job-Status": "Completed",
      ...NO_WAIT,
    });
  const parameters = parametersFor(op, id);
  const body = parameters === undefined ? undefined : { parameters };
  return t.job("POST", `${t.scoped}/snapshots/${id}/actions/${op}/invoke`, body, NO_WAIT);
}

async function check(kind: Kind, status: TiStatus, op: Op, expected: Expect): Promise<void> {
  // assign-volume needs a pair without S-VOL; every other operation is tried on one with an S-VOL.
  const id = await seedPair(kind, status, op !== "assign-volume");
  const before = structuredClone(
    t.sim.core.state.tiPairs.find((p) => `${p.pvolLdevId},${p.muNumber}` === id),
  );
  if (op !== "delete") {
    const template = await t.req("GET", `${t.short}/snapshots/${id}/actions/${op}`);
    expect(template.status).toBe(expected === "N" ? 412 : 200);
  }
  const res = await perform(op, id);
  const after = await t.req("GET", snapshotsUrl(t, id));
  if (expected === "N") {
    expect(res.status).toBe(412);
    expect(res.body.errorCode).toEqual({ SSB1: "2E10", SSB2: "9706" });
    expect(after.body.status).toBe(status);
    expect(t.sim.core.state.tiPairs.find((p) => `${p.pvolLdevId},${p.muNumber}` === id)).toEqual(before);
    return;
  }
  expect(res.status).toBe(202);
  expect(res.body.state).toBe("Succeeded");
  if (expected === "YN") {
    expect(after.body.status).toBe(status);
    expect(t.sim.core.state.tiPairs.find((p) => `${p.pvolLdevId},${p.muNumber}` === id)).toEqual(before);
  } else if (expected === "GONE") {
    expect(after.status).toBe(404);
  } else {
    expect(after.body.status).toBe(expected);
  }
}

const OPS: Op[] = ["split", "resync", "restore", "clone", "delete", "assign-volume", "unassign-volume"];

/** Reference §6 table (snapshot rows), plus the sim rows for assign/unassign and a settling split. */
const SNAPSHOT: [TiStatus, Expect[]][] = [
  //        split   resync   restore  clone  delete   assign   unassign
  ["COPY", ["N", "YN", "YN", "N", "N", "N", "N"]],
  ["PAIR", ["PSUS", "YN", "YN", "N", "SMPP", "N", "PAIR"]],
  ["PSUS", ["YN", "COPY", "RCPY", "N", "SMPP", "PSUS", "PSUS"]],
  ["RCPY", ["N", "YN", "YN", "N", "N", "N", "N"]],
  ["PSUE", ["N", "COPY", "N", "N", "SMPP", "N", "PSUE"]],
  ["SMPP", ["N", "N", "N", "N", "YN", "N", "N"]],
  ["PSUP", ["YN", "N", "N", "N", "N", "N", "N"]],
];

/** Reference §6 table (clone rows). */
const CLONE: [TiStatus, Expect[]][] = [
  ["COPY", ["N", "N", "N", "N", "SMPP", "N", "N"]],
  ["PAIR", ["N", "N", "N", "PSUP", "SMPP", "N", "N"]],
  ["PSUP", ["N", "N", "N", "YN", "SMPP", "N", "N"]],
  ["PSUE", ["N", "N", "N", "N", "SMPP", "N", "N"]],
  ["SMPP", ["N", "N", "N", "N", "YN", "N", "N"]],
];

function cases(rows: [TiStatus, Expect[]][]): [TiStatus, Op, Expect][] {
  return rows.flatMap(([status, verdicts]) =>
    OPS.map((op, i): [TiStatus, Op, Expect] => [status, op, verdicts[i] ?? "N"]),
  );
}

describe("snapshot pairs", () => {
  it.each(cases(SNAPSHOT))("in %s: %s → %s", (status, op, expected) =>
    check("snapshot", status, op, expected),
  );
});

describe("clone pairs", () => {
  it.each(cases(CLONE))("in %s: %s → %s", (status, op, expected) => check("clone", status, op, expected));
});

describe("a snapshot pair whose S-VOL a clone pair is copying from (PSUP)", () => {
  // User Guide p.94 (§6): every operation on A refused except split, accepted without effect.
  const expected: [Op, Expect][] = [
    ["split", "YN"],
    ["resync", "N"],
    ["restore", "N"],
    ["delete", "N"],
    ["unassign-volume", "N"],
  ];
  it.each(expected)("%s → %s", async (op, want) => {
    const a = await seedPair("snapshot", "PSUS", true);
    const s1 = Number(a.split(",")[0]) + 1;
    const target = nextLdev++;
    await volumes(t, [target]);
    const core = t.sim.core;
    const now = core.clock.now();
    core.state.tiPairs.push({
      pvolLdevId: s1,
      muNumber: 0,
      svolLdevId: target,
      snapshotGroupName: "m-clone",
      snapshotPoolId: TI_POOL,
      isConsistencyGroup: false,
      isClone: true,
      canCascade: true,
      clonesAutomation: true,
      copySpeed: "medium",
      status: "PSUP",
      pending: { to: "SMPP", from: now, at: now + HOUR },
      isWrittenInSvol: false,
      hasSnapshotData: false,
      createdTime: "2026-01-01T00:00:00Z",
    });
    core.store.save();
    const before = structuredClone(core.state.tiPairs.find((p) => p.pvolLdevId === Number(a.split(",")[0])));
    const res = await perform(op, a);
    if (want === "N") {
      expect(res.status).toBe(412);
      expect(res.body.message).toContain(`clone pair ${s1},0 is copying`);
    } else {
      expect(res.body.state).toBe("Succeeded");
    }
    expect(core.state.tiPairs.find((p) => p.pvolLdevId === Number(a.split(",")[0]))).toEqual(before);
  });
});
