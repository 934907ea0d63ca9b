/** Stage records: one file per volume, atomic replace, any CSI id as a safe file name. */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { RecordStore } from "./records.js";
import type { StageRecord } from "./records.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsp-csi-records-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(volumeId: string): StageRecord {
  return {
    version: 1,
    volumeId,
    stagingPath: "/var/lib/kubelet/plugins/kubernetes.io/csi/x/globalmount",
    transport: "fc",
    identity: { kind: "wwid", wwid: "360060e8012345600502034560000002a" },
    device: "/dev/dm-2",
    accessType: "mount",
    fsType: "ext4",
    mountFlags: [],
    accessMode: "SINGLE_NODE_WRITER",
    publications: {},
  };
}

describe("RecordStore", () => {
  it("stores, reads, replaces and removes a volume's record", async () => {
    const store = new RecordStore(join(dir, "state"));
    const id = "1.886000123456.v.291.cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    expect(await store.get(id)).toBeUndefined();
    await store.put(record(id));
    await store.put({
      ...record(id),
      publications: { "/t": { readonly: true, accessMode: "SINGLE_NODE_WRITER", accessType: "mount" } },
    });
    expect((await store.get(id))?.publications["/t"]?.readonly).toBe(true);
    expect(await readdir(join(dir, "state"))).toEqual([`${id}.json`]); // no temp file left
    await store.remove(id);
    expect(await store.get(id)).toBeUndefined();
    await store.remove(id);
  });

  it("names ids with slashes, dots in front or odd characters by their hash, never as paths", async () => {
    const store = new RecordStore(dir);
    for (const id of ["../../etc/passwd", ".hidden", "a b/c"]) await store.put(record(id));
    const names = await readdir(dir);
    expect(names).toHaveLength(3);
    for (const name of names) expect(name).toMatch(/^h-[0-9a-f]{40}\.json$/);
    expect((await store.get("../../etc/passwd"))?.volumeId).toBe("../../etc/passwd");
    expect((await store.all()).map((r) => r.volumeId).sort()).toEqual([
      "../../etc/passwd",
      ".hidden",
      "a b/c",
    ]);
  });
});
