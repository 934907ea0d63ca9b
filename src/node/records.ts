/**
 * What this node staged, one small JSON file per volume in the node's state directory
 * (node.stateDir): the staging path, the device identity (loop backing file or WWID), the access
 * type and filesystem, and the target paths it is published at with their capability.
 *
 * Why a record: NodeUnstage, NodeUnpublish, NodeGetVolumeStats and NodeExpandVolume receive only
 * the volume id and a path — no publish context — yet must act on exactly that volume's device
 * (verify that a path is a mount of THIS volume, flush and delete THIS WWID's paths). The record is
 * written before anything is mounted and removed only after the device is gone, so a crash at any
 * point leaves what the next call needs to finish or undo the work. The kernel's mount table stays
 * the truth for what is mounted; the record says which device belongs to which volume.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { DeviceIdentity } from "./devices/types.js";
import { isNotFound } from "./host.js";
import type { NodeTransport } from "./initiators.js";

export type AccessType = "mount" | "block";

export interface Publication {
  readonly readonly: boolean;
  readonly accessMode: string;
  readonly accessType: AccessType;
}

export interface StageRecord {
  readonly version: 1;
  readonly volumeId: string;
  readonly stagingPath: string;
  readonly transport: NodeTransport;
  readonly identity: DeviceIdentity;
  /** The device node at stage time (informational; always re-resolved from the identity). */
  readonly device: string;
  readonly accessType: AccessType;
  /** The filesystem actually mounted ("" for block, or before the filesystem is known). */
  readonly fsType: string;
  readonly mountFlags: readonly string[];
  readonly accessMode: string;
  readonly publications: Readonly<Record<string, Publication>>;
}

export class RecordStore {
  constructor(readonly dir: string) {}

  /** A file name for any volume id (CSI allows 128 bytes of anything): readable when safe. */
  private file(volumeId: string): string {
    const safe = /^[A-Za-z0-9._-]{1,128}$/.test(volumeId) && !volumeId.startsWith(".");
    const name = safe ? volumeId : `h-${createHash("sha256").update(volumeId).digest("hex").slice(0, 40)}`;
    return join(this.dir, `${name}.json`);
  }

  async get(volumeId: string): Promise<StageRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(this.file(volumeId), "utf8")) as StageRecord;
      return record.volumeId === volumeId ? record : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Atomic replace (write + rename), so a crash never leaves half a record. */
  async put(record: StageRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.file(record.volumeId);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  }

  async remove(volumeId: string): Promise<void> {
    await rm(this.file(volumeId), { force: true });
  }

  /** Every record (to find which volume occupies a staging path). */
  async all(): Promise<StageRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    const records: StageRecord[] = [];
    for (const name of names.filter((n) => n.endsWith(".json"))) {
      try {
        records.push(JSON.parse(await readFile(join(this.dir, name), "utf8")) as StageRecord);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return records;
  }
}
