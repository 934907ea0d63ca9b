/**
 * The fc transport: scan only the published LUN behind each target port the publish context names,
 * wait for the disk whose WWID is "3" + NAA, prefer the multipath map, verify.
 *
 * The exact H:C:T:L is known when the HBA has logged in to the target port: the remote port
 * (/sys/class/fc_remote_ports/rport-H:C-R, port_name = the port's WWN) gives host, channel and
 * scsi_target_id, and "C T L" is written to host H's scan file. When no remote port shows the WWN
 * (zoning not done yet, or an HBA that does not expose it), "- - L" on every FC host still probes
 * only that LUN number; the WWID check keeps any other volume at that number out.
 */
import { OperationTimeoutError } from "../../driver/errors.js";
import { HostOperationError } from "../errors.js";
import { listDir, readAttr } from "../host.js";
import type { ScsiDisk, ScsiHost } from "./scsi.js";
import type { AttachTarget, AttachedDevice, DeviceDriver, DeviceIdentity } from "./types.js";
import { wwidOfNaa } from "./wwid.js";

interface RemotePort {
  host: number;
  channel: number;
  targetId: number;
  wwn: string;
}

export class FcDevices implements DeviceDriver {
  readonly transport = "fc" as const;

  constructor(
    private readonly scsi: ScsiHost,
    private readonly attachTimeoutMs: number,
  ) {}

  async attach(target: AttachTarget): Promise<AttachedDevice> {
    const wwid = wwidOfNaa(target.naa ?? "");
    const deadline = Date.now() + this.attachTimeoutMs;
    const paths = await this.scan(target, wwid);
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
    if (identity.kind === "wwid") await this.scsi.removeAll(identity.wwid);
  }

  /** Scans each published LUN; returns how many paths to expect. */
  private async scan(target: AttachTarget, wwid: string): Promise<number> {
    const sys = this.scsi.host;
    const hosts = (await listDir(sys.sys("class/fc_host"))).flatMap((h) => {
      const m = /^host(\d+)$/.exec(h);
      return m ? [Number(m[1])] : [];
    });
    if (hosts.length === 0)
      throw new HostOperationError("no FC HBA on this node (/sys/class/fc_host is empty)");
    const rports = await this.remotePorts();
    let paths = 0;
    for (const { portId, lun } of target.luns) {
      const wwn = target.targetWwns.get(portId);
      const behind = rports.filter((r) => r.wwn === wwn && hosts.includes(r.host));
      for (const r of behind) await this.scsi.scanLun(wwid, r.host, lun, r.channel, r.targetId);
      if (behind.length === 0) for (const h of hosts) await this.scsi.scanLun(wwid, h, lun);
      paths += behind.length;
    }
    return paths;
  }

  private async remotePorts(): Promise<RemotePort[]> {
    const sys = this.scsi.host;
    const ports: RemotePort[] = [];
    for (const name of await listDir(sys.sys("class/fc_remote_ports"))) {
      const m = /^rport-(\d+):(\d+)-\d+$/.exec(name);
      if (!m) continue;
      const wwn = (await readAttr(sys.sys("class/fc_remote_ports", name, "port_name")))?.toLowerCase();
      const targetId = Number(await readAttr(sys.sys("class/fc_remote_ports", name, "scsi_target_id")));
      // scsi_target_id is -1 for a remote port that is not a SCSI target (another initiator).
      if (wwn === undefined || !Number.isInteger(targetId) || targetId < 0) continue;
      ports.push({ host: Number(m[1]), channel: Number(m[2]), targetId, wwn: wwn.replace(/^0x/, "") });
    }
    return ports;
  }
}

/** The map or first path of a WWID as it is now, without scanning. */
export async function findScsiDevice(scsi: ScsiHost, identity: DeviceIdentity): Promise<string | undefined> {
  if (identity.kind !== "wwid") return undefined;
  const map = await scsi.mapFor(identity.wwid);
  if (map) return scsi.host.dev(map.name);
  const [disk] = await scsi.disksWith(identity.wwid);
  return disk ? scsi.host.dev(disk.name) : undefined;
}

/** The error when the LUN never showed up: what IS at those LUN numbers helps find zoning/mapping faults. */
export async function notFound(
  scsi: ScsiHost,
  target: AttachTarget,
  wwid: string,
  timeoutMs: number,
): Promise<OperationTimeoutError> {
  const luns = new Set(target.luns.map((l) => l.lun));
  const others = (await scsi.disks()).filter((d: ScsiDisk) => luns.has(d.lun) && d.wwid !== wwid);
  const seen = others.map((d) => `${d.name} at ${d.hctl} has WWID ${d.wwid ?? "none"}`).join("; ");
  return new OperationTimeoutError(
    `no disk with WWID ${wwid} (LUN ${[...luns].join(", ")}) appeared within ${Math.round(timeoutMs / 1000)} s` +
      (seen === "" ? "" : `; not using: ${seen}`),
  );
}
