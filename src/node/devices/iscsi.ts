/**
 * The iscsi transport (open-iscsi's iscsiadm): for each portal the publish context names, discover
 * the targets (sendtargets) unless the context names the target IQN, set CHAP when NodeStage has
 * secrets, log in with automatic LUN scanning OFF (node.session.scan = manual, so logging in does
 * not probe every LUN of the target), then scan only the published LUN on that session's SCSI host,
 * wait for the WWID, prefer the multipath map, verify.
 *
 * Unstage removes the disks (scsi.ts) and logs out of each session that has no disk left, so a
 * session shared with other volumes stays up.
 */
import { HostOperationError } from "../errors.js";
import { exists, listDir, sleep } from "../host.js";
import type { Runner } from "../runner.js";
import { findScsiDevice, notFound } from "./fc.js";
import type { ScsiHost } from "./scsi.js";
import type { AttachTarget, AttachedDevice, Chap, DeviceDriver, DeviceIdentity, Portal } from "./types.js";
import { wwidOfNaa } from "./wwid.js";

/** iscsiadm exit codes (open-iscsi include/iscsi_err.h). */
const ISCSI_ERR_SESS_EXISTS = 15;
const ISCSI_ERR_NO_OBJS_FOUND = 21;
/** open-iscsi retries a login up to 8 × 15 s by default (initial_login_retry_max, login_timeout). */
const LOGIN_TIMEOUT_MS = 150_000;

export interface IscsiSession {
  sid: number;
  /** "192.0.2.10:3260" or "[2001:db8::1]:3260" */
  portal: string;
  iqn: string;
}

export function portalText(portal: Portal): string {
  return portal.address.includes(":")
    ? `[${portal.address}]:${portal.port}`
    : `${portal.address}:${portal.port}`;
}

/** `iscsiadm -m session`: "tcp: [3] 192.0.2.10:3260,1 iqn.… (non-flash)". */
export function parseSessions(text: string): IscsiSession[] {
  const sessions: IscsiSession[] = [];
  for (const line of text.split("\n")) {
    const m = /^\S+:\s+\[(\d+)\]\s+(\S+?),\d+\s+(\S+)/.exec(line.trim());
    if (m?.[1] && m[2] && m[3]) sessions.push({ sid: Number(m[1]), portal: m[2], iqn: m[3] });
  }
  return sessions;
}

/** `iscsiadm -m discovery -t sendtargets`: "192.0.2.10:3260,1 iqn.…" per portal and target. */
export function parseDiscovery(text: string): { portal: string; iqn: string }[] {
  return text.split("\n").flatMap((line) => {
    const m = /^(\S+?),\d+\s+(\S+)$/.exec(line.trim());
    return m?.[1] && m[2] ? [{ portal: m[1], iqn: m[2] }] : [];
  });
}

export class IscsiDevices implements DeviceDriver {
  readonly transport = "iscsi" as const;

  constructor(
    private readonly runner: Runner,
    private readonly scsi: ScsiHost,
    private readonly attachTimeoutMs: number,
  ) {}

  async attach(target: AttachTarget): Promise<AttachedDevice> {
    const wwid = wwidOfNaa(target.naa ?? "");
    const deadline = Date.now() + this.attachTimeoutMs;
    let paths = 0;
    for (const { portId, lun } of target.luns) {
      const portal = target.portals.get(portId);
      if (!portal) continue;
      const given = target.targetIqns.get(portId);
      const iqns = given !== undefined ? [given] : await this.discover(portal);
      for (const iqn of iqns) {
        await this.login(iqn, portal, target.chap, given !== undefined);
        const host = await this.sessionHost(iqn, portal, deadline);
        // A software iSCSI session has a SCSI host of its own: "- - L" probes this one LUN of it.
        await this.scsi.scanLun(wwid, host, lun);
        paths += 1;
      }
    }
    if (paths === 0)
      throw new HostOperationError("no iSCSI target found at the portals of the publish context");
    const disks = await this.scsi.waitForDisks(wwid, paths, deadline);
    if (disks.length === 0) throw await notFound(this.scsi, target, wwid, this.attachTimeoutMs);
    return { path: await this.scsi.choose(wwid, disks, deadline), identity: { kind: "wwid", wwid } };
  }

  identityOf(target: AttachTarget): Promise<DeviceIdentity> {
    return Promise.resolve({ kind: "wwid", wwid: wwidOfNaa(target.naa ?? "") });
  }

  find(identity: DeviceIdentity): Promise<string | undefined> {
    return findScsiDevice(this.scsi, identity);
  }

