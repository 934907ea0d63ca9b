/**
 * The array's error object and the catalogue of errors the simulator raises.
 *
 * Shape (MK-98RD9014 error object; HCS reference): errorSource, messageId, message, cause,
 * solution, solutionType (RETRY | SEE_ERROR_DETAIL), errorCode {SSB1, SSB2} when the storage itself
 * failed (or {errorCode: "EX_..."} for RAID-Manager style codes), detailCode.
 * Message ids and SSB codes named in the reference are used as documented; where the reference is
 * silent, the choice is marked "sim:" and kept in one place here so it is easy to correct.
 */

export type SolutionType = "RETRY" | "SEE_ERROR_DETAIL";

export type ErrorCode = { SSB1: string; SSB2: string } | { errorCode: string };

export interface ErrorObject {
  errorSource: string;
  messageId: string;
  message: string;
  cause?: string;
  solution?: string;
  solutionType: SolutionType;
  errorCode?: ErrorCode;
  detailCode?: string;
}

export interface ApiErrorInit {
  status: number;
  messageId: string;
  message: string;
  cause?: string;
  solution?: string;
  solutionType?: SolutionType;
  errorCode?: ErrorCode;
  detailCode?: string;
  /** Extra response headers, e.g. Retry-After on 503 or WWW-Authenticate on 401. */
  headers?: Record<string, string>;
}

/** An error answered by the simulated array: an HTTP status plus the documented error object. */
export class ApiError extends Error {
  readonly status: number;
  readonly init: ApiErrorInit;

  constructor(init: ApiErrorInit) {
    super(init.message);
    this.name = "ApiError";
    this.status = init.status;
    this.init = init;
  }

  toObject(errorSource: string): ErrorObject {
    const { messageId, message, cause, solution, errorCode, detailCode } = this.init;
    return {
      errorSource,
      messageId,
      message,
      ...(cause === undefined ? {} : { cause }),
      ...(solution === undefined ? {} : { solution }),
      solutionType: this.init.solutionType ?? "SEE_ERROR_DETAIL",
      ...(errorCode === undefined ? {} : { errorCode }),
      ...(detailCode === undefined ? {} : { detailCode }),
    };
  }
}

/** KART20008-E, documented: a required parameter is missing. */
export function missingParameter(name: string): ApiError {
  return new ApiError({
    status: 400,
    messageId: "KART20008-E",
    message: `Required parameters are not specified. (parameter name = ${name})`,
    solution: "Specify the required parameters, and then try again.",
  });
}

/** sim: KART20003-E for a parameter value outside its range or of the wrong type. */
export function invalidParameter(name: string, detail: string): ApiError {
  return new ApiError({
    status: 400,
    messageId: "KART20003-E",
    message: `The value of the specified parameter is invalid. (parameter name = ${name}, detail = ${detail})`,
    solution: "Specify a valid value, and then try again.",
  });
}

/** sim: KART20005-E for an object ID in the URL that cannot be parsed. */
export function invalidObjectId(id: string): ApiError {
  return new ApiError({
    status: 400,
    messageId: "KART20005-E",
    message: `The specified object ID is invalid. (object ID = ${id})`,
    solution: "Specify a valid object ID, and then try again.",
  });
}

/** KART20009-E, documented: no resource exists at the URL (unknown path). */
export function noSuchUrl(path: string): ApiError {
  return new ApiError({
    status: 404,
    messageId: "KART20009-E",
    message: `No resource exists at the specified URL. (URL = ${path})`,
    solution: "Check the URL, and then try again.",
  });
}

/** KART30013-E, documented: the specified object does not exist. */
export function objectNotFound(what: string): ApiError {
  return new ApiError({
    status: 404,
    messageId: "KART30013-E",
    message: `The specified object does not exist. (object = ${what})`,
    solution: "Check the specified object, and then try again.",
    errorCode: { errorCode: "EX_ENOOBJ" },
  });
}

/** 412: the action cannot run on this object in its current state (documented for TI split/clone, expand). */
export function preconditionFailed(message: string, errorCode?: ErrorCode): ApiError {
  return new ApiError({
    status: 412,
    messageId: "KART30086-E",
    message,
    solution: "Check the status of the object, and then try again.",
    ...(errorCode === undefined ? {} : { errorCode }),
  });
}

/** KART00003-E, documented: the REST server is busy. Answered as 503 with Retry-After. */
export function serverBusy(): ApiError {
  return new ApiError({
    status: 503,
    messageId: "KART00003-E",
    message: "The REST API server is busy.",
    solution: "Wait a while, and then try again.",
    solutionType: "RETRY",
    headers: { "Retry-After": "1" },
  });
}

/** The 64-session limit (documented: 503, wait and retry). sim: KART40062-E. */
export function sessionLimitReached(limit: number): ApiError {
  return new ApiError({
    status: 503,
    messageId: "KART40062-E",
    message: `The number of sessions has reached the maximum (${limit}).`,
    solution: "Discard unneeded sessions, or wait until sessions time out, and then try again.",
    solutionType: "RETRY",
    headers: { "Retry-After": "5" },
  });
}

/** 401 for a missing, invalid or expired session token ("The specified token is invalid", as Ansible matches). */
export function invalidToken(): ApiError {
  return new ApiError({
    status: 401,
    messageId: "KART40047-E",
    message: "The specified token is invalid.",
    solution: "Generate a session, and then try again.",
    headers: { "WWW-Authenticate": 'Session realm="Block storage"' },
  });
}

