/**
 * A fake host for the fc/iscsi discovery logic: a sysfs/dev/etc tree in a temp directory laid out
 * like the kernel's (paths the real code reads, plain files and directories instead of symlinks),
 * a fake mount table, and a fake Runner that records every command and plays the kernel's part for
 * the writes that matter (a SCSI scan calls the test's hook, a delete removes the disk,
 * `multipath -f` removes the map). Not part of the build.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

import { Host, readAttr } from "../host.js";
import { CommandError } from "../runner.js";
import type { RunOptions, RunResult, Runner } from "../runner.js";

export class FakeHost extends Host {
  /** Device nodes whose major:minor the test wants to differ from sysfs. */
  readonly wrongNumbers = new Map<string, string>();

  /** A fake /dev holds plain files: the number is sysfs's, unless the test says otherwise. */
  override async deviceNumber(path: string): Promise<string | undefined> {
    const name = basename(path);
    const wrong = this.wrongNumbers.get(name);
    if (wrong !== undefined) return wrong;
    if ((await readAttr(path)) === undefined) return undefined;
    return readAttr(this.sys("block", name, "dev"));
  }
}

export interface RecordedCall {
  command: string;
  args: string[];
  input?: string;
  options: RunOptions;
}

export type Handler = (
  call: RecordedCall,
) => Partial<RunResult> | undefined | Promise<Partial<RunResult> | undefined>;

export class FakeSys {
  readonly host: FakeHost;
  readonly runner: FakeRunner;
  private nextDev = 16;

  private constructor(readonly root: string) {
    this.host = new FakeHost(root, join(root, "mountinfo"));
    this.runner = new FakeRunner(this);
  }

  static async create(): Promise<FakeSys> {
    const root = await mkdtemp(join(tmpdir(), "vsp-csi-fakesys-"));
    const fake = new FakeSys(root);
    for (const dir of ["sys/class/scsi_device", "sys/class/scsi_host", "sys/block", "dev", "etc"]) {
      await mkdir(join(root, dir), { recursive: true });
    }
    await writeFile(join(root, "mountinfo"), "");
    return fake;
  }

