/** Public surface of the VSP REST client. */
export { VspClient } from "./client.js";
export type { VspArray } from "./client.js";
export type { ChangeOptions } from "./api.js";
export type { VspClientOptions, UrlStyle, JobWaitMode } from "./options.js";
export {
  VspError,
  VspNotFoundError,
  VspInvalidRequestError,
  VspPreconditionError,
  VspAuthError,
  VspBusyError,
  VspLockedError,
  VspStorageError,
  VspServerError,
  VspJobTimeoutError,
  VspTransportError,
  isVspError,
} from "./errors.js";
export type { VspErrorKind, TransportFailure } from "./errors.js";
export { ClientClosedError } from "./session.js";
export { SSB_CODES } from "./ssb.js";
export type { Ssb, SsbName } from "./ssb.js";
export { affectedId, affectedIds } from "./jobs.js";
export { retryDecision } from "./retry.js";
export type * from "./types.js";
export type * from "./resources/ids.js";
export type * from "./resources/ldevs.js";
export type * from "./resources/hosts.js";
export type * from "./resources/snapshots.js";
export type * from "./resources/local-clones.js";
export type * from "./resources/system.js";
