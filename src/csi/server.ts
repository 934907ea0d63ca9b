/**
 * The gRPC server: CSI services on a unix socket (what kubelet and the sidecars dial) or TCP (for
 * tests and split controller/node runs). Wiring only; the services live in their own modules.
 *
 * grpc-js (through Node's HTTP/2) resets streams whose :authority is not a valid host. Kubelet
 * (since Kubernetes 1.26, kubernetes PR 112597), the kubernetes-csi sidecars and csi-sanity send
 * "localhost" on unix sockets, which is served; clients that send the socket path are not
 * supported. Supported Kubernetes: 1.26 and later.
 */
import { rm } from "node:fs/promises";

import { Server, ServerCredentials } from "@grpc/grpc-js";

import type { ControllerHandlers } from "./generated/csi/v1/Controller.js";
import type { GroupControllerHandlers } from "./generated/csi/v1/GroupController.js";
import type { IdentityHandlers } from "./generated/csi/v1/Identity.js";
import type { NodeHandlers } from "./generated/csi/v1/Node.js";
import { loadCsiProto } from "./proto-options.js";

export interface CsiServices {
  identity: IdentityHandlers;
  controller?: ControllerHandlers;
  groupController?: GroupControllerHandlers;
  node?: NodeHandlers;
}

export interface RunningCsiServer {
  /** The address clients dial: unix:///path or host:port. */
  address: string;
  stop(): Promise<void>;
}

/** unix:///abs/path, unix:/abs/path or tcp://host:port → the grpc-js bind address. */
export function bindAddress(endpoint: string): { address: string; socketPath?: string } {
  // unix:///abs/path (empty authority) or unix:/abs/path; unix://name is a relative path: refused.
  const unix = /^unix:(?:\/\/)?(\/[^/].*)$/.exec(endpoint);
  if (unix?.[1]) return { address: `unix://${unix[1]}`, socketPath: unix[1] };
  const tcp = /^tcp:\/\/(.+:\d+)$/.exec(endpoint);
  if (tcp?.[1]) return { address: tcp[1] };
  throw new Error(`endpoint must be unix:///path or tcp://host:port, got "${endpoint}"`);
}

export async function startCsiServer(endpoint: string, services: CsiServices): Promise<RunningCsiServer> {
  const { address, socketPath } = bindAddress(endpoint);
  // A socket file left by a killed predecessor would make bind fail with EADDRINUSE.
  if (socketPath) await rm(socketPath, { force: true });
  const csi = loadCsiProto().csi.v1;
  const server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
  server.addService(csi.Identity.service, services.identity);
  if (services.controller) server.addService(csi.Controller.service, services.controller);
  if (services.groupController) server.addService(csi.GroupController.service, services.groupController);
  if (services.node) server.addService(csi.Node.service, services.node);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });
  const shown = socketPath ? `unix://${socketPath}` : address.replace(/:0$/, `:${port}`);
  return {
    address: shown,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
      }),
  };
}
