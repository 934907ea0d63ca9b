/**
 * The driver's configuration schema: every key, its type, default and meaning (zod v4).
 *
 * Values arrive from a YAML/JSON file (typed) and from environment variables and flags (strings),
 * so numeric, boolean and list keys also accept their string spelling ("100", "true",
 * "CL1-A,CL2-A"). Every object is strict: a misspelt key is an error, not a silently ignored
 * setting. Validation messages never repeat the offending value (it may be a secret); the loader
 * prefixes them with the key and where the value came from.
 *
 * This file validates shape only. Reading the files that keys point to (credentials.secretDir,
 * caBundle) happens in resolve.ts, after validation.
 */
import { z } from "zod";

export const MODES = ["controller", "node", "all"] as const;
export type Mode = (typeof MODES)[number];

/** pino's levels; "silent" turns logging off. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How hosts reach the array's LUNs (ARCHITECTURE §7). */
export const TRANSPORTS = ["fc", "iscsi", "sim"] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** The two URL layouts of the REST API (vsp-rest-api.md §0). */
export const URL_STYLES = ["storage-scoped", "short"] as const;
export type UrlStyle = (typeof URL_STYLES)[number];

export const DEFAULT_DRIVER_NAME = "csi.vsp-csi.dev";
export const DEFAULT_ENDPOINT = "unix:///csi/csi.sock";
export const DEFAULT_OPERATION_TIMEOUT_SECONDS = 100;

/** Longest unix socket path Linux accepts (sun_path is 108 bytes including the NUL). */
const MAX_UNIX_SOCKET_PATH_BYTES = 107;

export type Endpoint =
  | { readonly kind: "unix"; readonly path: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number };

const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

function port(text: string | undefined, min: number): number | undefined {
  if (text === undefined || !/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= 65535 ? n : undefined;
}

/**
 * Parse a CSI endpoint: `unix:///absolute/path` or `tcp://host:port` (port 0 = any free port,
 * for tests). Returns undefined for anything else.
 */
export function parseEndpoint(text: string): Endpoint | undefined {
  const unix = /^unix:\/\/(\/.*)$/.exec(text);
  if (unix?.[1] !== undefined) {
    const path = unix[1];
    const ok =
      path.length > 1 && !path.includes("\0") && Buffer.byteLength(path) <= MAX_UNIX_SOCKET_PATH_BYTES;
    return ok ? { kind: "unix", path } : undefined;
  }
  const tcp = /^tcp:\/\/(.+):([^:\]]*)$/.exec(text);
  if (tcp?.[1] === undefined || !HOST.test(tcp[1])) return undefined;
  const p = port(tcp[2], 0);
  return p === undefined ? undefined : { kind: "tcp", host: tcp[1], port: p };
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces), port 1–65535. */
export function isListenAddress(text: string): boolean {
  const m = /^(.*):([0-9]+)$/.exec(text);
  if (m?.[1] === undefined) return false;
  return (m[1] === "" || HOST.test(m[1])) && port(m[2], 1) !== undefined;
}

/**
 * Normalise an array's REST URL: http(s) only, no credentials in the URL (they would end up in
 * logs), no query or fragment, no trailing slash. Undefined when invalid.
 */
export function normaliseArrayUrl(text: string): string | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

// ---- value helpers: accept the string spelling of env/flag values ----------------------------

/** An integer (or its decimal string) in [min, max]. */
function int(min: number, max: number) {
  return z.preprocess(
    (v) => (typeof v === "string" && /^-?[0-9]+$/.test(v.trim()) ? Number(v.trim()) : v),
    z.number().int().min(min).max(max),
  );
}

const bool = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());

/** A list, or a comma-separated string (env/flags). */
function list<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "")
        : v,
    z.array(item),
  );
}

function text(pattern: RegExp, message: string) {
  return z.string().regex(pattern, message);
}

const absolutePath = z
  .string()
  .refine((p) => p.startsWith("/") && !p.includes("\0"), "must be an absolute path");

// ---- the schema ----------------------------------------------------------------------------------

/**
 * Credentials of the REST API user: EITHER `username` + `password` inline (the password then sits
 * in a ConfigMap or file in clear — prefer secretDir), OR `secretDir`, the mount path of a
 * Kubernetes Secret holding the files `username` and `password` (read at load time; one trailing
 * newline is stripped, as `echo`-made secrets have one).
 */
