/**
 * Composition root: configuration in, CSI services out. The only place that knows every layer.
 */
import { VspClient } from "../array/client.js";
import type { Config } from "../config/index.js";
import { identityService } from "../csi/identity.js";
import { controllerService } from "../csi/controller.js";
import { groupControllerService } from "../csi/group-controller.js";
import { InFlight } from "../csi/inflight.js";
import { nodeService } from "../csi/node.js";
import type { CsiServices } from "../csi/server.js";
import { ArrayRegistry } from "../driver/arrays.js";
import type { ManagedArray } from "../driver/arrays.js";
import { currentDeadline } from "../deadline.js";
import { onArray } from "../driver/array-errors.js";
import { GroupJanitor } from "../driver/group-janitor.js";
import { GroupSnapshotService } from "../driver/group-snapshots.js";
import { formatNodeId } from "../driver/node-id.js";
import { parseVolumeParameters } from "../driver/parameters.js";
import { PublishService } from "../driver/publish.js";
import { SnapshotService } from "../driver/snapshots.js";
import { VolumeService } from "../driver/volumes.js";
import type { Logger } from "../logging.js";
import { nodeIdentity } from "../node/initiators.js";
import type { NodeTransport } from "../node/initiators.js";
import { createNodeDeps, defaultStateDir } from "../node/plugin.js";

const PROBE_CACHE_MS = 5_000;
const MIB = 1024n * 1024n;

export interface Driver {
  services: CsiServices;
  close(): Promise<void>;
}

/** One REST client per configured array, bounded by the CSI call it works for (src/deadline.ts). */
export function clientsFor(config: Config, logger: Logger): ManagedArray[] {
  return config.arrays.map((a) => ({
    config: a,
    client: new VspClient({
      baseUrl: a.url,
      storageDeviceId: a.storageDeviceId,
      username: a.credentials.username,
      password: a.credentials.password,
      urlStyle: a.urlStyle,
      tls: { ...(a.caBundle ? { caBundle: a.caBundle.pem } : {}), insecureSkipVerify: a.insecureSkipVerify },
      maxConcurrentRequests: a.maxConcurrentRequests,
      deadline: currentDeadline,
      logger,
    }),
  }));
}

/** Readiness: every array answers, checked at most every few seconds (kubelet probes often). */
function arrayProbe(registry: ArrayRegistry): () => Promise<boolean> {
  let checkedAt = 0;
  let ready = false;
  return async () => {
    if (Date.now() - checkedAt < PROBE_CACHE_MS) return ready;
    ready = (await Promise.allSettled(registry.all().map((a) => a.client.storage.get()))).every(
      (r) => r.status === "fulfilled",
    );
    checkedAt = Date.now();
    return ready;
  };
}

function nodeTransport(config: Config): NodeTransport {
  return config.node.transport ?? config.arrays[0]?.transport ?? "fc";
}

export async function buildDriver(config: Config, logger: Logger): Promise<Driver> {
  const controller = config.mode !== "node";
  const node = config.mode !== "controller";
  const registry = new ArrayRegistry(controller ? clientsFor(config, logger) : [], config.defaultArray);
  const volumes = new VolumeService(registry, config.driverName);
  const publish = new PublishService(volumes);
  let stopJanitor: () => void = () => undefined;
  // Node calls have no operation timeout of their own: kubelet sets a deadline on every call.
  const operationTimeoutMs = config.controller.operationTimeoutSeconds * 1000;
  const services: CsiServices = {
    identity: identityService({
      driverName: config.driverName,
      version: config.driverVersion,
      controller,
      groupController: controller,
      topology: false,
      probe: controller ? arrayProbe(registry) : () => Promise.resolve(true),
      logger,
    }),
  };
  if (controller) {
    const snapshots = new SnapshotService(volumes);
    const inflight = new InFlight();
    const groups = new GroupSnapshotService(volumes, snapshots);
    services.groupController = groupControllerService({ groups, inflight, logger, operationTimeoutMs });
    stopJanitor = startGroupJanitor(
      new GroupJanitor(() => registry.all(), groups, { graceMs: JANITOR_GRACE_MS }),
      logger,
    );
    services.controller = controllerService({
      volumes,
      publish,
      snapshots,
      inflight,
      logger,
      operationTimeoutMs,
      capacity: async (parameters) => {
        const p = parseVolumeParameters(parameters);
        const array = registry.forParameters(p.array);
        const pool = await onArray("reading the pool", () =>
          array.client.pools.get(p.pool ?? array.config.defaultPoolId),
        );
        return BigInt(pool.availableVolumeCapacity ?? 0) * MIB;
      },
    });
  }
  if (node) {
    const transport = nodeTransport(config);
    const identity = await nodeIdentity(config.nodeId, transport, config.node.hostRoot);
    const { simDataDir } = config.node;
    const stateDir = config.node.stateDir ?? defaultStateDir(config.driverName, transport, simDataDir);
    services.node = nodeService({
      nodeId: formatNodeId(identity),
      maxVolumesPerNode: config.node.maxVolumesPerNode,
      logger,
      deps: createNodeDeps({
        hostRoot: config.node.hostRoot,
        stateDir,
        ...(simDataDir === undefined ? {} : { simDataDir }),
        ...(config.node.transport ? { forcedTransport: config.node.transport } : {}),
        defaultTransport: transport,
        logger,
      }),
    });
  }
  return {
    services,
    close: () => {
      stopJanitor();
      return registry.close();
    },
  };
}

/** Abandoned group snapshot creates (group-janitor.ts): looked for every 5 min, removed after 15. */
const JANITOR_INTERVAL_MS = 5 * 60_000;
const JANITOR_GRACE_MS = 15 * 60_000;

/** Sweeps in the background (never keeping the process alive); returns the stop function. */
function startGroupJanitor(janitor: GroupJanitor, logger: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    janitor
      .sweep()
      .then(({ removed }) => {
        if (removed.length > 0)
          logger.warn({ removed }, "removed group snapshots whose create was abandoned");
      })
      .catch((err: unknown) => {
        logger.warn({ err }, "group snapshot janitor: sweep failed; will try again");
      })
      .finally(() => {
        running = false;
      });
  }, JANITOR_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
