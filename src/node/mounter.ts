/**
 * mount(8)/umount(8) through the runner, each result checked against the kernel's mount table
 * (mounts.ts): a mount "succeeds" only when the path shows the expected device with the expected
 * read-only flag, an unmount only when nothing is mounted there any more.
 */
import { HostOperationError } from "./errors.js";
import type { Host } from "./host.js";
import { isReadOnly } from "./mounts.js";
import type { MountEntry } from "./mounts.js";
import type { Runner } from "./runner.js";

/** Stacked mounts at one path are unmounted one by one; more than this is not ours to untangle. */
const MAX_STACKED = 8;
/**
 * mount may replay a journal and umount writes back every dirty page: minutes on a big, busy
 * volume. Long, but bounded — the per-volume lock answers ABORTED to kubelet's retries meanwhile.
 */
const MOUNT_TIMEOUT_MS = 5 * 60_000;

export class Mounter {
  constructor(
    private readonly runner: Runner,
    private readonly host: Host,
  ) {}

  /** The mounts at `path`, the visible (topmost) one last. */
  async at(path: string): Promise<MountEntry[]> {
    return (await this.host.mounts()).filter((m) => m.mountPoint === path);
  }

  async top(path: string): Promise<MountEntry | undefined> {
    return (await this.at(path)).at(-1);
  }

  /** Mounts a filesystem device; verifies the path then shows that device. */
  async mountDevice(
    device: string,
    target: string,
    fsType: string,
    options: readonly string[],
  ): Promise<void> {
    const opts = options.length > 0 ? ["-o", options.join(",")] : [];
    await this.runner.run("mount", ["-t", fsType, ...opts, device, target], { timeoutMs: MOUNT_TIMEOUT_MS });
    const expected = await this.host.deviceNumber(device);
    const top = await this.top(target);
    if (!top || top.devId !== expected) {
      throw new HostOperationError(`mount reported success but ${target} does not show ${device}`);
    }
  }

  /**
   * Bind-mounts `source` (a directory, or a device node for raw block) at `target`, read-only
   * when asked: a bind mount ignores "ro" until remounted, so that is a second, verified step.
   */
  async bind(source: string, target: string, readonly: boolean): Promise<void> {
    await this.runner.run("mount", ["--bind", source, target]);
    if (readonly) await this.runner.run("mount", ["-o", "remount,bind,ro", target]);
    const top = await this.top(target);
    if (!top || isReadOnly(top) !== readonly) {
      throw new HostOperationError(
        `bind mount of ${source} at ${target} is ${top ? (isReadOnly(top) ? "read-only" : "read-write") : "missing"}, expected ${readonly ? "read-only" : "read-write"}`,
      );
    }
  }

  /** Unmounts everything at `path` (stacked mounts too); nothing mounted is success. */
  async unmount(path: string): Promise<void> {
    for (let i = 0; i < MAX_STACKED && (await this.at(path)).length > 0; i++) {
      await this.runner.run("umount", [path], { timeoutMs: MOUNT_TIMEOUT_MS });
    }
    const left = await this.at(path);
    if (left.length > 0)
      throw new HostOperationError(`${path} is still mounted (${left.length} mounts) after umount`);
  }
}
