/**
 * The demo's group-snapshot step (`vsp-csi demo`): a "database" of two volumes — a log and a data
 * volume — written as ONE sequence of dependent records (record i goes to volume i % 2, each write
 * waited for before the next, as a database orders log and data writes). While the writer runs,
 * one CreateVolumeGroupSnapshot of both volumes; then both members are restored and read back.
 *
 * What the restored pair must show, for the group snapshot to be one point in time across both
 * volumes: the records present are exactly records 0…M-1 for some M (no record without its
 * predecessor, whichever volume each is on); every record written before the request was sent is
 * there; no record written after the answer came is.
 */
import { MIB } from "../simulator/config.js";

/** One 4 KiB record slot per record; record i lives on volume i % 2 at slot ⌊i / 2⌋. */
const RECORD = 4096;
/** Records written before the request: the part any snapshot must contain. */
const BEFORE = 64;
/** A bound on the writer, far above what one group snapshot takes (1 GiB volumes). */
const MAX_RECORDS = (2 * (64 * MIB)) / RECORD;

/** What the step needs from the demo (demo-command.ts), kept narrow. */
export interface GroupStepDeps {
  log(line: string): void;
  timed<T>(what: string, fn: () => Promise<T>): Promise<T>;
  check(what: string, ok: boolean, detail: string): void;
  createVolume(name: string, fromSnapshotId?: string): Promise<string>;
  deleteVolume(volumeId: string): Promise<void>;
  groupSnapshot(name: string, volumeIds: string[]): Promise<{ groupSnapshotId: string; members: Member[] }>;
  deleteGroupSnapshot(groupSnapshotId: string, snapshotIds: string[]): Promise<void>;
  followCopy(volumeId: string, label: string): Promise<number>;
  write(volumeId: string, offset: number, data: Buffer): Promise<void>;
  read(volumeId: string, offset: number, length: number): Promise<Buffer>;
}

export interface Member {
  snapshotId: string;
  sourceVolumeId: string;
}

function record(i: number): Buffer {
  const out = Buffer.alloc(RECORD, i % 251);
  out.write(`record:${String(i).padStart(8, "0")}`, 0, "ascii");
  return out;
}

/** The record number held in a slot, or undefined for a slot never written (zeros). */
function recordIn(slot: Buffer): number | undefined {
  const m = /^record:(\d{8})/.exec(slot.subarray(0, 15).toString("ascii"));
  return m ? Number(m[1]) : undefined;
}

/** The writer: records in order until stopped; remembers how far it was at given moments. */
class Writer {
  written = 0;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: GroupStepDeps,
    private readonly volumes: readonly [string, string],
  ) {}

  async writeUpTo(n: number): Promise<void> {
    while (this.written < n) await this.writeNext();
  }

  start(): void {
    this.running = (async () => {
      while (!this.stopped && this.written < MAX_RECORDS) await this.writeNext();
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async writeNext(): Promise<void> {
    const i = this.written;
    await this.deps.write(this.volumes[i % 2 === 0 ? 0 : 1], Math.floor(i / 2) * RECORD, record(i));
    this.written = i + 1;
  }
}

/** Records found on the two restored volumes, over the slots the writer can have used. */
async function recordsOn(deps: GroupStepDeps, volumes: readonly [string, string], upTo: number) {
  const found = new Set<number>();
  for (const [v, volumeId] of volumes.entries()) {
    const slots = Math.ceil(upTo / 2);
    for (let from = 0; from < slots; from += 4096) {
      const count = Math.min(4096, slots - from);
      const data = await deps.read(volumeId, from * RECORD, count * RECORD);
      for (let s = 0; s < count; s++) {
        const n = recordIn(data.subarray(s * RECORD, (s + 1) * RECORD));
        if (n !== undefined && n % 2 === v && Math.floor(n / 2) === from + s) found.add(n);
      }
    }
  }
  return found;
}

export async function groupSnapshotStep(deps: GroupStepDeps): Promise<void> {
  const log = await deps.timed("CreateVolume demo-db-log, demo-db-data (1 GiB each)", async () => [
    await deps.createVolume("demo-db-log"),
    await deps.createVolume("demo-db-data"),
  ]);
  const sources: [string, string] = [log[0] ?? "", log[1] ?? ""];
  const writer = new Writer(deps, sources);
  await writer.writeUpTo(BEFORE);
  writer.start();
  const sentAt = writer.written;
  const group = await deps.timed("CreateVolumeGroupSnapshot demo-db (writes running)", () =>
    deps.groupSnapshot("demo-db", [...sources]),
  );
  const answeredAt = writer.written;
  await writer.writeUpTo(answeredAt + BEFORE);
  await writer.stop();
  deps.log(
    `  writer: ${sentAt} records before the request, ${answeredAt - sentAt} during it, ${writer.written} in all`,
  );
  const restored: string[] = [];
  for (const [i, source] of sources.entries()) {
    const member = group.members.find((m) => m.sourceVolumeId === source);
    const id = await deps.timed(`CreateVolume demo-db-restored-${i} from its member snapshot`, () =>
      deps.createVolume(`demo-db-restored-${i}`, member?.snapshotId ?? ""),
    );
    await deps.followCopy(id, `restore ${i}`);
    restored.push(id);
  }
  const found = await recordsOn(deps, [restored[0] ?? "", restored[1] ?? ""], writer.written + 2);
  const m = found.size;
  const prefix = [...found].every((n) => n < m);
  deps.check(
    `group snapshot is one point in time: records 0…${m - 1} on the two volumes, no gap`,
    prefix,
    `records present are not a prefix (${m} found, highest ${Math.max(...found)})`,
  );
  deps.check(
    `it holds every record written before the request (${sentAt}) and none begun after the answer (${answeredAt + 1})`,
    // Record `answeredAt` may have been on its way when the answer came; later ones were not.
    m >= sentAt && m <= answeredAt + 1,
    `${m} records`,
  );
  await deps.timed("DeleteVolumeGroupSnapshot, DeleteVolume ×4", async () => {
    await deps.deleteGroupSnapshot(
      group.groupSnapshotId,
      group.members.map((x) => x.snapshotId),
    );
    for (const id of [...restored, ...sources]) await deps.deleteVolume(id);
  });
}
