/**
 * iSCSI attach and detach against a fake sysfs and a fake iscsiadm (no iSCSI target here): the
 * commands sent (discovery, manual scan, CHAP with the password redacted from messages, login),
 * only the published LUN scanned on the session's own SCSI host, the disk chosen by WWID, and
 * logout only of sessions no other disk uses.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { FakeSys } from "../test-support/fake-host.js";
import type { RecordedCall } from "../test-support/fake-host.js";
import { IscsiDevices, parseDiscovery, parseSessions } from "./iscsi.js";
import { ScsiHost } from "./scsi.js";
import type { AttachTarget } from "./types.js";

const NAA = "60060e8012345600502034560000002b";
const WWID = `3${NAA}`;
const IQN_A = "iqn.1994-04.jp.co.hitachi:rsd.h8m.t.10000.1c000";
const IQN_B = "iqn.1994-04.jp.co.hitachi:rsd.h8m.t.10000.1d000";
const TIMINGS = { pollMs: 5, removeSettleMs: 150, pathSettleMs: 150 };

let fake: FakeSys;
let iscsi: IscsiDevices;
/** The fake iscsiadm's sessions: sid → [portal, iqn]. */
let sessions: Map<number, [string, string]>;

function target(overrides: Partial<AttachTarget> = {}): AttachTarget {
  return {
    volumeId: "1.886000123456.v.43.cv-y",
    ldevId: 43,
    naa: NAA,
    luns: [
      { portId: "CL3-A", lun: 3 },
      { portId: "CL4-A", lun: 3 },
    ],
    targetWwns: new Map(),
    portals: new Map([
      ["CL3-A", { address: "192.0.2.10", port: 3260 }],
      ["CL4-A", { address: "192.0.2.11", port: 3260 }],
    ]),
    targetIqns: new Map(),
    ...overrides,
  };
}

/** A minimal iscsiadm: discovery answers, login makes a session (and its SCSI host), logout ends it. */
async function iscsiadm(call: RecordedCall): Promise<{ stdout?: string; exitCode?: number } | undefined> {
  if (call.command !== "iscsiadm") return undefined;
  const a = call.args;
  const arg = (flag: string) => a[a.indexOf(flag) + 1] ?? "";
  if (a[1] === "discovery") {
    return { stdout: `192.0.2.10:3260,1 ${IQN_A}\n192.0.2.11:3260,2 ${IQN_B}\n192.0.2.12:3260,3 ${IQN_B}\n` };
  }
  if (a[1] === "session") {
    if (sessions.size === 0) return { exitCode: 21, stdout: "iscsiadm: No active sessions." };
    const lines = [...sessions].map(([sid, [portal, iqn]]) => `tcp: [${sid}] ${portal},1 ${iqn} (non-flash)`);
    return { stdout: `${lines.join("\n")}\n` };
  }
  if (a.includes("--login")) {
    const existing = [...sessions.values()].some(([p, i]) => p === arg("-p") && i === arg("-T"));
    if (existing) return { exitCode: 15 };
    const sid = sessions.size + 7;
    sessions.set(sid, [arg("-p"), arg("-T")]);
    await fake.iscsiSession(sid + 2, sid); // session 7 → host 9, session 8 → host 10
    return {};
  }
  if (a.includes("--logout")) {
    for (const [sid, [p, i]] of sessions) if (p === arg("-p") && i === arg("-T")) sessions.delete(sid);
    return {};
  }
  return {};
}

beforeEach(async () => {
  fake = await FakeSys.create();
  sessions = new Map();
  fake.runner.on(iscsiadm);
  // The target answers a scan of LUN 3 on a session's host with the volume's disk.
  fake.runner.onScan = async (host, what) => {
    if (what === "- - 3")
      await fake.disk(`${host}:0:0:3`, `sd${String.fromCharCode(97 + host)}`, `naa.${NAA}`);
  };
  iscsi = new IscsiDevices(fake.runner, new ScsiHost(fake.runner, fake.host, TIMINGS), 400);
});
afterEach(async () => {
  await fake.cleanup();
});

