/**
 * Thin-aware copy: a 1 GiB LDEV holding 8 MiB copies about 8 MiB, not 1 GiB. Compares the block
 * store's copy (SEEK_DATA/SEEK_HOLE via cp --sparse) with a naive full read/write of the file.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { BlockStore } from "../src/simulator/data/block-store.js";
import { GIB, MIB } from "../src/simulator/config.js";

export interface ThinCopyFigures {
  volumeBytes: number;
  writtenBytes: number;
  copiedAllocatedBytes: number;
  thinCopyMs: number;
  fullCopyMs: number;
  fullCopyAllocatedBytes: number;
}

export async function benchThinCopy(): Promise<ThinCopyFigures> {
  const dir = await mkdtemp(join(tmpdir(), "vsp-bench-copy-"));
  try {
    const blocks = new BlockStore(dir);
    await blocks.init();
    await blocks.create(1, GIB);
    await blocks.create(2, GIB);
    // 8 MiB in 8 extents of 1 MiB spread over the volume, as a filesystem would scatter them.
    for (let i = 0; i < 8; i++) {
      await blocks.write(blocks.ldevPath(1), i * 128 * MIB, randomBytes(MIB));
    }
    const thin = await blocks.copyAllocated(blocks.ldevPath(1), blocks.ldevPath(2), GIB);
    const started = performance.now();
    // libuv's copyfile without reflink support reads and writes every byte, holes included.
    await copyFile(blocks.ldevPath(1), join(dir, "full.img"));
    const fullCopyMs = performance.now() - started;
    return {
      volumeBytes: GIB,
      writtenBytes: 8 * MIB,
      copiedAllocatedBytes: thin.allocatedBytes,
      thinCopyMs: thin.elapsedMs,
      fullCopyMs,
      fullCopyAllocatedBytes: await blocks.allocatedBytes(join(dir, "full.img")),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
