/**
 * ListSnapshots (snapshots.ts): one page of the driver's snapshots in (array, P-VOL, MU) order.
 *
 * - By ID: the one snapshot, or none.
 * - By source volume: one `GET snapshots?pvolLdevId=` of the volume.
 * - All: per array, one LDEV listing of the driver's range (16,384 a page, usually one call) finds
 *   our volumes that are in Thin Image pairs (attribute HTI); then one `GET snapshots?pvolLdevId=`
 *   per such volume, only as far as the page needs. The listing also gives the S-VOLs' sizes.
 *   (The array-wide `snapshot-replications` listing would be one call, but it is not in the
 *   client's narrow interface, and it would list every pair of the array, ours or not.)
 *
 * Only groups `cs-` (snapshots) and `cg-` (members of group snapshots) are listed: clone pairs
 * (`cv-`) and other tools' pairs are not snapshots of this driver. Tokens are
 * `<array index>.<pvol>.<mu>` of the next entry; a token this code cannot have written is ABORTED
 * (CSI ListSnapshots), and a position whose snapshot was deleted since is simply resumed after.
 */
import type { Ldev, Snapshot as ArrayPair } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { StaleTokenError } from "./errors.js";
import { MAX_LDEV_ID, MAX_MU_NUMBER } from "./ids.js";
import { inPair } from "./ldev-placement.js";
import { classifyLabel } from "./names.js";
import type { Snapshot, SnapshotService } from "./snapshots.js";
import type { VolumeService } from "./volumes.js";

export interface ListSnapshotsQuery {
  snapshotId: string;
  sourceVolumeId: string;
  maxEntries: number;
  startingToken: string;
}

export interface SnapshotPage {
  snapshots: Snapshot[];
  nextToken: string;
}

/** (array index, P-VOL, MU): the listing order and the paging position. */
type Position = readonly [number, number, number];

interface Candidate {
  at: Position;
  array: ManagedArray;
  pvol: Ldev;
  pair: ArrayPair;
  /** LDEVs already read (the range listing), to size S-VOLs without another call. */
  ldevs?: Map<number, Ldev>;
}

export async function listSnapshots(
  service: SnapshotService,
  volumes: VolumeService,
  q: ListSnapshotsQuery,
): Promise<SnapshotPage> {
  const arrays = volumes.arrays.all();
  const start = parseToken(q.startingToken, arrays.length);
  if (q.snapshotId !== "") {
    const found = await service.find(q.snapshotId);
    const match = found && (q.sourceVolumeId === "" || found.sourceVolumeId === q.sourceVolumeId);
    return { snapshots: match ? [found] : [], nextToken: "" };
  }
  const candidates =
    q.sourceVolumeId === ""
      ? allPairs(volumes, arrays, start)
      : volumePairs(volumes, q.sourceVolumeId, arrays);
  const limit = q.maxEntries > 0 ? q.maxEntries : Number.MAX_SAFE_INTEGER;
  const snapshots: Snapshot[] = [];
  for await (const c of candidates) {
    if (compare(c.at, start) < 0) continue;
    if (snapshots.length === limit) return { snapshots, nextToken: c.at.join(".") };
    const svolId = c.pair.svolLdevId;
    const svol =
      svolId === undefined ? undefined : (c.ldevs?.get(svolId) ?? (await service.ldev(c.array, svolId)));
    snapshots.push(service.describe(c.array, c.pair, c.pvol, svol));
  }
  return { snapshots, nextToken: "" };
}

async function* allPairs(
  volumes: VolumeService,
  arrays: ManagedArray[],
  start: Position,
): AsyncGenerator<Candidate> {
  for (let ai = start[0]; ai < arrays.length; ai++) {
    const array = arrays[ai];
    if (!array) continue;
    const listed = await volumes.listRange(array, "listing snapshots");
    const ldevs = new Map(listed.map((l) => [l.ldevId, l]));
    const sources = listed.filter((l) => classifyLabel(l.label ?? "") === "volume" && inPair(l));
    for (const pvol of sources) {
      if (compare([ai, pvol.ldevId, MAX_MU_NUMBER], start) < 0) continue;
      for (const pair of await pairsOf(array, pvol.ldevId)) {
        yield { at: [ai, pvol.ldevId, pair.muNumber], array, pvol, pair, ldevs };
      }
    }
  }
}

async function* volumePairs(
  volumes: VolumeService,
  volumeId: string,
  arrays: ManagedArray[],
): AsyncGenerator<Candidate> {
  const volume = await volumes.find(volumeId);
  if (!volume) return;
  const ai = arrays.indexOf(volume.array);
  for (const pair of await pairsOf(volume.array, volume.ldev.ldevId)) {
    yield { at: [ai, volume.ldev.ldevId, pair.muNumber], array: volume.array, pvol: volume.ldev, pair };
  }
}

/** Our snapshots of one P-VOL (groups `cs-`/`cg-`), by MU. */
async function pairsOf(array: ManagedArray, pvolLdevId: number): Promise<ArrayPair[]> {
  const pairs = await onArray("listing snapshots", () => array.client.snapshots.list({ pvolLdevId }));
  return pairs
    .filter((p) => p.pvolLdevId === pvolLdevId && isSnapshotGroup(p.snapshotGroupName))
    .sort((a, b) => a.muNumber - b.muNumber);
}

function compare(a: Position, b: Position): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function parseToken(token: string, arrays: number): Position {
  if (token === "") return [0, 0, 0];
  const m = /^(\d{1,4})\.(\d{1,5})\.(\d{1,4})$/.exec(token);
  const at: Position = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
  if (!m || at[0] >= arrays || at[1] > MAX_LDEV_ID || at[2] > MAX_MU_NUMBER) {
    throw new StaleTokenError(`starting_token "${token}" is not valid`);
  }
  return at;
}

function isSnapshotGroup(name: string): boolean {
  const kind = classifyLabel(name);
  return kind === "snapshot" || kind === "group-snapshot";
}