describe("iSCSI attach", () => {
  it("discovers, turns automatic LUN scanning off, logs in, and scans only LUN 3 on each session's host", async () => {
    const device = await iscsi.attach(target());
    expect(fake.runner.lines()).toEqual([
      "iscsiadm -m discovery -t sendtargets -p 192.0.2.10:3260",
      `iscsiadm -m node -T ${IQN_A} -p 192.0.2.10:3260 -o update -n node.session.scan -v manual`,
      `iscsiadm -m node -T ${IQN_A} -p 192.0.2.10:3260 --login`,
      "iscsiadm -m session",
      "tee /sys/class/scsi_host/host9/scan <<< - - 3",
      "iscsiadm -m discovery -t sendtargets -p 192.0.2.11:3260",
      `iscsiadm -m node -T ${IQN_B} -p 192.0.2.11:3260 -o update -n node.session.scan -v manual`,
      `iscsiadm -m node -T ${IQN_B} -p 192.0.2.11:3260 --login`,
      "iscsiadm -m session",
      "tee /sys/class/scsi_host/host10/scan <<< - - 3",
    ]);
    expect(device).toEqual({ path: `${fake.root}/dev/sdj`, identity: { kind: "wwid", wwid: WWID } });
  });

  it("sets CHAP on the node record before login, marking the passwords for redaction", async () => {
    const chap = {
      username: "user1",
      password: "s3cret-pass",
      usernameIn: "target1",
      passwordIn: "s3cret-in",
    };
    await iscsi.attach(target({ chap, luns: [{ portId: "CL3-A", lun: 3 }] }));
    const updates = fake.runner.calls.filter((c) => c.args.includes("-o") && c.args.includes("update"));
    expect(updates.map((c) => c.args.slice(-4).join(" "))).toEqual([
      "-n node.session.scan -v manual",
      "-n node.session.auth.authmethod -v CHAP",
      "-n node.session.auth.username -v user1",
      "-n node.session.auth.password -v s3cret-pass",
      "-n node.session.auth.username_in -v target1",
      "-n node.session.auth.password_in -v s3cret-in",
    ]);
    for (const c of updates) expect(c.options.redact).toEqual(["s3cret-pass", "s3cret-in"]);
    const login = fake.runner.lines().findIndex((l) => l.endsWith("--login"));
    expect(login).toBeGreaterThan(fake.runner.lines().findIndex((l) => l.includes("password_in")));
  });

  it("accepts 'session already exists' (exit 15) from a login", async () => {
    sessions.set(7, ["192.0.2.10:3260", IQN_A]);
    await fake.iscsiSession(9, 7);
    const device = await iscsi.attach(target({ luns: [{ portId: "CL3-A", lun: 3 }] }));
    expect(device.path).toBe(`${fake.root}/dev/sdj`);
    expect(sessions.size).toBe(1);
  });

  it("creates the node record itself and skips discovery when the context names the target IQN", async () => {
    await iscsi.attach(
      target({ luns: [{ portId: "CL3-A", lun: 3 }], targetIqns: new Map([["CL3-A", IQN_A]]) }),
    );
    expect(fake.runner.lines().slice(0, 2)).toEqual([
      `iscsiadm -m node -T ${IQN_A} -p 192.0.2.10:3260 -o new`,
      `iscsiadm -m node -T ${IQN_A} -p 192.0.2.10:3260 -o update -n node.session.scan -v manual`,
    ]);
    expect(fake.runner.lines().some((l) => l.includes("discovery"))).toBe(false);
  });

  it("surfaces a failed login with iscsiadm's exit code and message", async () => {
    fake.runner.on(
      (c) =>
        c.args.includes("--login")
          ? { exitCode: 24, stderr: "iscsiadm: Login failed to authenticate with target" }
          : undefined,
      true,
    );
    await expect(iscsi.attach(target())).rejects.toThrow(
      /--login: failed with exit code 24: iscsiadm: Login failed to authenticate/,
    );
  });

  it("never takes another volume's disk at LUN 3: times out when only that one shows up", async () => {
    fake.runner.onScan = async (host, what) => {
      if (what === "- - 3") await fake.disk(`${host}:0:0:3`, "sdq", "naa.60060e80123456005020345600000077");
    };
    await expect(iscsi.attach(target({ luns: [{ portId: "CL3-A", lun: 3 }] }))).rejects.toThrow(
      /no disk with WWID 360060e8012345600502034560000002b.*sdq at 9:0:0:3 has WWID 360060e80123456005020345600000077/,
    );
  });
});

describe("iSCSI detach", () => {
  beforeEach(async () => {
    await iscsi.attach(target());
    fake.runner.calls.length = 0;
  });

  it("deletes the disks and logs out of both sessions when nothing else uses them", async () => {
    await iscsi.detach({ kind: "wwid", wwid: WWID });
    const lines = fake.runner.lines();
    expect(lines).toContain("tee /sys/class/scsi_device/9:0:0:3/device/delete <<< 1");
    expect(lines).toContain("tee /sys/class/scsi_device/10:0:0:3/device/delete <<< 1");
    expect(lines).toContain(`iscsiadm -m node -T ${IQN_A} -p 192.0.2.10:3260 --logout`);
    expect(lines).toContain(`iscsiadm -m node -T ${IQN_B} -p 192.0.2.11:3260 --logout`);
    expect(lines.indexOf(`iscsiadm -m node -T ${IQN_A} -p 192.0.2.10:3260 --logout`)).toBeGreaterThan(
      lines.indexOf("tee /sys/class/scsi_device/9:0:0:3/device/delete <<< 1"),
    );
    expect(sessions.size).toBe(0);
  });

  it("keeps a session another volume's disk still uses", async () => {
    await fake.disk("10:0:0:4", "sdx", "naa.60060e80123456005020345600000044");
    await iscsi.detach({ kind: "wwid", wwid: WWID });
    const logouts = fake.runner.lines().filter((l) => l.endsWith("--logout"));
    expect(logouts).toEqual([`iscsiadm -m node -T ${IQN_A} -p 192.0.2.10:3260 --logout`]);
    expect([...sessions.keys()]).toEqual([8]);
  });

  it("fails when a logout leaves the session up", async () => {
    fake.runner.on((c) => (c.args.includes("--logout") ? { exitCode: 0 } : undefined), true);
    await expect(iscsi.detach({ kind: "wwid", wwid: WWID })).rejects.toThrow(/still logged in after logout/);
  });
});

describe("iscsiadm output", () => {
  it("parses sessions and sendtargets answers, IPv6 portals included", () => {
    expect(
      parseSessions(
        `tcp: [3] 192.0.2.10:3260,1 ${IQN_A} (non-flash)\ntcp: [4] [2001:db8::1]:3260,2 ${IQN_B} (non-flash)\n`,
      ),
    ).toEqual([
      { sid: 3, portal: "192.0.2.10:3260", iqn: IQN_A },
      { sid: 4, portal: "[2001:db8::1]:3260", iqn: IQN_B },
    ]);
    expect(parseDiscovery(`192.0.2.10:3260,1 ${IQN_A}\n[2001:db8::1]:3260,2 ${IQN_B}\n\ngarbage\n`)).toEqual([
      { portal: "192.0.2.10:3260", iqn: IQN_A },
      { portal: "[2001:db8::1]:3260", iqn: IQN_B },
    ]);
  });
});