/** 401 for bad Basic credentials on session creation. */
export function authenticationFailed(): ApiError {
  return new ApiError({
    status: 401,
    messageId: "KART40046-E",
    message: "User authentication failed.",
    solution: "Check the user name and password, and then try again.",
    headers: { "WWW-Authenticate": 'Basic realm="Block storage"' },
  });
}

/** KART40050-E with SSB 2E11/2205, documented lock-failure signals. */
export function resourceLocked(detail: string): ApiError {
  return new ApiError({
    status: 503,
    messageId: "KART40050-E",
    message: `The resource group is locked by another session. (${detail})`,
    solution: "Wait until the lock is released, and then try again.",
    solutionType: "RETRY",
    errorCode: { SSB1: "2E11", SSB2: "2205" },
  });
}

/**
 * A failure inside the storage system: KART30000-E with SSB codes, as documented. Raised inside
 * jobs, so it reaches the client as a Failed job (HTTP 202), the way real arrays report it.
 */
export function storageError(ssb1: string, ssb2: string, cause: string): ApiError {
  return new ApiError({
    status: 500,
    messageId: "KART30000-E",
    message: `An error occurred in the storage system. (SSB1 = ${ssb1}, SSB2 = ${ssb2})`,
    cause,
    solution: "Check the cause, remove it, and then try again.",
    errorCode: { SSB1: ssb1, SSB2: ssb2 },
    detailCode: `30000E-2-${ssb1}-${ssb2}`,
  });
}

/** The SSB codes the reference documents, with what they mean. One table, used everywhere. */
export const SSB = {
  LDEV_ALREADY_DEFINED: ["2E22", "0001"],
  NO_FREE_LDEV_ID: ["2E11", "2209"],
  INVALID_SNAPSHOT_POOL: ["2E30", "600E"],
  MAX_CTG_EXCEEDED: ["2E10", "2302"],
  MAX_PAIRS_IN_CTG: ["2E13", "9900"],
  LU_PATH_ALREADY_DEFINED: ["B958", "015A"],
  ANOTHER_LDEV_AT_LUN: ["B958", "0947"],
  MAX_WWNS_EXCEEDED: ["B957", "4184"],
  LOCKED: ["2E11", "2205"],
  // sim: codes below are not named by the reference; chosen from the documented "no retry" list
  // families so that clients which treat those as permanent do the right thing.
  LDEV_HAS_PATHS: ["B958", "015E"],
  LDEV_IN_PAIR: ["2E10", "9705"],
  PAIR_STATUS_FORBIDS: ["2E10", "9706"],
  MU_IN_USE: ["2E10", "9707"],
  MAX_SNAPSHOTS_PER_PVOL: ["2E11", "8303"],
  POOL_FULL: ["2E30", "0007"],
  POOL_NOT_FOUND: ["2E30", "000E"],
  INVALID_SVOL: ["B956", "3173"],
  HOST_GROUP_HAS_LUNS: ["B956", "31D7"],
  NO_FREE_HOST_GROUP_NUMBER: ["B956", "31D9"],
  LUN_OUT_OF_RANGE: ["B957", "4188"],
  CAPACITY_INVALID: ["2E11", "8500"],
  JOB_FAULT: ["2E31", "9999"],
  // sim: host attachment refusals the reference names no code for (resources/hosts/); B956 = host
  // group, B957 = host WWN / iSCSI name / CHAP, B958 = LU path, after the documented neighbours.
  HOST_GROUP_NUMBER_IN_USE: ["B956", "3180"],
  HOST_GROUP_NAME_IN_USE: ["B956", "3181"],
  HOST_GROUP_0_UNDELETABLE: ["B956", "3182"],
  TARGET_ISCSI_NAME_IN_USE: ["B956", "3183"],
  HOST_WWN_IN_USE: ["B957", "4185"],
  HOST_ISCSI_NAME_IN_USE: ["B957", "4186"],
  MAX_ISCSI_NAMES_EXCEEDED: ["B957", "4187"],
  CHAP_USER_IN_USE: ["B957", "4190"],
  LU_PATH_LDEV_UNDEFINED: ["B958", "0109"],
  // sim: ShadowImage pair-create refusals (resources/shadow-image/), no code in the reference;
  // 2E10 = pair configuration, beside the documented 2E10 pair codes.
  SI_LDEV_UNDEFINED: ["2E10", "8300"],
  SI_CAPACITY_MISMATCH: ["2E10", "8301"],
  SI_GROUP_EXISTS: ["2E10", "9710"],
  SI_GROUP_NOT_FOUND: ["2E10", "9711"],
  SI_PAIR_NAME_IN_USE: ["2E10", "9712"],
  SI_CTG_CONFLICT: ["2E10", "9713"],
  SI_FORCE_COPY_REQUIRED: ["2E10", "9714"],
  // sim: Thin Image pair-create refusals (resources/thin-image/), no code in the reference; 2E10
  // as above. A pair whose CTG mode differs from its snapshot group's; a capacity-saving P-VOL
  // without isDataReductionForceCopy (§5 "required true").
  TI_GROUP_MODE_MISMATCH: ["2E10", "9720"],
  TI_FORCE_COPY_REQUIRED: ["2E10", "9721"],
} as const satisfies Record<string, readonly [string, string]>;

export type SsbName = keyof typeof SSB;

export function ssbError(name: SsbName, cause: string): ApiError {
  const [ssb1, ssb2] = SSB[name];
  return storageError(ssb1, ssb2, cause);
}
