/**
 * OpenStack Cinder's hbsd FC and iSCSI connectors, replayed request by request against the
 * simulator: storage-scoped URLs, legacy PUT for changes, `Response-Job-Status: Completed;` with
 * `Response-Max-Wait` on every job, and the ids Cinder parses out of affectedResources
 * (CIN-API, CIN-REST `_run_add_lun`/`map_ldev`/`unmap_ldev`, CIN-FC, CIN-ISCSI).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { SSB } from "../../errors.js";
import { startTestSim } from "../../test-support/harness.js";
import type { RawResponse, TestSim } from "../../test-support/harness.js";
import { seedLdev } from "../../test-support/seed.js";

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
  await seedLdev(t.sim.core, 20, 1024 * 1024);
  await seedLdev(t.sim.core, 21, 1024 * 1024);
});
afterEach(async () => {
  await t.stop();
});

/** Cinder's request: object_url is storage-scoped; async calls wait for the completed job. */
function cinder(method: string, path: string, body?: unknown): Promise<RawResponse> {
  const headers: Record<string, string> =
    method === "GET" ? {} : { "Response-Job-Status": "Completed;", "Response-Max-Wait": "1800" };
  return t.req(method, `${t.scoped}/${path}`, body, headers);
}

/** CIN-API `_add_object` + `add_host_grp`/`add_lun`: the int after the last comma of the last segment. */
function lastInt(job: RawResponse): number {
  expect(job.body.state, JSON.stringify(job.body.error)).toBe("Succeeded");
  const url: string = job.body.affectedResources[0];
  return Number(url.split("/").at(-1)?.split(",").at(-1));
}

function succeeded(res: RawResponse): boolean {
  return (
    res.status === 200 ||
    (res.status === 202 && res.body.status === "Completed" && res.body.state === "Succeeded")
  );
}

function ssbOf(res: RawResponse): [string, string] | undefined {
  const code = res.body?.error?.errorCode;
  return code?.SSB1 ? [code.SSB1, code.SSB2] : undefined;
}

/** CIN-REST `_run_add_lun`: without a LUN, B958/015A means "already mapped, read it back". */
async function runAddLun(ldev: number, port: string, gid: number, lun?: number): Promise<number | undefined> {
  const body: Record<string, unknown> = { portId: port, hostGroupNumber: gid, ldevId: ldev };
  if (lun !== undefined) body.lun = lun;
  const res = await cinder("POST", "luns", body);
  if (succeeded(res)) return lastInt(res);
  const ssb = ssbOf(res);
  if (lun === undefined && ssb?.join("/") === SSB.LU_PATH_ALREADY_DEFINED.join("/")) {
    const luns = await cinder(
      "GET",
      `luns?portId=${port}&hostGroupNumber=${gid}&isBasicLunInformation=False`,
    );
    const found: { lun: number } | undefined = luns.body.data.find(
      (l: { ldevId: number }) => l.ldevId === ldev,
    );
    return found?.lun;
  }
  if (lun !== undefined && ssb?.join("/") === SSB.ANOTHER_LDEV_AT_LUN.join("/")) return undefined;
  throw new Error(`add_lun failed: ${JSON.stringify(res.body)}`);
}

