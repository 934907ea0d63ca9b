/**
 * The data path behind Thin Image clones and restores: a thin-aware copy moves only the written
 * data of a volume, byte for byte, and works in place so a loop device over the target stays valid.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { GIB, MIB } from "../config.js";
import { BlockStore } from "./block-store.js";

/** 8 MiB of random data in four 2 MiB extents spread over a 1 GiB volume, first and last MiB included. */
const EXTENT = 2 * MIB;
const OFFSETS = [0, 300 * MIB, 700 * MIB, GIB - EXTENT];
const WRITTEN = OFFSETS.length * EXTENT;
/** "A few filesystem blocks" of metadata a copy may add (extent tree blocks on ext4). */
const SLACK = 16 * 4096;

let dir: string;
let blocks: BlockStore;
let src: string;
const extents = OFFSETS.map((offset) => ({ offset, data: randomBytes(EXTENT) }));

/**
 * What a host must read from the volume: computed from the written extents and zeros, without
 * touching the disk, so it is an oracle independent of the files under test.
 */
function expectedHash(size: number): string {
  const hash = createHash("sha256");
  const zeros = Buffer.alloc(16 * MIB);
  const feedZeros = (count: number) => {
    for (let left = count; left > 0; left -= zeros.length)
      hash.update(zeros.subarray(0, Math.min(left, zeros.length)));
  };
  let at = 0;
  for (const { offset, data } of extents) {
    feedZeros(offset - at);
    hash.update(data);
    at = offset + data.length;
  }
  feedZeros(size - at);
  return hash.digest("hex");
}

/** SHA-256 of bytes [start, end) of `path`, holes read as zeros. */
async function hashRange(path: string, start: number, end: number): Promise<string> {
  const hash = createHash("sha256");
  const file = await open(path, "r");
  try {
    const buffer = Buffer.alloc(16 * MIB);
    for (let at = start; at < end;) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, end - at), at);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await file.close();
  }
  return hash.digest("hex");
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsp-block-store-"));
  blocks = new BlockStore(dir);
  await blocks.init();
  await blocks.create(1, GIB);
  src = blocks.ldevPath(1);
  for (const { offset, data } of extents) await blocks.write(src, offset, data);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Reading 1 GiB of holes costs a few seconds on a small VM (page cache for zeros); each test reads
// one copy once, and the expected bytes come from expectedHash() rather than from the source file.
describe("BlockStore.copyAllocated", () => {
  it("copies a 1 GiB volume holding 8 MiB as about 8 MiB, byte for byte", async () => {
    expect(await blocks.allocatedBytes(src)).toBeGreaterThanOrEqual(WRITTEN);
    const dst = blocks.ldevPath(2);
    const { allocatedBytes, elapsedMs } = await blocks.copyAllocated(src, dst, GIB);
    console.log(
      `thin copy of a 1 GiB LDEV holding ${WRITTEN / MIB} MiB: ${allocatedBytes} bytes allocated ` +
        `(${(allocatedBytes / MIB).toFixed(2)} MiB) in ${elapsedMs.toFixed(1)} ms`,
    );
    expect(allocatedBytes).toBeGreaterThanOrEqual(WRITTEN);
    expect(allocatedBytes).toBeLessThanOrEqual(WRITTEN + SLACK);
    expect((await stat(dst)).size).toBe(GIB);
    expect(await blocks.sha256(dst)).toBe(expectedHash(GIB));
  });

  it("copies onto an existing, larger volume in place: same inode, old data gone, extra space zeros", async () => {
    const extra = 64 * MIB;
    await blocks.create(3, GIB + extra);
    const dst = blocks.ldevPath(3);
    // Old data where the source has a hole, and in the extra space: a restore must not leave it.
    await blocks.write(dst, 500 * MIB, Buffer.alloc(MIB, 0xee));
    await blocks.write(dst, GIB + MIB, Buffer.alloc(MIB, 0xee));
    const before = await stat(dst);

    const { allocatedBytes } = await blocks.copyAllocated(src, dst, GIB + extra);

    const after = await stat(dst);
    // Same inode on the same device: a loop device over the target file stays valid.
    expect([after.dev, after.ino]).toEqual([before.dev, before.ino]);
    expect(after.size).toBe(GIB + extra);
    expect(allocatedBytes).toBeLessThanOrEqual(WRITTEN + SLACK);
    expect(await hashRange(dst, 0, GIB + extra)).toBe(expectedHash(GIB + extra));
    const edge = await blocks.read(dst, GIB - 16, 32);
    expect(edge.subarray(0, 16)).toEqual(extents.at(-1)?.data.subarray(EXTENT - 16));
    expect(edge.subarray(16).every((b) => b === 0)).toBe(true);
  });
});

describe("BlockStore write fence (consistency-group splits)", () => {
  const byte = async (path: string) => (await blocks.read(path, 0, 1))[0];

  it("holds a host write issued during fenced work until the work ends", async () => {
    await blocks.create(10, MIB);
    const path = blocks.ldevPath(10);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: (number | undefined)[] = [];
    const work = blocks.fenced([path], async () => {
      await gate;
      seen.push(await byte(path));
    });
    const write = blocks.write(path, 0, Buffer.from([7]));
    await new Promise((r) => setTimeout(r, 50));
    expect(await byte(path)).toBe(0);
    release();
    await work;
    await write;
    // The image taken inside the fence did not get the write; the volume has it afterwards.
    expect(seen).toEqual([0]);
    expect(await byte(path)).toBe(7);
  });

  it("lets writes already in progress land before the fenced work starts", async () => {
    await blocks.create(11, MIB);
    const path = blocks.ldevPath(11);
    const write = blocks.write(path, 0, Buffer.from([9]));
    const seen = await blocks.fenced([path], () => byte(path));
    await write;
    expect(seen).toBe(9);
  });

  it("does not hold writes to volumes outside the fence", async () => {
    await blocks.create(12, MIB);
    await blocks.create(13, MIB);
    const fencedPath = blocks.ldevPath(12);
    const other = blocks.ldevPath(13);
    const seen = await blocks.fenced([fencedPath], async () => {
      await blocks.write(other, 0, Buffer.from([5]));
      return byte(other);
    });
    expect(seen).toBe(5);
  });
});
