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
 * Only pairs of the shared snapshot groups whose S-VOL is labelled `cs-`, of `cs-` groups (made
 * before groups were shared) and of `cg-` groups (members of group snapshots) are listed: clone
 * pairs and other tools' pairs are not snapshots of this driver.
 *
 * ShadowImage snapshots (shadow-image-snapshots.ts) follow the Thin Image ones of each array, in
 * S-VOL order: all = the LDEVs labelled `ci-…` of the same range listing (one copy group GET each
 * while paired with its source); by source volume = when it is in ShadowImage pairs (MRCF), one
 * listing of the copy groups and one GET per group of ours (pairs are listed per copy group only,
 * D-SI-LIST), then the S-VOL of each pair of the volume.
 *
 * Tokens are the position of the next entry: `<array index>.<pvol>.<mu>` (Thin Image) or
 * `<array index>.si.<svol>` (ShadowImage); a token this code cannot have written is ABORTED (CSI
 * ListSnapshots), and a position whose snapshot was deleted since is simply resumed after.
 */
import type { Ldev, Snapshot as ArrayPair } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { StaleTokenError } from "./errors.js";
import { MAX_LDEV_ID, MAX_MU_NUMBER } from "./ids.js";
import { inPair } from "./ldev-placement.js";
import { classifyLabel, sharedGroupKind } from "./names.js";
import { ourPairs } from "./shadow-image-pairs.js";
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

/**
 * The listing order and the paging position: (array index, 0, P-VOL, MU) for Thin Image,
 * (array index, 1, S-VOL, 0) for ShadowImage snapshots.
 */
type Position = readonly [number, number, number, number];
const TI = 0;
const SI = 1;

interface Candidate {
  at: Position;
  /** The snapshot, read only when the page includes it; undefined when it is not a snapshot. */
  describe(): Promise<Snapshot | undefined>;
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
      ? allPairs(service, volumes, arrays, start)
      : volumePairs(service, volumes, q.sourceVolumeId, arrays);
  const limit = q.maxEntries > 0 ? q.maxEntries : Number.MAX_SAFE_INTEGER;
  const snapshots: Snapshot[] = [];
  for await (const c of candidates) {
    if (compare(c.at, start) < 0) continue;
    if (snapshots.length === limit) return { snapshots, nextToken: formatToken(c.at) };
    const snapshot = await c.describe();
    if (snapshot) snapshots.push(snapshot);
  }
  return { snapshots, nextToken: "" };
}

/** A Thin Image pair of ours as a candidate; `ldevs` are LDEVs already read, to size S-VOLs. */
function tiCandidate(
  service: SnapshotService,
  ai: number,
  array: ManagedArray,
  pvol: Ldev,
  pair: ArrayPair,
  ldevs?: Map<number, Ldev>,
): Candidate {
  return {
    at: [ai, TI, pvol.ldevId, pair.muNumber],
    describe: async () => {
      const svolId = pair.svolLdevId;
      const svol =
        svolId === undefined ? undefined : (ldevs?.get(svolId) ?? (await service.ldev(array, svolId)));
      // In a shared group, only a pair whose S-VOL carries a snapshot label is one of our snapshots.
      const shared = sharedGroupKind(pair.snapshotGroupName) !== undefined;
      if (shared && classifyLabel(svol?.label ?? "") !== "snapshot") return undefined;
      return service.describe(array, pair, pvol, svol);
    },
  };
}

async function* allPairs(
  service: SnapshotService,
  volumes: VolumeService,
  arrays: ManagedArray[],
  start: Position,
): AsyncGenerator<Candidate> {
  for (let ai = start[0]; ai < arrays.length; ai++) {
    const array = arrays[ai];
    if (!array) continue;
    const listed = await volumes.ldevs.listRange(array, "listing snapshots");
    const ldevs = new Map(listed.map((l) => [l.ldevId, l]));
    const sources = listed.filter((l) => classifyLabel(l.label ?? "") === "volume" && inPair(l));
    for (const pvol of sources) {
      if (compare([ai, TI, pvol.ldevId, MAX_MU_NUMBER], start) < 0) continue;
      for (const pair of await pairsOf(array, pvol.ldevId)) {
        yield tiCandidate(service, ai, array, pvol, pair, ldevs);
      }
    }
    for (const svol of listed.filter((l) => classifyLabel(l.label ?? "") === "shadow-image")) {
      yield {
        at: [ai, SI, svol.ldevId, 0],
        describe: () => service.shadowImage.describeSvol(array, svol, ldevs),
      };
    }
  }
}

async function* volumePairs(
  service: SnapshotService,
  volumes: VolumeService,
  volumeId: string,
  arrays: ManagedArray[],
): AsyncGenerator<Candidate> {
  const volume = await volumes.find(volumeId);
  if (!volume) return;
  const { array, ldev } = volume;
  const ai = arrays.indexOf(array);
  for (const pair of await pairsOf(array, ldev.ldevId)) yield tiCandidate(service, ai, array, ldev, pair);
  if (!hasAttribute(ldev, "MRCF")) return;
  const shadowImage = (await ourPairs(array)).filter((p) => p.pvolLdevId === ldev.ldevId);
  for (const pair of shadowImage.sort((a, b) => a.svolLdevId - b.svolLdevId)) {
    yield {
      at: [ai, SI, pair.svolLdevId, 0],
      describe: async () => {
        const svol = await service.ldev(array, pair.svolLdevId);
        // A copy into a new volume (its S-VOL labelled `cv-…`) is not a snapshot.
        if (svol?.label !== pair.copyGroupName) return undefined;
        return service.shadowImage.describeSvol(array, svol, new Map([[ldev.ldevId, ldev]]));
      },
    };
  }
}

function hasAttribute(ldev: Ldev, attribute: string): boolean {
  return (ldev.attributes ?? []).includes(attribute);
}

/** Our snapshots of one P-VOL (groups `cs-`/`cg-`), by MU. */
async function pairsOf(array: ManagedArray, pvolLdevId: number): Promise<ArrayPair[]> {
  const pairs = await onArray("listing snapshots", () => array.client.snapshots.list({ pvolLdevId }));
  return pairs
    .filter((p) => p.pvolLdevId === pvolLdevId && isSnapshotGroup(p.snapshotGroupName))
    .sort((a, b) => a.muNumber - b.muNumber);
}

function compare(a: Position, b: Position): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3];
}

function formatToken(at: Position): string {
  return at[1] === SI ? `${at[0]}.si.${at[2]}` : `${at[0]}.${at[2]}.${at[3]}`;
}

function parseToken(token: string, arrays: number): Position {
  if (token === "") return [0, TI, 0, 0];
  const ti = /^(\d{1,4})\.(\d{1,5})\.(\d{1,4})$/.exec(token);
  const si = /^(\d{1,4})\.si\.(\d{1,5})$/.exec(token);
  const at: Position | undefined = ti
    ? [Number(ti[1]), TI, Number(ti[2]), Number(ti[3])]
    : si
      ? [Number(si[1]), SI, Number(si[2]), 0]
      : undefined;
  if (!at || at[0] >= arrays || at[2] > MAX_LDEV_ID || at[3] > MAX_MU_NUMBER) {
    throw new StaleTokenError(`starting_token "${token}" is not valid`);
  }
  return at;
}

/** A group whose pairs may be snapshots of ours (shared ones: if their S-VOL says so, `describe`). */
function isSnapshotGroup(name: string): boolean {
  const kind = classifyLabel(name);
  return kind === "snapshot" || kind === "group-snapshot" || sharedGroupKind(name) === "snapshots";
}
