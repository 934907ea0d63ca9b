/**
 * Second stage of loading: read the files the validated configuration points to — the mounted
 * credentials Secret and the CA bundle — so a wrong mount fails at start-up with the key named,
 * not at the first CSI call.
 */
import { X509Certificate } from "node:crypto";
import { join } from "node:path";

import { problem } from "./errors.js";
import type { PathSegment, Source } from "./layers.js";
import type { ArrayInput, Transport, UrlStyle } from "./schema.js";

/** Reads a UTF-8 text file; injectable so tests need no real files. */
export type ReadFile = (path: string) => Promise<string>;

export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** Where they were read from (for the start-up log; never the password). */
  readonly from: { readonly kind: "inline" } | { readonly kind: "secretDir"; readonly dir: string };
}

export interface CaBundle {
  readonly path: string;
  /** The PEM text, for the TLS client's `ca` option. */
  readonly pem: string;
  readonly certificates: number;
}

/** One array, ready for the REST client. */
export interface ArrayConfig {
  readonly name: string;
  readonly url: string;
  readonly storageDeviceId: string;
  readonly credentials: Credentials;
  readonly caBundle?: CaBundle;
  readonly insecureSkipVerify: boolean;
  readonly urlStyle: UrlStyle;
  /** REST requests in flight at once (the client's maxConcurrentRequests). */
  readonly maxConcurrentRequests: number;
  readonly defaultPoolId: number;
  readonly snapshotPoolId?: number;
  readonly targetPorts: readonly string[];
  readonly transport: Transport;
  /** LDEV ids the driver creates volumes in (inclusive). */
  readonly ldevRange: { readonly start: number; readonly end: number };
}

type SourceOf = (path: readonly PathSegment[]) => Source;

function why(err: unknown): string {
  switch ((err as { code?: unknown }).code) {
    case "ENOENT":
      return "file not found";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return "cannot be read";
  }
}

/** Kubernetes Secret files are exact bytes, but secrets made with `echo` end in a newline. */
function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, "");
}

/** The file's value, or the problem with it (a message naming the file, never the content). */
async function readSecretFile(
  readFile: ReadFile,
  dir: string,
  name: "username" | "password",
): Promise<{ value: string; problem?: string }> {
  const file = join(dir, name);
  try {
    const value = stripNewline(await readFile(file));
    return value === "" ? { value, problem: `${file} is empty` } : { value };
  } catch (err) {
    return { value: "", problem: `${file}: ${why(err)}` };
  }
}

async function resolveCredentials(
  input: ArrayInput["credentials"],
  base: readonly PathSegment[],
  readFile: ReadFile,
  sourceOf: SourceOf,
  problems: string[],
): Promise<Credentials> {
  if (input.secretDir === undefined) {
    return { username: input.username ?? "", password: input.password ?? "", from: { kind: "inline" } };
  }
  const dir = input.secretDir;
  const path = [...base, "secretDir"];
  const [username, password] = await Promise.all([
    readSecretFile(readFile, dir, "username"),
    readSecretFile(readFile, dir, "password"),
  ]);
  // Reported in a fixed order, whichever read finished first.
  for (const r of [username, password]) {
    if (r.problem !== undefined) problems.push(problem(path, sourceOf(path), r.problem));
  }
  return { username: username.value, password: password.value, from: { kind: "secretDir", dir } };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

async function resolveCaBundle(
  file: string,
  path: readonly PathSegment[],
  readFile: ReadFile,
  sourceOf: SourceOf,
  problems: string[],
): Promise<CaBundle | undefined> {
  const fail = (message: string) => problems.push(problem(path, sourceOf(path), message));
  let pem: string;
  try {
    pem = await readFile(file);
  } catch (err) {
    fail(`${file}: ${why(err)}`);
    return undefined;
  }
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    fail(`${file} contains no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return undefined;
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch {
      fail(
        `${file}: certificate ${String(i + 1)} of ${String(blocks.length)} is not a valid X.509 certificate`,
      );
    }
  });
  return { path: file, pem, certificates: blocks.length };
}

/**
 * Read one array's secret and CA files. Problems come back in a fixed order (credentials, then
 * CA bundle) whichever read finishes first, so the same mistake always prints the same lines.
 */
export async function resolveArray(
  input: ArrayInput,
  index: number,
  readFile: ReadFile,
  sourceOf: SourceOf,
): Promise<{ array: ArrayConfig; problems: string[] }> {
  const base = ["arrays", index] as const;
  const { credentials: rawCredentials, caBundle: caPath, snapshotPoolId, ...rest } = input;
  const credentialProblems: string[] = [];
  const caProblems: string[] = [];
  const [credentials, caBundle] = await Promise.all([
    resolveCredentials(rawCredentials, [...base, "credentials"], readFile, sourceOf, credentialProblems),
    caPath === undefined
      ? Promise.resolve(undefined)
      : resolveCaBundle(caPath, [...base, "caBundle"], readFile, sourceOf, caProblems),
  ]);
  const array: ArrayConfig = {
    ...rest,
    credentials,
    ...(caBundle === undefined ? {} : { caBundle }),
    ...(snapshotPoolId === undefined ? {} : { snapshotPoolId }),
  };
  return { array, problems: [...credentialProblems, ...caProblems] };
}
