/**
 * Sessions and resource-group locks. A session is created with Basic auth and used with
 * `Authorization: Session <token>`; it expires after `aliveTime` seconds without a request; at most
 * `sessionLimit` (64) exist at once. A resource-group lock belongs to the session that took it and
 * is released when that session is discarded or expires.
 */
import { randomBytes } from "node:crypto";

import type { Clock } from "./clock.js";
import { isoSeconds } from "./clock.js";
import { invalidParameter, invalidToken, sessionLimitReached } from "./errors.js";

export interface Session {
  sessionId: number;
  token: string;
  userId: string;
  ipAddress: string;
  aliveTimeSeconds: number;
  authenticationTimeoutSeconds: number;
  createdAt: number;
  lastAccessAt: number;
}

export interface SessionView {
  sessionId: number;
  userId: string;
  ipAddress: string;
  createdTime: string;
  lastAccessTime: string;
  aliveTime: number;
  authenticationTimeout: number;
}

export class SessionStore {
  private readonly byToken = new Map<string, Session>();
  private nextId = 1;
  /** The session holding the resource-group lock, if any. */
  lockHolder: number | undefined;
  lockedAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
  ) {}

  create(userId: string, ipAddress: string, aliveTime = 300, authenticationTimeout = 120): Session {
    this.expireIdle();
    if (!Number.isInteger(aliveTime) || aliveTime < 1 || aliveTime > 300) {
      throw invalidParameter("aliveTime", "must be an integer from 1 to 300");
    }
    if (
      !Number.isInteger(authenticationTimeout) ||
      authenticationTimeout < 1 ||
      authenticationTimeout > 900
    ) {
      throw invalidParameter("authenticationTimeout", "must be an integer from 1 to 900");
    }
    if (this.byToken.size >= this.limit) throw sessionLimitReached(this.limit);
    const now = this.clock.now();
    const session: Session = {
      sessionId: this.nextId++,
      token: randomBytes(24).toString("base64url"),
      userId,
      ipAddress,
      aliveTimeSeconds: aliveTime,
      authenticationTimeoutSeconds: authenticationTimeout,
      createdAt: now,
      lastAccessAt: now,
    };
    this.byToken.set(session.token, session);
    return session;
  }

  /** Resolves a token and refreshes the session's idle timer; 401 when unknown or expired. */
  authenticate(token: string): Session {
    this.expireIdle();
    const session = this.byToken.get(token);
    if (!session) throw invalidToken();
    session.lastAccessAt = this.clock.now();
    return session;
  }

  get(sessionId: number): Session | undefined {
    this.expireIdle();
    return [...this.byToken.values()].find((s) => s.sessionId === sessionId);
  }

  list(): Session[] {
    this.expireIdle();
    return [...this.byToken.values()];
  }

  discard(sessionId: number): boolean {
    for (const [token, s] of this.byToken) {
      if (s.sessionId === sessionId) {
        this.byToken.delete(token);
        if (this.lockHolder === sessionId) this.lockHolder = undefined;
        return true;
      }
    }
    return false;
  }

  /** Fault injection: every session ends now, as after an array-side timeout or reboot. */
  expireAll(): void {
    this.byToken.clear();
    this.lockHolder = undefined;
  }

  view(s: Session): SessionView {
    return {
      sessionId: s.sessionId,
      userId: s.userId,
      ipAddress: s.ipAddress,
      createdTime: isoSeconds(s.createdAt),
      lastAccessTime: isoSeconds(s.lastAccessAt),
      aliveTime: s.aliveTimeSeconds,
      authenticationTimeout: s.authenticationTimeoutSeconds,
    };
  }

  tryLock(sessionId: number): boolean {
    this.expireIdle();
    if (this.lockHolder !== undefined && this.lockHolder !== sessionId) return false;
    this.lockHolder = sessionId;
    this.lockedAt = this.clock.now();
    return true;
  }

  unlock(sessionId: number): boolean {
    if (this.lockHolder !== sessionId) return false;
    this.lockHolder = undefined;
    return true;
  }

  /** True when a session other than `sessionId` holds the lock: its changes must be refused. */
  lockedByOther(sessionId: number): boolean {
    this.expireIdle();
    return this.lockHolder !== undefined && this.lockHolder !== sessionId;
  }

  private expireIdle(): void {
    const now = this.clock.now();
    for (const [token, s] of this.byToken) {
      if (now - s.lastAccessAt > s.aliveTimeSeconds * 1000) {
        this.byToken.delete(token);
        if (this.lockHolder === s.sessionId) this.lockHolder = undefined;
      }
    }
  }
}
