/**
 * The sim transport: the simulator's LUN is a loop device over the LDEV's data file
 * (`<simDataDir>/ldevs/<ldevId>.img`, src/simulator/data/block-store.ts), so staging, mkfs,
 * mount, resize and stats run for real on this machine and the bytes land in the array's volume.
 *
 * One loop device per LDEV: an existing loop device over the same file is reused (found with
 * `losetup --list`), a new one is made with `losetup --find --show`. A loop device is the volume's
 * only when its backing file is exactly the LDEV's file; a loop device left over a deleted LDEV
 * shows "<file> (deleted)" and is never taken (the LUN-reuse case of real arrays).
 *
 * sim: when NodeStage has no publish context (csi-sanity in split mode calls it without
 * ControllerPublish, as the node endpoint serves no controller), the LDEV id comes from the
 * volume id. A real LUN would not be visible to the host without its LU path.
 */
import { realpath, stat } from "node:fs/promises";
import { join } from "node:path";

import { FailedPreconditionError, NotFoundError } from "../../driver/errors.js";
import { HostOperationError } from "../errors.js";
import type { Host } from "../host.js";
import { isNotFound, sleep } from "../host.js";
import type { Runner } from "../runner.js";
import { FLUSH_TIMEOUT_MS } from "../runner.js";
import { blockDeviceSize } from "../stats.js";
import type { AttachTarget, AttachedDevice, DeviceDriver, DeviceIdentity } from "./types.js";

interface LoopDevice {
  name: string;
  backingFile: string;
}

interface LosetupList {
  loopdevices?: { name?: unknown; "back-file"?: unknown }[];
}

const DETACH_SETTLE_MS = 2_000;

export class SimLoopDevices implements DeviceDriver {
  readonly transport = "sim" as const;

  constructor(
    private readonly runner: Runner,
    private readonly host: Host,
    private readonly simDataDir: string | undefined,
  ) {}

  async attach(target: AttachTarget): Promise<AttachedDevice> {
    const identity = await this.identityOf(target);
    const existing = await this.find(identity);
    if (existing !== undefined) return { path: existing, identity };
    const out = await this.runner.run("losetup", ["--find", "--show", identity.backingFile]);
    const path = out.stdout.trim();
    const attached = (await this.list()).find((l) => l.name === path);
    if (!attached || !matches(attached, identity)) {
      throw new HostOperationError(
        `losetup attached ${path || "no device"} but it does not show ${identity.backingFile} as its backing file`,
      );
    }
    return { path, identity };
  }

  async find(identity: DeviceIdentity): Promise<string | undefined> {
    return (await this.matching(identity))[0]?.name;
  }

  async refreshSize(identity: DeviceIdentity): Promise<void> {
    if (identity.kind !== "loop") return;
    const fileBytes = (await stat(identity.backingFile)).size;
    for (const loop of await this.matching(identity)) {
      await this.runner.run("losetup", ["--set-capacity", loop.name]);
      const bytes = await blockDeviceSize(this.runner, loop.name);
      if (bytes !== fileBytes) {
        throw new HostOperationError(
          `${loop.name} shows ${bytes} bytes after losetup -c, the LDEV has ${fileBytes}`,
        );
      }
    }
  }

  async detach(identity: DeviceIdentity): Promise<void> {
    const loops = await this.matching(identity);
    for (const loop of loops) {
      const number = await this.host.deviceNumber(loop.name);
      const users = (await this.host.mounts()).filter((m) => number !== undefined && m.devId === number);
      if (users.length > 0) {
        throw new FailedPreconditionError(
          `${loop.name} is still mounted at ${users.map((m) => m.mountPoint).join(", ")}; not detaching it`,
        );
      }
      await this.runner.run("blockdev", ["--flushbufs", loop.name], { timeoutMs: FLUSH_TIMEOUT_MS });
      await this.runner.run("losetup", ["--detach", loop.name]);
    }
    // losetup -d of a device someone still holds open only sets autoclear: verify it is gone.
    const deadline = Date.now() + DETACH_SETTLE_MS;
    for (;;) {
      const left = await this.matching(identity);
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        throw new HostOperationError(
          `${left.map((l) => l.name).join(", ")} still attached to ${describe(identity)} after losetup -d (held open by a process?)`,
        );
      }
      await sleep(50);
    }
  }

  /** The LDEV's data file: it must exist (a deleted LDEV has none). */
  async identityOf({ ldevId }: AttachTarget): Promise<DeviceIdentity & { kind: "loop" }> {
    if (this.simDataDir === undefined) {
      throw new FailedPreconditionError(
        "the sim transport needs node.simDataDir (the simulator's data directory) to find LDEV data",
      );
    }
    const file = join(this.simDataDir, "ldevs", `${ldevId}.img`);
    try {
      return { kind: "loop", backingFile: await realpath(file) };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      throw new NotFoundError(
        `LDEV ${ldevId} has no data file ${file}: the volume does not exist on the simulator whose data directory is node.simDataDir`,
      );
    }
  }

  private async matching(identity: DeviceIdentity): Promise<LoopDevice[]> {
    if (identity.kind !== "loop") return [];
    return (await this.list()).filter((l) => matches(l, identity));
  }

  private async list(): Promise<LoopDevice[]> {
    const out = await this.runner.run("losetup", ["--list", "--json", "--output", "NAME,BACK-FILE"]);
    if (out.stdout.trim() === "") return []; // no loop device in use: losetup prints nothing
    const parsed = JSON.parse(out.stdout) as LosetupList;
    const loops: LoopDevice[] = [];
    for (const entry of parsed.loopdevices ?? []) {
      const name = entry.name;
      const backingFile = entry["back-file"];
      if (typeof name === "string" && typeof backingFile === "string") loops.push({ name, backingFile });
    }
    return loops.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
  }
}

function matches(loop: LoopDevice, identity: DeviceIdentity): boolean {
  return identity.kind === "loop" && loop.backingFile.trim() === identity.backingFile;
}

function describe(identity: DeviceIdentity): string {
  return identity.kind === "loop" ? identity.backingFile : identity.wwid;
}