describe("Cinder FC connector", () => {
  const wwpn = "10000090fa0d6754";
  const name = `HBSD-${wwpn}`;

  /** CIN-FC find_targets_from_storage + create_target_to_storage + set_target_mode + set_hba_ids. */
  async function attachTarget(port: string): Promise<number> {
    const byName = await cinder("GET", `host-wwns?portId=${port}&hostGroupName=${name}`);
    if (byName.body.data.length > 0) return Number(byName.body.data[0].hostGroupNumber);
    const groups = await cinder("GET", `host-groups?portId=${port}`);
    for (const g of groups.body.data) {
      const wwns = await cinder("GET", `host-wwns?portId=${port}&hostGroupNumber=${g.hostGroupNumber}`);
      if (wwns.body.data.some((w: { hostWwn: string }) => w.hostWwn === wwpn))
        return Number(g.hostGroupNumber);
    }
    let gid: number;
    const created = await cinder("POST", "host-groups", { portId: port, hostGroupName: name });
    if (succeeded(created)) {
      gid = lastInt(created);
    } else {
      // On failure Cinder re-lists the port and adopts a group of the same name.
      const again = await cinder("GET", `host-groups?portId=${port}`);
      gid = again.body.data.find((g: { hostGroupName: string }) => g.hostGroupName === name).hostGroupNumber;
    }
    const mode = await cinder("PUT", `host-groups/${port},${gid}`, {
      hostMode: "LINUX/IRIX",
      hostModeOptions: [91],
    });
    expect(succeeded(mode)).toBe(true);
    const added = await cinder("POST", "host-wwns", { hostWwn: wwpn, portId: port, hostGroupNumber: gid });
    expect(succeeded(added)).toBe(true);
    return gid;
  }

  it("checks the ports, creates HBSD-<wwn> groups, maps on two ports at one LUN, re-attaches, detaches", async () => {
    const ports = await cinder("GET", "ports?portAttributes=TAR");
    const usable = ports.body.data.filter(
      (p: { portType: string; lunSecuritySetting: boolean }) =>
        ["FIBRE", "FCoE"].includes(p.portType) && p.lunSecuritySetting,
    );
    expect(usable.map((p: { portId: string; wwn: string }) => [p.portId, p.wwn])).toEqual([
      ["CL1-A", "50060e8012345600"],
      ["CL2-A", "50060e8012345610"],
    ]);

    const g1 = await attachTarget("CL1-A");
    const g2 = await attachTarget("CL2-A");
    expect((await cinder("GET", `host-groups/CL1-A,${g1}`)).body).toMatchObject({
      hostGroupName: name,
      hostModeOptions: [91],
    });

    const lun = await runAddLun(20, "CL1-A", g1);
    expect(lun).toBe(0);
    expect(await runAddLun(20, "CL2-A", g2, lun)).toBe(0);

    // A second attach of the same volume finds the groups by name and reads the existing LUN back.
    expect(await attachTarget("CL1-A")).toBe(g1);
    expect(await runAddLun(20, "CL1-A", g1)).toBe(0);

    // Detach: the LDEV's ports[] names the paths; unmap ignores KART30013-E; then empty groups go.
    const ldev = await cinder("GET", "ldevs/20");
    const paths: { portId: string; hostGroupNumber: number; lun: number }[] = ldev.body.ports;
    expect(paths.map((p) => `${p.portId},${p.hostGroupNumber},${p.lun}`).sort()).toEqual([
      `CL1-A,${g1},0`,
      `CL2-A,${g2},0`,
    ]);
    for (const p of paths) {
      expect(succeeded(await cinder("DELETE", `luns/${p.portId},${p.hostGroupNumber},${p.lun}`))).toBe(true);
      const again = await cinder("DELETE", `luns/${p.portId},${p.hostGroupNumber},${p.lun}`);
      expect(again.body.messageId).toBe("KART30013-E");
      const left = await cinder(
        "GET",
        `luns?portId=${p.portId}&hostGroupNumber=${p.hostGroupNumber}&isBasicLunInformation=False`,
      );
      expect(left.body.data).toEqual([]);
      expect(succeeded(await cinder("DELETE", `host-groups/${p.portId},${p.hostGroupNumber}`))).toBe(true);
    }
    expect((await cinder("GET", "ldevs/20")).body.ports ?? []).toEqual([]);
  });

  it("skips a second port whose LUN is held by another LDEV (B958/0947)", async () => {
    const g1 = await attachTarget("CL1-A");
    const g2 = await attachTarget("CL2-A");
    expect(await runAddLun(21, "CL2-A", g2)).toBe(0);
    const lun = await runAddLun(20, "CL1-A", g1);
    expect(lun).toBe(0);
    expect(await runAddLun(20, "CL2-A", g2, lun)).toBeUndefined();
    const onCl2 = await cinder("GET", `luns?portId=CL2-A&hostGroupNumber=${g2}&isBasicLunInformation=False`);
    expect(onCl2.body.data.map((l: { ldevId: number }) => l.ldevId)).toEqual([21]);
  });

  it("adopts a same-named group when its create fails", async () => {
    const pre = await cinder("POST", "host-groups", {
      portId: "CL1-A",
      hostGroupName: name,
      hostGroupNumber: 9,
    });
    expect(lastInt(pre)).toBe(9);
    // Not yet holding the WWN, so the name probe misses and the create collides on the name.
    expect(await attachTarget("CL1-A")).toBe(9);
    const wwns = await cinder("GET", `host-wwns?portId=CL1-A&hostGroupName=${name}`);
    expect(wwns.body.data.map((w: { hostWwn: string }) => w.hostWwn)).toEqual([wwpn]);
  });
});

describe("Cinder iSCSI connector", () => {
  const initiator = "iqn.1994-05.com.redhat:5a0f1e2d3c4b";
  const name = "HBSD-192.0.2.10";

  it("creates the target with initiator + .hbsd-target, registers the IQN, maps, and builds the portal", async () => {
    const ports = await cinder("GET", "ports?portType=ISCSI&portAttributes=TAR");
    expect(ports.body.data.map((p: { portId: string }) => p.portId)).toEqual(["CL3-A", "CL4-A"]);
    const portal = await cinder("GET", "ports/CL3-A");
    expect(`${portal.body.ipv4Address}:${portal.body.tcpPort}`).toBe("127.0.0.1:3260");

    expect((await cinder("GET", `host-iscsis?portId=CL3-A&hostGroupName=${name}`)).body.data).toEqual([]);
    const groups = await cinder("GET", "host-groups?portId=CL3-A");
    for (const g of groups.body.data) expect(typeof g.iscsiName).toBe("string");

    const created = await cinder("POST", "host-groups", {
      portId: "CL3-A",
      hostGroupName: name,
      iscsiName: `${initiator}.hbsd-target`,
    });
    const gid = lastInt(created);
    const mode = await cinder("PUT", `host-groups/CL3-A,${gid}`, {
      hostMode: "LINUX/IRIX",
      hostModeOptions: [83, 91],
    });
    expect(succeeded(mode)).toBe(true);
    expect(
      succeeded(
        await cinder("POST", "host-iscsis", { iscsiName: initiator, portId: "CL3-A", hostGroupNumber: gid }),
      ),
    ).toBe(true);

    expect(await runAddLun(20, "CL3-A", gid)).toBe(0);

    // get_properties_iscsi: the target IQN from the host group.
    const target = await cinder("GET", `host-groups/CL3-A,${gid}`);
    expect(target.body).toMatchObject({ iscsiName: `${initiator}.hbsd-target`, hostModeOptions: [83, 91] });

    // The next attach finds the target by name, and its IQN from the group.
    const found = await cinder("GET", `host-iscsis?portId=CL3-A&hostGroupName=${name}`);
    expect(
      found.body.data.map((i: { iscsiName: string; hostGroupNumber: number }) => [
        i.iscsiName,
        i.hostGroupNumber,
      ]),
    ).toEqual([[initiator, gid]]);
  });
});
