/**
 * One session per client (vsp-rest-api.md §1): created with HTTP Basic, shared by every call,
 * refreshed by a keep-alive GET before `aliveTime` runs out (Cinder `_keep_session`), replaced after
 * a 401, discarded on close. Concurrent first calls share one in-flight login: no login storm, and
 * no wasted slot of the array's 64.
 */
import type { Logger } from "pino";
import { z } from "zod";

import { VspError, VspServerError } from "./errors.js";
import type { HttpRequest, Transport } from "./http.js";
import { responseError } from "./http.js";
import type { Paths } from "./paths.js";
import { replaySafe } from "./retry.js";

export interface ActiveSession {
  token: string;
  sessionId: number;
}

export interface SessionOptions {
  transport: Transport;
  paths: Paths;
  username: string;
  password: string;
  aliveTimeSeconds: number;
  keepAliveIntervalMs: number;
  logger: Logger;
}

const loginAnswer = z.object({ token: z.string().min(1), sessionId: z.number().int() });

/** Discarding a session at close should not hold a shutdown up for long. */
const DISCARD_TIMEOUT_MS = 5_000;

export class ClientClosedError extends Error {
  constructor() {
    super("the VSP client is closed");
    this.name = "ClientClosedError";
  }
}

export class SessionManager {
  private current: ActiveSession | undefined;
  private pending: Promise<ActiveSession> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private closed = false;

  constructor(private readonly o: SessionOptions) {}

  /** The current session, logging in first if there is none. */
  session(): Promise<ActiveSession> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    if (this.current) return Promise.resolve(this.current);
    this.pending ??= this.login().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets the session that answered 401, unless another caller has already replaced it. */
  invalidate(token: string): void {
    if (this.current?.token === token) {
      this.o.logger.info({ sessionId: this.current.sessionId }, "vsp session no longer valid");
      this.current = undefined;
    }
  }

  get sessionId(): number | undefined {
    return this.current?.sessionId;
  }

  private basicAuth(): string {
    return `Basic ${Buffer.from(`${this.o.username}:${this.o.password}`).toString("base64")}`;
  }

  /**
   * One login attempt. Its failures go to the calling request's retry loop, so the call's budget
   * bounds the whole (503 at the 64-session limit or busy → retried there); a login is harmless to
   * repeat, hence replaySafe.
   */
  private async login(): Promise<ActiveSession> {
    const path = this.o.paths.objects("sessions");
    const req: HttpRequest = { method: "POST", path, body: { aliveTime: this.o.aliveTimeSeconds } };
    let body: unknown;
    try {
      // Session creation is synchronous (D-METHODS): 200 or an error.
      const res = await this.o.transport.send({ ...req, headers: { Authorization: this.basicAuth() } });
      if (res.status !== 200) throw responseError(req, res);
      body = res.json;
    } catch (err) {
      throw replaySafe(err);
    }
    const parsed = loginAnswer.safeParse(body);
    if (!parsed.success) {
      throw new VspServerError(
        { method: "POST", path, httpStatus: 200 },
        "session answer has no token/sessionId",
      );
    }
    const session: ActiveSession = { token: parsed.data.token, sessionId: parsed.data.sessionId };
    if (this.closed) {
      await this.discard(session);
      throw new ClientClosedError();
    }
    this.current = session;
    this.o.logger.info({ sessionId: session.sessionId }, "vsp session created");
    this.startKeepAlive();
    return session;
  }

  private startKeepAlive(): void {
    if (this.timer || this.o.keepAliveIntervalMs <= 0) return;
    this.timer = setInterval(() => {
      void this.refresh();
    }, this.o.keepAliveIntervalMs);
    this.timer.unref();
  }

  /**
   * GET sessions/{id}: any authenticated request resets the array's idle timer. One attempt, as
   * Cinder does; a session the array no longer knows is forgotten and the next call logs in.
   */
  async refresh(): Promise<void> {
    const session = this.current;
    if (!session || this.refreshing || this.closed) return;
    this.refreshing = true;
    const req: HttpRequest = { method: "GET", path: this.o.paths.objects("sessions", session.sessionId) };
    try {
      const res = await this.o.transport.send({
        ...req,
        headers: { Authorization: `Session ${session.token}` },
      });
      if (res.status === 401 || res.status === 404) this.invalidate(session.token);
      else if (res.status !== 200) throw responseError(req, res);
      else this.o.logger.trace({ sessionId: session.sessionId }, "vsp session kept alive");
    } catch (err) {
      this.o.logger.warn(
        { sessionId: session.sessionId, err: err instanceof VspError ? err : String(err) },
        "vsp keep-alive failed",
      );
    } finally {
      this.refreshing = false;
    }
  }

  /** Stops the keep-alive and discards the session on the array (best effort). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.pending?.catch(() => undefined);
    const session = this.current;
    this.current = undefined;
    if (session) await this.discard(session);
  }

  private async discard(session: ActiveSession): Promise<void> {
    const req: HttpRequest = { method: "DELETE", path: this.o.paths.objects("sessions", session.sessionId) };
    try {
      const res = await this.o.transport.send({
        ...req,
        headers: { Authorization: `Session ${session.token}` },
        timeoutMs: DISCARD_TIMEOUT_MS,
      });
      if (res.status !== 200 && res.status !== 401 && res.status !== 404) throw responseError(req, res);
      this.o.logger.info({ sessionId: session.sessionId }, "vsp session discarded");
    } catch (err) {
      this.o.logger.warn(
        { sessionId: session.sessionId, err: err instanceof VspError ? err : String(err) },
        "vsp session discard failed",
      );
    }
  }
}
