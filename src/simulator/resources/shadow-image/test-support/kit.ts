/**
 * Helpers for the ShadowImage tests: a simulator with chosen copy timings, volumes, host-side data
 * access through the admin endpoint, and pair requests as Ansible (ANS-SI) sends them.
 */
import { expect } from "vitest";

import type { Clock } from "../../../clock.js";
import { INSTANT_TIMINGS, MIB } from "../../../config.js";
import { basicAuth, startTestSim } from "../../../test-support/harness.js";
import type { RawResponse, TestSim } from "../../../test-support/harness.js";
import { seedLdev } from "../../../test-support/seed.js";

export const VOLUME_BYTES = 8 * MIB;
export const NO_WAIT = { "Job-Mode-Wait-Configuration-Change": "NoWait" };

/** A simulator whose ShadowImage copies take `siCopyMs` (0 = instant); optionally a data dir and clock. */
export function startSiSim(
  siCopyMs = 0,
  options: { dataDir?: string; clock?: Clock } = {},
): Promise<TestSim> {
  return startTestSim({ timings: { ...INSTANT_TIMINGS, siCopyMs }, ...options });
}

export async function volumes(t: TestSim, ids: number[], bytes = VOLUME_BYTES): Promise<void> {
  for (const id of ids) await seedLdev(t.sim.core, id, bytes);
}

export interface PairNames {
  group: string;
  pair: string;
}

/** The create body for `pvol → svol`, named like Ansible names them unless told otherwise. */
export function pairBody(
  pvol: number,
  svol: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const group = `CG_${pvol}_${svol}`;
  return {
    copyGroupName: group,
    copyPairName: `CP_${pvol}_${svol}`,
    replicationType: "SI",
    pvolLdevId: pvol,
    svolLdevId: svol,
    pvolDeviceGroupName: `${group}P_`,
    svolDeviceGroupName: `${group}S_`,
    isNewGroupCreation: true,
    copyPace: 3,
    ...extra,
  };
}

export function groupIdFor(body: Record<string, unknown>): string {
  return [body.copyGroupName, body.pvolDeviceGroupName, body.svolDeviceGroupName].map(String).join(",");
}

export function pairIdFor(body: Record<string, unknown>): string {
  return `${groupIdFor(body)},${String(body.copyPairName)}`;
}

/** Creates a pair (waiting for the job) and expects it to succeed; answers the pair id. */
export async function createPair(
  t: TestSim,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await t.job("POST", `${t.short}/local-clone-copypairs`, body, headers);
  expect(res.status).toBe(202);
  expect(res.body.error).toBeUndefined();
  expect(res.body.state).toBe("Succeeded");
  return pairIdFor(body);
}

export function pairUrl(t: TestSim, id: string): string {
  return `${t.short}/local-clone-copypairs/${id}`;
}

export function groupUrl(t: TestSim, id: string): string {
  return `${t.scoped}/local-clone-copygroups/${encodeURIComponent(id)}`;
}

export async function getPair(t: TestSim, id: string): Promise<RawResponse["body"]> {
  const res = await t.req("GET", pairUrl(t, id));
  expect(res.status).toBe(200);
  return res.body;
}

/** Invokes a pair action (waiting for the job unless headers say NoWait). */
export function pairAction(
  t: TestSim,
  id: string,
  action: string,
  parameters: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return t.job("POST", `${pairUrl(t, id)}/actions/${action}/invoke`, { parameters }, headers);
}

/** Polls the pair until its P-VOL status is `status`; fails after `timeoutMs`. */
export async function waitPvolStatus(
  t: TestSim,
  id: string,
  status: string,
  timeoutMs = 5_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pair = await getPair(t, id);
    if (pair.pvolStatus === status) return;
    if (Date.now() > until) throw new Error(`pair ${id} is ${pair.pvolStatus}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Writes bytes to an LDEV the way a host would (admin data endpoint). */
export async function writeData(t: TestSim, ldevId: number, offset: number, data: Buffer): Promise<void> {
  const res = await fetch(`${t.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}`, {
    method: "PUT",
    headers: { Authorization: basicAuth, "Content-Type": "application/octet-stream" },
    body: new Uint8Array(data),
  });
  expect(res.status).toBe(200);
}

export async function readData(t: TestSim, ldevId: number, offset: number, length: number): Promise<Buffer> {
  const res = await fetch(
    `${t.running.url}/simulator/ldevs/${ldevId}/data?offset=${offset}&length=${length}`,
    {
      headers: { Authorization: basicAuth },
    },
  );
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** A recognisable block of `length` bytes. */
export function pattern(text: string, length = 4096): Buffer {
  return Buffer.alloc(length, text);
}

/** Expects a Failed job with the given SSB pair. */
export function expectFailed(res: RawResponse, ssb: readonly [string, string]): void {
  expect(res.status).toBe(202);
  expect(res.body.status).toBe("Completed");
  expect(res.body.state).toBe("Failed");
  expect(res.body.error.messageId).toBe("KART30000-E");
  expect(res.body.error.errorCode).toEqual({ SSB1: ssb[0], SSB2: ssb[1] });
}
