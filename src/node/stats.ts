/**
 * Usage numbers for NodeGetVolumeStats: statfs(2) of a mounted filesystem (bytes and inodes, as df
 * shows them), and the size of a raw block device.
 */
import { statfs } from "node:fs/promises";

import type { Runner } from "./runner.js";

export interface Usage {
  unit: "BYTES" | "INODES";
  total: bigint;
  available: bigint;
  used: bigint;
}

/** Bytes and inodes of the filesystem mounted at `path`. */
export async function filesystemUsage(path: string): Promise<Usage[]> {
  const fs = await statfs(path, { bigint: true });
  // used = total - free (not - available): blocks reserved for root are neither used nor available.
  return [
    {
      unit: "BYTES",
      total: fs.blocks * fs.bsize,
      available: fs.bavail * fs.bsize,
      used: (fs.blocks - fs.bfree) * fs.bsize,
    },
    { unit: "INODES", total: fs.files, available: fs.ffree, used: fs.files - fs.ffree },
  ];
}

/** Size in bytes of a block device (or of a file bind-mounted over one). */
export async function blockDeviceSize(runner: Runner, path: string): Promise<number> {
  const out = await runner.run("blockdev", ["--getsize64", path]);
  const bytes = Number(out.stdout.trim());
  if (!Number.isSafeInteger(bytes)) throw new Error(`blockdev --getsize64 ${path} printed "${out.stdout}"`);
  return bytes;
}
