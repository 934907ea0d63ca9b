/**
 * How resource modules declare the REST surface. A module registers paths relative to the objects
 * root (`/ldevs/:ldevId`) or the services root (`/snapshot-tree/actions/delete`), and the HTTP layer
 * serves each under both URL styles:
 *   /ConfigurationManager/v1/objects/...                        (short, embedded)
 *   /ConfigurationManager/v1/objects/storages/{storageDeviceId}/... (storage-scoped)
 *
 * Queries answer 200 synchronously. Changes (POST, PATCH or legacy PUT, DELETE, action invoke) run
 * as jobs: the handler runs alone (configuration changes are serialized), returns the
 * affectedResources, and if it throws, the state is rolled back. A thrown ApiError with a 4xx status
 * is the REST server rejecting the request (answered synchronously, no job); anything the storage
 * system rejects (storageError, status 5xx) becomes a Failed job with the error object.
 */
import type { z } from "zod";

import type { SimCore } from "./core.js";
import type { ApiError } from "./errors.js";
import { invalidParameter, missingParameter } from "./errors.js";
import type { Session } from "./sessions.js";

export interface RequestContext {
  readonly sim: SimCore;
  /** Path parameters, percent-decoded (`100,3` whether sent raw or as `100%2C3`). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body, or undefined when there was none. */
  readonly body: unknown;
  readonly session: Session;
  /** `Job-Mode-Wait-Configuration-Change: NoWait`: end the job when the change is accepted. */
  readonly noWait: boolean;
  /** URL of an object in the style of this request, e.g. link("ldevs", 5). */
  link(...segments: (string | number)[]): string;
}

export interface JobResult {
  affected: string[];
  /**
   * Background work the job waits for unless NoWait was asked: checked after every tick of the
   * array's clock. The configuration change itself is already done and saved when this runs.
   */
  settle?: () => boolean;
  settleTimeoutMs?: number;
  /** The job's error when `settle` has not held within `settleTimeoutMs`. */
  settleError?: () => ApiError;
  /** Wait for `settle` even under NoWait (NoWait only concerns pair copy work). */
  ignoresNoWait?: boolean;
}

export type QueryHandler = (ctx: RequestContext) => unknown; // may return a Promise
export type JobHandler = (ctx: RequestContext) => Promise<string[] | JobResult> | string[] | JobResult;

export interface ActionSpec {
  /** GET on the action URL: the body template; throw a 412 ApiError when it cannot run now. */
  template?: QueryHandler;
  invoke: JobHandler;
}

export type ChangeMethod = "POST" | "PATCH" | "DELETE";

export interface RouteDef {
  kind: "query" | "change";
  root: "objects" | "services";
  method: "GET" | ChangeMethod;
  path: string;
  handler: QueryHandler | JobHandler;
}

/** Collects route definitions; the HTTP layer mounts them. */
export class RouteTable {
  readonly routes: RouteDef[] = [];

  get(path: string, handler: QueryHandler): void {
    this.routes.push({ kind: "query", root: "objects", method: "GET", path, handler });
  }

  /** POST: create an object (job). */
  create(path: string, handler: JobHandler): void {
    this.routes.push({ kind: "change", root: "objects", method: "POST", path, handler });
  }

  /** PATCH, or the legacy PUT that Cinder still sends: change attributes (job). */
  modify(path: string, handler: JobHandler): void {
    this.routes.push({ kind: "change", root: "objects", method: "PATCH", path, handler });
  }

  remove(path: string, handler: JobHandler): void {
    this.routes.push({ kind: "change", root: "objects", method: "DELETE", path, handler });
  }

  /** `<path>` answers the template (GET); `<path>/invoke` runs it (POST or legacy PUT). */
  action(path: string, spec: ActionSpec): void {
    this.addAction("objects", path, spec);
  }

  /** An action under the services root, e.g. `/snapshot-tree/actions/delete`. */
  serviceAction(path: string, spec: ActionSpec): void {
    this.addAction("services", path, spec);
  }

  private addAction(root: "objects" | "services", path: string, spec: ActionSpec): void {
    const template = spec.template ?? (() => ({ parameters: {} }));
    this.routes.push({ kind: "query", root, method: "GET", path, handler: template });
    this.routes.push({ kind: "change", root, method: "POST", path: `${path}/invoke`, handler: spec.invoke });
  }
}

function issuePath(issue: z.core.$ZodIssue, prefix: string): string {
  const parts = issue.path.map(String);
  return [prefix, ...parts].filter(Boolean).join(".") || "body";
}

/**
 * Validates a body or query object against a schema and turns the first problem into the array's
 * error: KART20008-E for a missing required parameter, KART20003-E for a bad value.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix = ""): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw invalidParameter(prefix || "body", "invalid");
  const name = issuePath(issue, prefix);
  if (issue.code === "invalid_type" && issue.message.includes("received undefined")) {
    throw missingParameter(name);
  }
  throw invalidParameter(name, issue.message);
}

/** Action bodies carry their values under `parameters`. */
export function actionParameters<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parameters = (body as { parameters?: unknown } | undefined)?.parameters;
  return parseWith(schema, parameters ?? {}, "parameters");
}

/** Parses an integer path/query value in a range, or rejects it the array's way. */
export function intParam(value: string | null | undefined, name: string, min: number, max: number): number {
  if (value === null || value === undefined || value === "") throw missingParameter(name);
  if (!/^-?\d+$/.test(value)) throw invalidParameter(name, `must be an integer from ${min} to ${max}`);
  const n = Number(value);
  if (n < min || n > max) throw invalidParameter(name, `must be an integer from ${min} to ${max}`);
  return n;
}

/** Splits a comma-joined object id (`100,3`, `CL1-A,5`) into exactly `count` parts. */
export function splitId(id: string, count: number): string[] | undefined {
  const parts = id.split(",");
  return parts.length === count && parts.every((p) => p.length > 0) ? parts : undefined;
}
