/**
 * Test helpers for the CSI layer: typed gRPC clients over a socket, with promise-returning calls.
 * Not part of the build.
 */
import { credentials } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";

import { loadCsiProto } from "../proto-options.js";

type Callback = (err: ServiceError | null, res?: unknown) => void;
/** The request type of a generated client method (its last overload is `(argument, callback)`). */
type RequestOf<M> = M extends (argument: infer A, callback: never) => unknown ? A : never;
type ResponseOf<M> = M extends (
  argument: never,
  callback: (err: ServiceError | null, value?: infer R) => void,
) => unknown
  ? R
  : never;

/** Calls a unary RPC by name and returns a promise: `await call(identity, "Probe", {})`. */
export function call<C extends object, K extends keyof C>(
  client: C,
  method: K,
  req: RequestOf<C[K]>,
): Promise<ResponseOf<C[K]>> {
  const fn = client[method] as unknown as (this: C, req: unknown, cb: Callback) => unknown;
  return new Promise((resolve, reject) => {
    fn.call(client, req, (err, res) => {
      if (err) reject(err);
      else resolve(res as ResponseOf<C[K]>);
    });
  });
}

export function csiClients(address: string) {
  const csi = loadCsiProto().csi.v1;
  const creds = credentials.createInsecure();
  // grpc-go clients (csi-sanity, sidecars) send :authority "localhost" on unix sockets; do the same.
  const options = { "grpc.default_authority": "localhost" };
  const clients = {
    identity: new csi.Identity(address, creds, options),
    controller: new csi.Controller(address, creds, options),
    groupController: new csi.GroupController(address, creds, options),
    node: new csi.Node(address, creds, options),
  };
  return {
    ...clients,
    close: () => {
      for (const client of Object.values(clients)) client.close();
    },
  };
}