const credentialsSchema = z
  .strictObject({
    username: z.string().min(1, "must not be empty").optional(),
    password: z.string().min(1, "must not be empty").optional(),
    secretDir: absolutePath.optional(),
  })
  .superRefine((c, ctx) => {
    const inline = c.username !== undefined || c.password !== undefined;
    if (inline && c.secretDir !== undefined) {
      ctx.addIssue({ code: "custom", message: "give either username and password, or secretDir, not both" });
    } else if (!inline && c.secretDir === undefined) {
      ctx.addIssue({ code: "custom", message: "give either username and password, or secretDir" });
    } else if (inline && c.username === undefined) {
      ctx.addIssue({ code: "custom", path: ["username"], message: "is required with password" });
    } else if (inline && c.password === undefined) {
      ctx.addIssue({ code: "custom", path: ["password"], message: "is required with username" });
    }
  });

/** One VSP array the controller manages. */
const arraySchema = z.strictObject({
  /** Unique short name (DNS-1123 label); used in logs, metrics and StorageClass parameters. */
  name: text(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label (a-z, 0-9, -; ≤ 63)"),
  /** Base URL of the Configuration Manager REST server (http or https; `/ConfigurationManager/v1` is added by the client). */
  url: z.string().transform((s, ctx) => {
    const url = normaliseArrayUrl(s);
    if (url === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "Invalid URL: must be http(s)://host[:port][/path], without user, query or fragment",
      });
      return z.NEVER;
    }
    return url;
  }),
  /** 12-digit storage device ID (model prefix + serial); it is part of every volume ID, so it must be unique. */
  storageDeviceId: z.preprocess(
    // An unquoted YAML 886000123456 is a number; accept it (a lost leading zero still fails).
    (v) => (typeof v === "number" && Number.isSafeInteger(v) ? String(v) : v),
    text(/^[0-9]{12}$/, "must be 12 digits"),
  ),
  /** REST API user; see credentialsSchema (prefer secretDir). */
  credentials: credentialsSchema,
  /** Absolute path of a PEM file of CA certificates to verify the array's TLS certificate. Default: system CAs. */
  caBundle: absolutePath.optional(),
  /** Skip TLS verification (lab use only; logged as a warning). Default false. */
  insecureSkipVerify: bool.default(false),
  /** REST URL layout: `/objects/storages/{id}/…` ("storage-scoped", default) or `/objects/…` ("short"). */
  urlStyle: z.enum(URL_STYLES).default("storage-scoped"),
  /**
   * REST requests in flight at once to this array, login and keep-alive included (1–64, default 8):
   * the REST server serves few at a time and answers 503 beyond; its 64-session limit is shared
   * with every other client of the array.
   */
  maxConcurrentRequests: int(1, 64).default(8),
  /** HDP pool for new volumes when the StorageClass names none. Required: no pool is a safe guess on a shared array. */
  defaultPoolId: int(0, 65535),
  /** Pool for Thin Image snapshot data. Default: the source volume's own pool (as Cinder does). */
  snapshotPoolId: int(0, 65535).optional(),
  /** Target ports for LUN paths (ControllerPublish), e.g. ["CL1-A", "CL2-A"]. */
  targetPorts: list(text(/^CL[0-9A-Z]-[A-Z]{1,2}$/, "must be a port ID like CL1-A")).refine(
    (ports) => ports.length > 0 && new Set(ports).size === ports.length,
    "must list at least one port, each once",
  ),
  /** How hosts attach: "fc", "iscsi", or "sim" (loop device over the simulator's LDEV file). No default: it must match the ports. */
  transport: z.enum(TRANSPORTS),
  /**
   * LDEV ids the driver creates volumes in (inclusive). The driver places each volume at an id
   * derived from its name inside this range, and may adopt an empty, unlabelled, unmapped LDEV it
   * finds there after a crash: give the driver a range of its own on a shared array.
   */
  ldevRange: z
    .strictObject({ start: int(0, 65279), end: int(0, 65279) })
    .refine((r) => r.start <= r.end, "start must not be above end")
    .default({ start: 0, end: 65279 }),
});

/** Controller-only settings. */
const controllerSchema = z.strictObject({
  /**
   * Budget of one CSI call, including REST retries and job waits; a longer operation returns
   * ready_to_use=false / is picked up on the sidecar's retry. Must stay below the sidecars'
   * --timeout (the deployment sets theirs above it; csi-provisioner's own default is only 10 s).
   * The CSI layer also caps each call by its gRPC deadline (src/csi/pipeline.ts).
   */
  operationTimeoutSeconds: int(1, 3600).default(DEFAULT_OPERATION_TIMEOUT_SECONDS),
});

