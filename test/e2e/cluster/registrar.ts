/**
 * A stand-in for node-driver-registrar (not served by the Go module proxy), in the test support
 * only: its whole job toward kubelet is the plugin registration API. Served on
 * `<kubelet root>/plugins_registry/<driver>-reg.sock`, where kubelet's plugin watcher finds it,
 * it answers GetInfo with the driver's name and its socket path on the host (what the chart gives
 * the registrar as --kubelet-registration-path), and records kubelet's verdict.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mkdir, rm } from "node:fs/promises";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO = join(dirname(fileURLToPath(import.meta.url)), "pluginregistration.proto");

export interface Registrar {
  /** kubelet's NotifyRegistrationStatus, once it came. */
  status(): { registered: boolean; error: string } | undefined;
  stop(): Promise<void>;
}

export async function startRegistrar(
  kubeletRoot: string,
  driverName: string,
  driverSocket: string,
): Promise<Registrar> {
  const definition = protoLoader.loadSync(PROTO, { keepCase: true, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    pluginregistration: { Registration: grpc.ServiceClientConstructor };
  };
  let status: { registered: boolean; error: string } | undefined;
  const server = new grpc.Server();
  server.addService(pkg.pluginregistration.Registration.service, {
    GetInfo: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, {
        type: "CSIPlugin",
        name: driverName,
        endpoint: driverSocket,
        supported_versions: ["1.0.0"],
      });
    },
    NotifyRegistrationStatus: (
      call: grpc.ServerUnaryCall<{ plugin_registered: boolean; error: string }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      status = { registered: call.request.plugin_registered, error: call.request.error };
      callback(null, {});
    },
  });
  const registry = join(kubeletRoot, "plugins_registry");
  await mkdir(registry, { recursive: true });
  const socket = join(registry, `${driverName}-reg.sock`);
  await rm(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
  return {
    status: () => status,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
      });
      await rm(socket, { force: true });
    },
  };
}
