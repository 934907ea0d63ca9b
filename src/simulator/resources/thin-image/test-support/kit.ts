/**
 * Helpers for the Thin Image tests: a simulator with chosen timings, volumes, host-side data access
 * through the admin endpoint (what a host reads and writes through a LUN), and pair requests the
 * way Cinder (CIN-REST) sends them.
 */
import { expect } from "vitest";

import { INSTANT_TIMINGS, MIB } from "../../../config.js";
import type { SimTimings } from "../../../config.js";
import { basicAuth, startTestSim } from "../../../test-support/harness.js";
import type { RawResponse, TestSim } from "../../../test-support/harness.js";
import { seedLdev } from "../../../test-support/seed.js";

export const VOLUME_BYTES = 4 * MIB;
export const NO_WAIT = { "Job-Mode-Wait-Configuration-Change": "NoWait" };
/** The HDP pool Cinder uses as snapshot pool by default, and the HTI pool. */
export const DP_POOL = 0;
export const TI_POOL = 2;

export function startTiSim(timings: Partial<SimTimings> = {}, dataDir?: string): Promise<TestSim> {
  return startTestSim({ timings: { ...INSTANT_TIMINGS, ...timings }, ...(dataDir ? { dataDir } : {}) });
}

export async function volumes(t: TestSim, ids: number[], bytes = VOLUME_BYTES): Promise<void> {
  for (const id of ids) await seedLdev(t.sim.core, id, bytes);
}

/** A buffer of `length` bytes of `byte`. */
export function fill(byte: number, length = 64 * 1024): Buffer {
  return Buffer.alloc(length, byte);
}

/** Host write through the admin data endpoint. */
export async function write(t: TestSim, ldevId: number, offset: number, data: Buffer): Promise<void> {
  const res = await fetch(`${t.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}`, {
    method: "PUT",
    headers: { Authorization: basicAuth, "Content-Type": "application/octet-stream" },
    body: new Uint8Array(data),
  });
  expect(res.status).toBe(200);
}

export async function read(t: TestSim, ldevId: number, offset: number, length: number): Promise<Buffer> {
  const res = await fetch(
    `${t.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}&length=${length}`,
    {
      headers: { Authorization: basicAuth },
    },
  );
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

export async function sha256(t: TestSim, ldevId: number): Promise<string> {
  const res = await t.admin("GET", `/simulator/ldevs/${ldevId}/sha256`);
  expect(res.status).toBe(200);
  return String(res.body.sha256);
}

export function snapshotsUrl(t: TestSim, id?: string): string {
  return id === undefined ? `${t.short}/snapshots` : `${t.short}/snapshots/${id}`;
}

/** Cinder's snapshot body (CIN-REST `create_snapshot`), with overrides. */
export function snapBody(pvol: number, svol: number | undefined, extra: Record<string, unknown> = {}) {
  return {
    snapshotGroupName: "HBSD-snap0",
    snapshotPoolId: DP_POOL,
    pvolLdevId: pvol,
    ...(svol === undefined ? {} : { svolLdevId: svol }),
    autoSplit: true,
    canCascade: true,
    isDataReductionForceCopy: true,
    ...extra,
  };
}

/** Cinder's clone body (CIN-REST `_create_regular_clone_pair`). */
export function cloneBody(pvol: number, svol: number, extra: Record<string, unknown> = {}) {
  return {
    snapshotGroupName: "HBSD-clone0",
    snapshotPoolId: DP_POOL,
    pvolLdevId: pvol,
    svolLdevId: svol,
    isClone: true,
    clonesAutomation: true,
    copySpeed: "medium",
    isDataReductionForceCopy: true,
    ...extra,
  };
}

/** Creates a pair, waiting for the job, expects success; answers its id `pvol,mu`. */
export async function create(
  t: TestSim,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const res = await t.job("POST", snapshotsUrl(t), body, headers);
  expectSucceeded(res);
  const url = String(res.body.affectedResources[0]);
  return decodeURIComponent(url.slice(url.lastIndexOf("/") + 1));
}

export function expectSucceeded(res: RawResponse): void {
  expect(res.status).toBe(202);
  expect(res.body.error).toBeUndefined();
  expect(res.body.state).toBe("Succeeded");
}

export function expectFailed(res: RawResponse, ssb: readonly [string, string]): void {
  expect(res.status).toBe(202);
  expect(res.body.status).toBe("Completed");
  expect(res.body.state).toBe("Failed");
  expect(res.body.error.messageId).toBe("KART30000-E");
  expect(res.body.error.errorCode).toEqual({ SSB1: ssb[0], SSB2: ssb[1] });
}

export async function status(t: TestSim, id: string): Promise<string | undefined> {
  const res = await t.req("GET", snapshotsUrl(t, id));
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return String(res.body.status);
}

/** Polls until the pair shows `want` (undefined = gone); fails after `timeoutMs`. */
export async function waitStatus(t: TestSim, id: string, want: string | undefined, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline) {
    last = await status(t, id);
    if (last === want) return;
    await sleep(10);
  }
  throw new Error(`pair ${id}: still ${String(last)} after ${timeoutMs} ms, wanted ${String(want)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function action(
  t: TestSim,
  id: string,
  name: string,
  parameters?: Record<string, unknown>,
  headers = {},
) {
  const body = parameters === undefined ? undefined : { parameters };
  return t.job("POST", `${snapshotsUrl(t, id)}/actions/${name}/invoke`, body, headers);
}