  async cleanup(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  private path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  async file(rel: string, content: string | Buffer): Promise<void> {
    await mkdir(join(this.root, rel, ".."), { recursive: true });
    await writeFile(join(this.root, rel), content);
  }

  async scsiHost(host: number): Promise<void> {
    await this.file(`sys/class/scsi_host/host${host}/scan`, "");
    await mkdir(this.path(`sys/class/scsi_host/host${host}/device`), { recursive: true });
  }

  async fcHost(host: number, wwpn: string): Promise<void> {
    await this.scsiHost(host);
    await this.file(`sys/class/fc_host/host${host}/port_name`, `0x${wwpn}\n`);
  }

  async remotePort(host: number, channel: number, n: number, wwn: string, targetId: number): Promise<void> {
    const dir = `sys/class/fc_remote_ports/rport-${host}:${channel}-${n}`;
    await this.file(`${dir}/port_name`, `0x${wwn}\n`);
    await this.file(`${dir}/scsi_target_id`, `${targetId}\n`);
  }

  async iscsiSession(host: number, sid: number): Promise<void> {
    await this.scsiHost(host);
    await mkdir(this.path(`sys/class/scsi_host/host${host}/device/session${sid}`), { recursive: true });
  }

  /** A SCSI disk at H:C:T:L: wwid is the sysfs text ("naa.…"), or a raw VPD 0x83 page. */
  async disk(hctl: string, name: string, wwid: string | Buffer): Promise<string> {
    const dev = `8:${this.nextDev++}`;
    const dir = `sys/class/scsi_device/${hctl}/device`;
    if (typeof wwid === "string") await this.file(`${dir}/wwid`, `${wwid}\n`);
    else await this.file(`${dir}/vpd_pg83`, wwid);
    await mkdir(this.path(`${dir}/block/${name}`), { recursive: true });
    await this.file(`${dir}/delete`, "");
    await this.file(`${dir}/rescan`, "");
    await this.file(`sys/block/${name}/dev`, `${dev}\n`);
    await mkdir(this.path(`sys/block/${name}/holders`), { recursive: true });
    await this.file(`dev/${name}`, "");
    return dev;
  }

  async removeDisk(hctl: string): Promise<void> {
    const names = await this.blockNames(hctl);
    await rm(this.path(`sys/class/scsi_device/${hctl}`), { recursive: true, force: true });
    for (const name of names) {
      await rm(this.path(`sys/block/${name}`), { recursive: true, force: true });
      await rm(this.path(`dev/${name}`), { force: true });
    }
  }

  private async blockNames(hctl: string): Promise<string[]> {
    return readdir(this.path(`sys/class/scsi_device/${hctl}/device/block`)).catch(() => []);
  }

  async map(name: string, mapName: string, wwid: string, slaves: string[]): Promise<string> {
    const dev = `253:${this.nextDev++}`;
    await this.file(`sys/block/${name}/dm/uuid`, `mpath-${wwid}\n`);
    await this.file(`sys/block/${name}/dm/name`, `${mapName}\n`);
    await this.file(`sys/block/${name}/dev`, `${dev}\n`);
    await mkdir(this.path(`sys/block/${name}/holders`), { recursive: true });
    for (const slave of slaves) {
      await mkdir(this.path(`sys/block/${name}/slaves/${slave}`), { recursive: true });
      await mkdir(this.path(`sys/block/${slave}/holders/${name}`), { recursive: true });
    }
    await this.file(`dev/${name}`, "");
    return dev;
  }

  async removeMap(mapName: string): Promise<void> {
    for (const name of await readdir(this.path("sys/block"))) {
      if ((await readAttr(this.path(`sys/block/${name}/dm/name`))) !== mapName) continue;
      for (const slave of await readdir(this.path(`sys/block/${name}/slaves`))) {
        await rm(this.path(`sys/block/${slave}/holders/${name}`), { recursive: true, force: true });
      }
      await rm(this.path(`sys/block/${name}`), { recursive: true, force: true });
      await rm(this.path(`dev/${name}`), { force: true });
    }
  }

  /** Makes the kernel's mount table show these devices mounted. */
  async mounted(entries: { dev: string; at: string }[]): Promise<void> {
    const lines = entries.map((e, i) => `${100 + i} 1 ${e.dev} / ${e.at} rw,relatime - ext4 /dev/x rw`);
    await writeFile(this.path("mountinfo"), lines.join("\n"));
  }
}

/** A NAA VPD 0x83 page with one logical-unit NAA designator (SPC-4 7.8.6). */
export function vpd83(naaHex: string): Buffer {
  const id = Buffer.from(naaHex, "hex");
  const designator = Buffer.concat([Buffer.from([0x01, 0x03, 0x00, id.length]), id]);
  // A target-port designator first (association 1), which must be skipped.
  const port = Buffer.from([0x61, 0x93, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
  const body = Buffer.concat([port, designator]);
  const header = Buffer.from([0x00, 0x83, 0x00, body.length]);
  return Buffer.concat([header, body]);
}

export class FakeRunner implements Runner {
  readonly calls: RecordedCall[] = [];
  private readonly handlers: Handler[] = [];
  /** Called for each write to a scan file: host number and what was written ("0 1 5"). */
  onScan: (host: number, what: string) => Promise<void> = () => Promise.resolve();
  /** When false, writes to a disk's delete file do nothing (a disk that will not go away). */
  deletesWork = true;

  constructor(private readonly fake: FakeSys) {}

  /** The first handler returning a result answers the call; `first` puts one before the others. */
  on(handler: Handler, first = false): void {
    if (first) this.handlers.unshift(handler);
    else this.handlers.push(handler);
  }

  /** Recorded calls as "command arg arg" lines (tee lines show the written text). */
  lines(): string[] {
    return this.calls.map(
      (c) =>
        [c.command, ...c.args.map((a) => a.replace(this.fake.root, ""))].join(" ") +
        (c.input ? ` <<< ${c.input}` : ""),
    );
  }

  async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const call: RecordedCall = {
      command,
      args: [...args],
      options,
      ...(options.input ? { input: options.input } : {}),
    };
    this.calls.push(call);
    let result: Partial<RunResult> | undefined;
    for (const handler of this.handlers) {
      result = await handler(call);
      if (result) break;
    }
    result ??= await this.kernel(call);
    const exitCode = result.exitCode ?? 0;
    const full = { stdout: result.stdout ?? "", stderr: result.stderr ?? "", exitCode };
    if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
      throw new CommandError(command, [...args], exitCode, full.stderr, full.stdout, false);
    }
    return full;
  }

  /** Default behaviour: what the kernel and the tools would do to the fake tree. */
  private async kernel(call: RecordedCall): Promise<Partial<RunResult>> {
    const [first] = call.args;
    if (call.command === "tee" && first !== undefined) {
      const scan = /scsi_host\/host(\d+)\/scan$/.exec(first);
      if (scan?.[1]) await this.onScan(Number(scan[1]), (call.input ?? "").trim());
      const del = /scsi_device\/([\d:]+)\/device\/delete$/.exec(first);
      if (del?.[1] && this.deletesWork) await this.fake.removeDisk(del[1]);
      return { stdout: call.input ?? "" };
    }
    if (call.command === "multipath" && first === "-f" && call.args[1])
      await this.fake.removeMap(call.args[1]);
    return {};
  }
}
