/**
 * `VspClient`: the typed Configuration Manager REST client. Methods are grouped by resource
 * (`client.ldevs.create(...)`, `client.snapshots.split(...)`); each waits for its job and either
 * resolves with what the caller needs (new ids) or rejects with a typed VspError (errors.ts).
 *
 * Lifecycle: the session is created lazily on the first call (or by `connect()`), kept alive in the
 * background, replaced after a 401, and discarded by `close()`, which also closes the connections.
 */
import type { Logger } from "pino";

import { Api } from "./api.js";
import { Transport } from "./http.js";
import { clientLogger } from "./logging.js";
import type { ResolvedOptions, VspClientOptions } from "./options.js";
import { resolveOptions } from "./options.js";
import { Paths } from "./paths.js";
import { HostGroups, HostIscsis, HostWwns, Luns, Ports } from "./resources/hosts.js";
import { Ldevs } from "./resources/ldevs.js";
import { LocalCloneCopyGroups, LocalCloneCopyPairs } from "./resources/local-clones.js";
import { Snapshots, SnapshotGroups, SnapshotTree } from "./resources/snapshots.js";
import { Jobs, Pools, ResourceGroupLock, Storage } from "./resources/system.js";
import type { RetryPolicy } from "./retry.js";
import { withRetry } from "./retry.js";
import { SessionManager } from "./session.js";

export class VspClient {
  readonly storage: Storage;
  readonly pools: Pools;
  readonly jobs: Jobs;
  readonly ldevs: Ldevs;
  readonly ports: Ports;
  readonly hostGroups: HostGroups;
  readonly hostWwns: HostWwns;
  readonly hostIscsis: HostIscsis;
  readonly luns: Luns;
  readonly snapshots: Snapshots;
  readonly snapshotGroups: SnapshotGroups;
  readonly snapshotTree: SnapshotTree;
  readonly localCloneCopyPairs: LocalCloneCopyPairs;
  readonly localCloneCopyGroups: LocalCloneCopyGroups;
  readonly resourceGroupLock: ResourceGroupLock;

  readonly options: Readonly<Omit<ResolvedOptions, "password">>;
  private readonly logger: Logger;
  private readonly transport: Transport;
  private readonly sessions: SessionManager;
  private readonly paths: Paths;
  private readonly retry: RetryPolicy;

  constructor(options: VspClientOptions) {
    const o = resolveOptions(options);
    const { password: _password, ...shown } = o;
    this.options = shown;
    this.logger = clientLogger(o.logger, o.storageDeviceId);
    const paths = new Paths(o.urlStyle, o.storageDeviceId);
    this.paths = paths;
    this.retry = o.retry;
    this.transport = new Transport({
      baseUrl: o.baseUrl,
      maxConcurrentRequests: o.maxConcurrentRequests,
      requestTimeoutMs: o.requestTimeoutMs,
      tls: o.tls,
      dispatcher: o.dispatcher,
      logger: this.logger,
    });
    this.sessions = new SessionManager({
      transport: this.transport,
      paths,
      username: o.username,
      password: o.password,
      aliveTimeSeconds: o.aliveTimeSeconds,
      keepAliveIntervalMs: o.keepAliveIntervalMs,
      logger: this.logger,
    });
    if (o.tls.insecureSkipVerify) this.logger.warn("TLS certificate verification is OFF for the VSP array");
    const api = new Api(paths, this.transport, this.sessions, o, this.logger);
    this.storage = new Storage(api);
    this.pools = new Pools(api);
    this.jobs = new Jobs(api);
    this.ldevs = new Ldevs(api);
    this.ports = new Ports(api);
    this.hostGroups = new HostGroups(api);
    this.hostWwns = new HostWwns(api);
    this.hostIscsis = new HostIscsis(api);
    this.luns = new Luns(api);
    this.snapshots = new Snapshots(api);
    this.snapshotGroups = new SnapshotGroups(api);
    this.snapshotTree = new SnapshotTree(api);
    this.localCloneCopyPairs = new LocalCloneCopyPairs(api);
    this.localCloneCopyGroups = new LocalCloneCopyGroups(api);
    this.resourceGroupLock = new ResourceGroupLock(api);
  }

  /** Logs in now instead of on the first call (checks address, TLS and credentials at start-up). */
  async connect(): Promise<void> {
    const call = { method: "POST" as const, path: this.paths.objects("sessions"), logger: this.logger };
    await withRetry(this.retry, call, () => this.sessions.session());
  }

  /** The array's id of the current session, if one is open. */
  get sessionId(): number | undefined {
    return this.sessions.sessionId;
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.transport.inFlight;
  }

  /** Discards the session on the array (DELETE sessions/{id}), stops timers, closes connections. */
  async close(): Promise<void> {
    await this.sessions.close();
    await this.transport.close();
  }
}

/** The public members of a class: a structural type a fake can implement. */
type PublicOf<T> = { [K in keyof T]: T[K] };

type ResourceKey =
  | "storage"
  | "pools"
  | "jobs"
  | "ldevs"
  | "ports"
  | "hostGroups"
  | "hostWwns"
  | "hostIscsis"
  | "luns"
  | "snapshots"
  | "snapshotGroups"
  | "snapshotTree"
  | "localCloneCopyPairs"
  | "localCloneCopyGroups"
  | "resourceGroupLock";

/** What the driver depends on: the resource groups, not HTTP (a fake can implement this). */
export type VspArray = { readonly [K in ResourceKey]: PublicOf<VspClient[K]> } & { close(): Promise<void> };
