/**
 * LDEV blocks on disk. Each LDEV is one sparse file `<dataDir>/ldevs/<ldevId>.img` whose size is the
 * LDEV's capacity; only written regions occupy disk, exactly as a DP volume only holds pages that
 * were written. Point-in-time images of Thin Image pairs live in `<dataDir>/snapshots/`.
 *
 * Copies are thin-aware: GNU cp (coreutils >= 9) walks the source with SEEK_DATA/SEEK_HOLE and uses
 * copy_file_range/reflinks where the filesystem has them, so copying a 1 GiB volume holding 8 MiB
 * reads and writes about 8 MiB. Node has no lseek(SEEK_DATA), hence the one host tool.
 *
 * Host writes (the admin data endpoint: what a host writes through a LUN) pass a write fence: while
 * the array takes the point-in-time images of a consistency group, writes to those volumes wait,
 * and the images are taken only once writes already in progress have landed. That is the array's
 * consistency-group guarantee (D-TI-GROUPS: the snapshot data of every P-VOL at the moment the
 * request was received) — without it a write landing between two image copies would be in one
 * image and not in an earlier one. sim: writes through a loop device over the file bypass it.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rm, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** A copy of a 16 TiB volume is still only its allocated data; bound the tool anyway. */
const COPY_TIMEOUT_MS = 30 * 60 * 1000;

export interface CopyResult {
  /** Bytes the destination holds on disk after the copy: the data that was actually copied. */
  allocatedBytes: number;
  elapsedMs: number;
}

export class BlockStore {
  readonly ldevDir: string;
  readonly snapshotDir: string;
  private readonly fence = new WriteFence();

  constructor(dataDir: string) {
    this.ldevDir = join(dataDir, "ldevs");
    this.snapshotDir = join(dataDir, "snapshots");
  }

  async init(): Promise<void> {
    await mkdir(this.ldevDir, { recursive: true });
    await mkdir(this.snapshotDir, { recursive: true });
  }

  ldevPath(ldevId: number): string {
    return join(this.ldevDir, `${ldevId}.img`);
  }

  /** The stored point-in-time image of a Thin Image pair (or a ShadowImage pair's split image). */
  imagePath(key: string): string {
    return join(this.snapshotDir, `${key}.img`);
  }

  /** Creates an empty (all-holes) volume of `bytes`. Replaces any stale file of a deleted LDEV. */
  async create(ldevId: number, bytes: number): Promise<void> {
    const handle = await open(this.ldevPath(ldevId), "w");
    try {
      await handle.truncate(bytes);
    } finally {
      await handle.close();
    }
  }

  async resize(ldevId: number, bytes: number): Promise<void> {
    await truncate(this.ldevPath(ldevId), bytes);
  }

  async remove(ldevId: number): Promise<void> {
    await rm(this.ldevPath(ldevId), { force: true });
  }

  async removeImage(key: string): Promise<void> {
    await rm(this.imagePath(key), { force: true });
  }

  /** Bytes of disk the file really uses (allocated blocks), 0 if it does not exist. */
  async allocatedBytes(path: string): Promise<number> {
    try {
      return (await stat(path)).blocks * 512;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw err;
    }
  }

  /**
   * Copies only the allocated regions of `src` onto `dst` in place (same inode, so a loop device
   * over `dst` keeps working), then sets `dst` to `sizeBytes` — larger when a clone target is
   * bigger than its source.
   */
  async copyAllocated(src: string, dst: string, sizeBytes: number): Promise<CopyResult> {
    const started = performance.now();
    await execFileAsync("cp", ["--sparse=always", "--reflink=auto", "--", src, dst], {
      timeout: COPY_TIMEOUT_MS,
      killSignal: "SIGKILL",
    });
    await truncate(dst, sizeBytes);
    return { allocatedBytes: await this.allocatedBytes(dst), elapsedMs: performance.now() - started };
  }

  async read(path: string, offset: number, length: number): Promise<Buffer> {
    const handle = await open(path, "r");
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  /** A host write: waits while `path` is fenced (see the header). */
  async write(path: string, offset: number, data: Uint8Array): Promise<void> {
    await this.fence.enter(path);
    try {
      const handle = await open(path, "r+");
      try {
        await handle.write(data, 0, data.length, offset);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    } finally {
      this.fence.leave(path);
    }
  }

  /**
   * Runs `work` with host writes to `paths` held: writes in progress finish first, new ones wait
   * until `work` has ended (either way).
   */
  async fenced<T>(paths: readonly string[], work: () => Promise<T>): Promise<T> {
    await this.fence.close(paths);
    try {
      return await work();
    } finally {
      this.fence.open(paths);
    }
  }

  /** SHA-256 of the whole volume, holes read as zeros (what a host would read). */
  async sha256(path: string): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      hash.update(chunk as Buffer);
    }
    return hash.digest("hex");
  }
}

/** Per-path gate: writers enter and leave; a fence closes paths and waits for writers to drain. */
class WriteFence {
  private readonly writers = new Map<string, number>();
  private readonly closed = new Map<string, number>();
  private waiters: (() => void)[] = [];

  async enter(path: string): Promise<void> {
    while (this.closed.has(path)) await this.changed();
    this.writers.set(path, (this.writers.get(path) ?? 0) + 1);
  }

  leave(path: string): void {
    const n = (this.writers.get(path) ?? 1) - 1;
    if (n > 0) this.writers.set(path, n);
    else this.writers.delete(path);
    this.wake();
  }

  async close(paths: readonly string[]): Promise<void> {
    for (const p of paths) this.closed.set(p, (this.closed.get(p) ?? 0) + 1);
    while (paths.some((p) => this.writers.has(p))) await this.changed();
  }

  open(paths: readonly string[]): void {
    for (const p of paths) {
      const n = (this.closed.get(p) ?? 1) - 1;
      if (n > 0) this.closed.set(p, n);
      else this.closed.delete(p);
    }
    this.wake();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