  async refreshSize(identity: DeviceIdentity): Promise<void> {
    if (identity.kind === "wwid") await this.scsi.rescanSize(identity.wwid);
  }

  async detach(identity: DeviceIdentity): Promise<void> {
    if (identity.kind !== "wwid") return;
    const hosts = await this.scsi.removeAll(identity.wwid);
    const remaining = await this.scsi.disks();
    for (const host of hosts) {
      if (remaining.some((d) => d.host === host)) continue; // another volume still uses this session
      const sid = await this.sessionOfHost(host);
      const session = sid === undefined ? undefined : (await this.sessions()).find((s) => s.sid === sid);
      if (session) await this.logout(session);
    }
  }

  private async discover(portal: Portal): Promise<string[]> {
    const p = portalText(portal);
    const out = await this.runner.run("iscsiadm", ["-m", "discovery", "-t", "sendtargets", "-p", p]);
    // sendtargets lists every portal of every target; log in only through the published one.
    return [
      ...new Set(
        parseDiscovery(out.stdout)
          .filter((d) => d.portal === p)
          .map((d) => d.iqn),
      ),
    ];
  }

  private async login(
    iqn: string,
    portal: Portal,
    chap: Chap | undefined,
    newRecord: boolean,
  ): Promise<void> {
    const node = ["-m", "node", "-T", iqn, "-p", portalText(portal)];
    // Discovery wrote the node record; a target named by the context needs one made.
    if (newRecord) await this.runner.run("iscsiadm", [...node, "-o", "new"]);
    const settings: [string, string][] = [["node.session.scan", "manual"]];
    if (chap) {
      settings.push(["node.session.auth.authmethod", "CHAP"]);
      settings.push(["node.session.auth.username", chap.username]);
      settings.push(["node.session.auth.password", chap.password]);
      if (chap.usernameIn !== undefined && chap.passwordIn !== undefined) {
        settings.push(["node.session.auth.username_in", chap.usernameIn]);
        settings.push(["node.session.auth.password_in", chap.passwordIn]);
      }
    }
    const redact = chap ? [chap.password, chap.passwordIn ?? ""] : [];
    for (const [name, value] of settings) {
      await this.runner.run("iscsiadm", [...node, "-o", "update", "-n", name, "-v", value], { redact });
    }
    await this.runner.run("iscsiadm", [...node, "--login"], {
      okExitCodes: [ISCSI_ERR_SESS_EXISTS],
      timeoutMs: LOGIN_TIMEOUT_MS,
    });
  }

  private async logout(session: IscsiSession): Promise<void> {
    await this.runner.run("iscsiadm", ["-m", "node", "-T", session.iqn, "-p", session.portal, "--logout"]);
    if ((await this.sessions()).some((s) => s.sid === session.sid)) {
      throw new HostOperationError(
        `iSCSI session ${session.sid} to ${session.iqn} is still logged in after logout`,
      );
    }
  }

  async sessions(): Promise<IscsiSession[]> {
    const out = await this.runner.run("iscsiadm", ["-m", "session"], {
      okExitCodes: [ISCSI_ERR_NO_OBJS_FOUND],
    });
    return out.exitCode === ISCSI_ERR_NO_OBJS_FOUND ? [] : parseSessions(out.stdout);
  }

  /** /sys/class/scsi_host/host<H>/device/session<N>: the SCSI host of a session. */
  private async sessionHost(iqn: string, portal: Portal, deadline: number): Promise<number> {
    const session = (await this.sessions()).find((s) => s.iqn === iqn && s.portal === portalText(portal));
    if (!session)
      throw new HostOperationError(`no iSCSI session to ${iqn} at ${portalText(portal)} after login`);
    const sys = this.scsi.host;
    for (;;) {
      for (const name of await listDir(sys.sys("class/scsi_host"))) {
        const m = /^host(\d+)$/.exec(name);
        if (m && (await exists(sys.sys("class/scsi_host", name, "device", `session${session.sid}`)))) {
          return Number(m[1]);
        }
      }
      if (Date.now() >= deadline)
        throw new HostOperationError(`iSCSI session ${session.sid} has no SCSI host in sysfs`);
      await sleep(this.scsi.timings.pollMs);
    }
  }

  private async sessionOfHost(host: number): Promise<number | undefined> {
    const entries = await listDir(this.scsi.host.sys("class/scsi_host", `host${host}`, "device"));
    const m = entries.map((e) => /^session(\d+)$/.exec(e)).find((x) => x !== null);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  }
}
