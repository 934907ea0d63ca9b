/**
 * The host as the node plugin sees it: sysfs, /dev and /etc under a configurable root (the node
 * container mounts the host's root there; tests point it at a fake tree), the kernel's mount table,
 * and device numbers. Reads only; changes go through the Runner.
 */
import { constants } from "node:fs";
import { access, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

import { MOUNTINFO, allMounts } from "./mounts.js";
import type { MountEntry } from "./mounts.js";

export class Host {
  constructor(
    readonly root: string,
    readonly mountInfoPath: string = MOUNTINFO,
  ) {}

  sys(...parts: string[]): string {
    return join(this.root, "sys", ...parts);
  }

  dev(name: string): string {
    return join(this.root, "dev", name);
  }

  etc(...parts: string[]): string {
    return join(this.root, "etc", ...parts);
  }

  mounts(): Promise<MountEntry[]> {
    return allMounts(this.mountInfoPath);
  }

  /**
   * "major:minor" of a block device node, or undefined when the path is not a block device. Tests
   * of the fc/iscsi logic override this: their fake /dev holds plain files.
   */
  async deviceNumber(path: string): Promise<string | undefined> {
    try {
      const st = await stat(path, { bigint: true });
      if (!st.isBlockDevice()) return undefined;
      return formatDevNumber(st.rdev);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/** Linux's dev_t encoding (glibc gnu_dev_major/minor). */
export function formatDevNumber(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** A sysfs attribute, trimmed; undefined when absent. */
export async function readAttr(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Entries of a directory; [] when absent. */
export async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
