/**
 * Small helpers for the host-attachment tests: create objects through the REST API and assert the
 * array's two ways of saying no (a Failed job with SSB codes, or a synchronous 4xx error object).
 */
import { expect } from "vitest";

import { affectedId } from "../../../test-support/harness.js";
import type { RawResponse, TestSim } from "../../../test-support/harness.js";

/** Creates a host group through POST /host-groups; answers its number. */
export async function createGroup(t: TestSim, body: Record<string, unknown>): Promise<number> {
  const res = await t.job("POST", `${t.scoped}/host-groups`, body);
  expect(res.status).toBe(202);
  expect(res.body.state, JSON.stringify(res.body.error)).toBe("Succeeded");
  return Number(affectedId(res.body).split(",").at(-1));
}

/** Maps an LDEV through POST /luns; answers the LUN. */
export async function mapLun(t: TestSim, body: Record<string, unknown>): Promise<number> {
  const res = await t.job("POST", `${t.scoped}/luns`, body);
  expect(res.body.state, JSON.stringify(res.body.error)).toBe("Succeeded");
  return Number(affectedId(res.body).split(",").at(-1));
}

/** A 202 whose job ended Failed with the given SSB codes (the storage system refused). */
export function expectFailedJob(res: RawResponse, ssb: readonly [string, string]): void {
  expect(res.status).toBe(202);
  expect(res.body.status).toBe("Completed");
  expect(res.body.state).toBe("Failed");
  expect(res.body.error.messageId).toBe("KART30000-E");
  expect(res.body.error.errorCode).toEqual({ SSB1: ssb[0], SSB2: ssb[1] });
}

/** A synchronous error answer (no job) with this HTTP status and message id. */
export function expectRejected(res: RawResponse, status: number, messageId: string): void {
  expect(res.status).toBe(status);
  expect(res.body.messageId).toBe(messageId);
  expect(res.body.jobId).toBeUndefined();
}

/** 404 KART30013-E with EX_ENOOBJ, what Cinder ignores on unmap. */
export function expectNotFound(res: RawResponse): void {
  expectRejected(res, 404, "KART30013-E");
  expect(res.body.errorCode).toEqual({ errorCode: "EX_ENOOBJ" });
}
