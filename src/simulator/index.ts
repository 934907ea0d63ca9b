/**
 * The embedded VSP: `createSimulator()` builds one from a configuration, `listen()` serves it on
 * loopback (port 0 = any free port). Tests use it in-process; `vsp-csi simulator` wraps it.
 */
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

import { serve } from "@hono/node-server";
import type { ServerType } from "@hono/node-server";
import type { Hono } from "hono";

import { mountAdminRoutes } from "./admin.js";
import type { Clock } from "./clock.js";
import { systemClock } from "./clock.js";
import type { SimConfig } from "./config.js";
import { defaultConfig } from "./config.js";
import { SimCore } from "./core.js";
import { buildApp } from "./http.js";
import { registerAllResources } from "./resources/index.js";
import { mountSessionRoutes } from "./resources/sessions.js";
import { RouteTable } from "./routing.js";
import { ensureCertificate } from "./tls.js";

export interface SimulatorOptions extends Partial<Omit<SimConfig, "dataDir">> {
  dataDir: string;
  clock?: Clock;
}

export interface ListenOptions {
  port?: number;
  host?: string;
  /** Serve HTTPS with a self-signed certificate kept in the data directory. */
  tls?: boolean;
}

export interface RunningSimulator {
  port: number;
  /** PEM path of the certificate, when serving HTTPS: the CA bundle for clients. */
  certPath?: string;
  /** e.g. http://127.0.0.1:41234 — the client's base URL (without /ConfigurationManager). */
  url: string;
  close(): Promise<void>;
}

export class Simulator {
  readonly core: SimCore;
  readonly app: Hono;

  private constructor(core: SimCore, app: Hono) {
    this.core = core;
    this.app = app;
  }

  static async create(options: SimulatorOptions): Promise<Simulator> {
    const { clock, ...overrides } = options;
    const config: SimConfig = { ...defaultConfig(options.dataDir), ...overrides };
    const core = new SimCore(config, clock ?? systemClock);
    await core.init();
    const routes = new RouteTable();
    registerAllResources(routes, core);
    const app = buildApp(core, routes, (a) => {
      mountSessionRoutes(a, core);
      mountAdminRoutes(a, core);
    });
    return new Simulator(core, app);
  }

  /** Serves on `host:port` (port 0 picks a free one), over HTTPS when asked. */
  async listen(options: ListenOptions = {}): Promise<RunningSimulator> {
    const { port = 0, host = "127.0.0.1" } = options;
    const tls = options.tls === true ? await ensureCertificate(this.core.config.dataDir) : undefined;
    this.core.startClock();
    const server = await new Promise<ServerType>((resolve) => {
      const base = { fetch: this.app.fetch, port, hostname: host };
      const config = tls
        ? { ...base, createServer: createHttpsServer, serverOptions: { key: tls.key, cert: tls.cert } }
        : base;
      const s = serve(config, () => {
        resolve(s);
      });
    });
    const address = server.address() as AddressInfo;
    const shownHost = host.includes(":") ? `[${host}]` : host;
    return {
      port: address.port,
      ...(tls ? { certPath: tls.certPath } : {}),
      url: `${tls ? "https" : "http"}://${shownHost}:${address.port}`,
      close: () =>
        new Promise<void>((resolve, reject) => {
          this.core.stopClock();
          this.core.store.flush();
          if ("closeAllConnections" in server) server.closeAllConnections();
          server.close((err) => {
            if (err) reject(err);
            else resolve();
          });
        }),
    };
  }
}