/** Node-only settings. */
const nodeSchema = z.strictObject({
  /** Where the host's root file system is mounted in the node container (for /sys, /dev, /etc/iscsi). */
  hostRoot: absolutePath.default("/"),
  /** Force a transport for device discovery instead of the one in the publish context. */
  transport: z.enum(TRANSPORTS).optional(),
  /** NodeGetInfo max_volumes_per_node (CSI puts this limit on the node). Unset: the CO decides. */
  maxVolumesPerNode: int(1, 1_000_000).optional(),
  /**
   * Where the node plugin keeps one small record per staged volume (its device identity and
   * publications), on the host so it survives plugin restarts. Default: `<simDataDir>/node-state`
   * with the sim transport, else `/var/lib/kubelet/plugins/<driverName>/node-state` (the plugin
   * directory the node DaemonSet already mounts).
   */
  stateDir: absolutePath.optional(),
  /**
   * The simulator's data directory, where the sim transport finds each LDEV's data file
   * (`ldevs/<id>.img`). `vsp-csi all --embedded-simulator` sets it.
   */
  simDataDir: absolutePath.optional(),
});

/** The whole input (before secrets and CA bundles are read). */
export const configSchema = z
  .strictObject({
    /** CSI driver name (CSIDriver object name): DNS-1123 subdomain ≤ 63 chars. Part of every label digest. */
    driverName: text(
      /^(?=.{1,63}$)[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/,
      "must be ≤ 63 chars of a-z, 0-9, '-', '.', starting and ending alphanumeric",
    ).default(DEFAULT_DRIVER_NAME),
    /** Which CSI services to serve; normally given by the sub-command. */
    mode: z.enum(MODES).default("all"),
    /** CSI gRPC endpoint to listen on. */
    endpoint: z
      .string()
      .refine((e) => parseEndpoint(e) !== undefined, "must be unix:///path or tcp://host:port")
      .default(DEFAULT_ENDPOINT),
    /**
     * This node's name: the Kubernetes node name (DNS-1123 subdomain, lowercase, ≤ 253), default the
     * host name lowercased as kubelet does. The CSI node_id adds the initiators to it
     * (src/driver/node-id.ts, whose node-name rule this repeats). Unused in controller mode.
     */
    nodeId: text(
      /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/,
      "must be the Kubernetes node name (a-z, 0-9, '-', '.', ≤ 253, alphanumeric at both ends)",
    ),
    /** pino level of the driver's JSON logs. */
    logLevel: z.enum(LOG_LEVELS).default("info"),
    /** Prometheus listen address (`host:port` or `:port`); unset = no metrics server. */
    metricsAddress: z.string().refine(isListenAddress, "must be host:port or :port").optional(),
    /** The arrays; at least one in controller and all modes (the node plugin does not call the array). */
    arrays: z.array(arraySchema).default([]),
    /** Name of the array used when a StorageClass names none; default the first. */
    defaultArray: z.string().optional(),
    /** Controller-only settings (defaults filled when absent). */
    controller: controllerSchema.prefault({}),
    /** Node-only settings (defaults filled when absent). */
    node: nodeSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.mode !== "node" && c.arrays.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["arrays"],
        message: `at least one array is required in ${c.mode} mode`,
      });
    }
    const seenNames = new Set<string>();
    const seenIds = new Set<string>();
    c.arrays.forEach((a, i) => {
      if (seenNames.has(a.name))
        ctx.addIssue({ code: "custom", path: ["arrays", i, "name"], message: "duplicate array name" });
      if (seenIds.has(a.storageDeviceId)) {
        ctx.addIssue({
          code: "custom",
          path: ["arrays", i, "storageDeviceId"],
          message: "duplicate storage device ID (volume IDs would be ambiguous)",
        });
      }
      seenNames.add(a.name);
      seenIds.add(a.storageDeviceId);
    });
    if (c.defaultArray !== undefined && !seenNames.has(c.defaultArray)) {
      ctx.addIssue({ code: "custom", path: ["defaultArray"], message: "names no configured array" });
    }
  });

export type ConfigInput = z.output<typeof configSchema>;
export type ArrayInput = ConfigInput["arrays"][number];
