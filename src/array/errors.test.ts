import { describe, expect, it } from "vitest";

import {
  classifyApiError,
  VspAuthError,
  VspBusyError,
  VspInvalidRequestError,
  VspJobTimeoutError,
  VspLockedError,
  VspNotFoundError,
  VspPreconditionError,
  VspServerError,
  VspStorageError,
  VspTransportError,
} from "./errors.js";
import type { HttpMethod } from "./http.js";
import { noReplay, retryDecision } from "./retry.js";
import type { ErrorObject } from "./types.js";

const ssb = (SSB1: string, SSB2: string): ErrorObject => ({
  messageId: "KART30000-E",
  errorCode: { SSB1, SSB2 },
});

describe("classifyApiError: one place decides the class", () => {
  it.each([
    ["404 KART30013-E", 404, { messageId: "KART30013-E" }, undefined, VspNotFoundError],
    ["404 unknown URL", 404, { messageId: "KART20009-E" }, undefined, VspNotFoundError],
    ["400 missing parameter", 400, { messageId: "KART20008-E" }, undefined, VspInvalidRequestError],
    ["405 method", 405, undefined, undefined, VspInvalidRequestError],
    ["412 precondition", 412, { messageId: "KART30086-E" }, undefined, VspPreconditionError],
    [
      "412 unlock without the lock (EX_EACCES)",
      412,
      { errorCode: { errorCode: "EX_EACCES" } },
      undefined,
      VspPreconditionError,
    ],
    ["401 invalid token", 401, { messageId: "KART40047-E" }, undefined, VspAuthError],
    ["403 forbidden", 403, undefined, undefined, VspAuthError],
    ["503 busy", 503, { messageId: "KART00003-E" }, undefined, VspBusyError],
    ["503 session limit", 503, { messageId: "KART40062-E" }, undefined, VspBusyError],
    ["503 lock KART40050-E", 503, { messageId: "KART40050-E" }, undefined, VspLockedError],
    ["500 lock KART40052-E", 500, { messageId: "KART40052-E" }, undefined, VspLockedError],
    ["Failed job SSB 2E11/2207", 202, ssb("2E11", "2207"), 9, VspLockedError],
    ["Failed job EX_EACCES", 202, { errorCode: { errorCode: "EX_EACCES" } }, 9, VspLockedError],
    [
      "Failed job EX_ENOOBJ",
      202,
      { messageId: "KART30000-E", errorCode: { errorCode: "EX_ENOOBJ" } },
      9,
      VspNotFoundError,
    ],
    ["Failed job SSB 2E22/0001", 202, ssb("2E22", "0001"), 9, VspStorageError],
    ["Failed job without error object", 202, undefined, 9, VspStorageError],
    ["500 with SSB", 500, ssb("B958", "015A"), undefined, VspStorageError],
    ["500 without SSB", 500, { messageId: "KART00001-E" }, undefined, VspServerError],
    ["504 gateway", 504, undefined, undefined, VspServerError],
  ])("%s", (_name, httpStatus, body, jobId, type) => {
    const err = classifyApiError({
      method: "POST",
      path: "/x",
      httpStatus,
      body,
      jobId,
    });
    expect(err).toBeInstanceOf(type);
    expect(err).toMatchObject({ httpStatus, method: "POST", path: "/x", jobId });
  });

  it("keeps every field of the array's error object and names the SSB", () => {
    const err = classifyApiError({
      method: "POST",
      path: "/ConfigurationManager/v1/objects/ldevs",
      httpStatus: 202,
      jobId: 41,
      body: {
        errorSource: "/ConfigurationManager/v1/objects/ldevs",
        messageID: "KART30000-E",
        message: "An error occurred in the storage system.",
        cause: "ldev id in use",
        solution: "Check",
        solutionType: "SEE_ERROR_DETAIL",
        errorCode: { SSB1: "2e22", SSB2: "0001" },
        detailCode: "30000E-2-2E22-0001",
      },
    });
    expect(err).toMatchObject({
      messageId: "KART30000-E",
      arrayCause: "ldev id in use",
      solutionType: "SEE_ERROR_DETAIL",
      errorSource: "/ConfigurationManager/v1/objects/ldevs",
      detailCode: "30000E-2-2E22-0001",
      ssb: { ssb1: "2e22", ssb2: "0001" },
    });
    expect(err.is("LDEV_ALREADY_DEFINED")).toBe(true);
    expect(err.is("NO_FREE_LDEV_ID")).toBe(false);
    expect(err.message).toContain("job 41");
    expect(err.message).toContain("(LDEV_ALREADY_DEFINED)");
  });
});

describe("retryDecision: the policy table", () => {
  const at = (status: number, body?: ErrorObject, jobId?: number, method: HttpMethod = "POST") =>
    classifyApiError({ method, path: "/x", httpStatus: status, body, jobId });
  const transport = (failure: "connect" | "timeout" | "reset" | "tls", method: HttpMethod) =>
    new VspTransportError({ method, path: "/x" }, failure, undefined);

  it.each([
    ["busy, any method", at(503, { messageId: "KART00003-E" }), "POST", true],
    ["lock conflict", at(503, { messageId: "KART40050-E" }), "DELETE", true],
    ["Failed job with lock SSB", at(202, ssb("2E11", "2205"), 3), "POST", true],
    ["connection refused on POST", transport("connect", "POST"), "POST", true],
    ["reset on GET", transport("reset", "GET"), "GET", true],
    ["reset on POST", transport("reset", "POST"), "POST", false],
    ["timeout on DELETE", transport("timeout", "DELETE"), "DELETE", false],
    ["TLS verification", transport("tls", "GET"), "GET", false],
    ["500 on GET", at(500, undefined, undefined, "GET"), "GET", true],
    ["500 on POST", at(500), "POST", false],
    ["500 on POST with solutionType RETRY", at(500, { solutionType: "RETRY" }), "POST", true],
    [
      "Failed job, no-retry SSB even with RETRY",
      at(202, { ...ssb("2E11", "2209"), solutionType: "RETRY" }, 3),
      "POST",
      false,
    ],
    ["Failed job, unknown SSB", at(202, ssb("2E31", "9999"), 3), "POST", false],
    [
      "Failed job, unknown SSB, RETRY",
      at(202, { ...ssb("2E31", "9999"), solutionType: "RETRY" }, 3),
      "POST",
      true,
    ],
    ["404", at(404, { messageId: "KART30013-E" }), "GET", false],
    ["400", at(400), "GET", false],
    ["412", at(412), "POST", false],
    ["401 after re-login", at(401), "GET", false],
    ["job timeout", new VspJobTimeoutError({ method: "POST", path: "/x", jobId: 1 }), "POST", false],
    ["busy while polling an accepted job", noReplay(at(503, { messageId: "KART00003-E" })), "POST", false],
  ] as const)("%s → retry %s", (_name, err, method, expected) => {
    expect(retryDecision(err, method).retry).toBe(expected);
  });
});
