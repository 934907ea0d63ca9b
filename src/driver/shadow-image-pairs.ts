/**
 * ShadowImage pairs as the driver makes them (vsp-rest-api.md §6 "ShadowImage"; D-SI-STATUS,
 * D-SI-LIST): names, lookups and the pair operations shared by full-copy snapshots
 * (shadow-image-snapshots.ts), copies into new volumes and the release of a deleted volume's pairs
 * (shadow-image-copies.ts).
 *
 * One copy group per pair, so that a group answers "does this copy exist, and between which
 * LDEVs?" in one GET, from the array alone:
 *   - copy group `ci-<28 base32>` (names.ts `shadowImageCopyGroupName`, 31 characters, the SI name
 *     limit): the snapshot's CO name for a snapshot, `"clone/" + <the new volume's cv- label>` for a
 *     copy into a new volume — derived from the label, not the CO name, so that DeleteVolume, which
 *     knows only the volume ID, finds the copy into that volume;
 *   - device groups: the copy group name with its first letter `c` replaced by `p` (P-VOL side) and
 *     `s` (S-VOL side) — deterministic, 31 characters, distinct from each other and from every
 *     other copy group's (a real array names each device group once, and a copy group joins two);
 *   - pair name `t<unix seconds>`: the time the pair was made, which the pair view does not show
 *     otherwise (there is no split time for ShadowImage, D-SI-LIST).
 * Snapshot and copy groups share the `ci-` prefix: the S-VOL's label tells them apart (a snapshot's
 * S-VOL carries its copy group name, a new volume its own `cv-` label).
 *
 * Every change is sent with `Job-Mode-Wait-Configuration-Change: NoWait` (§2; Ansible does so for
 * ShadowImage): the job ends once the array accepted it, and the driver follows the pair status.
 */
import { VspError, VspNotFoundError, VspPreconditionError } from "../array/errors.js";
import type { LocalCloneCopyPair } from "../array/types.js";
import { onArray, toDriverError } from "./array-errors.js";
import type { ManagedArray } from "./arrays.js";
import { classifyLabel, shadowImageCopyGroupName } from "./names.js";
import { pollUntil } from "./poll.js";

export interface SiNames {
  copyGroupName: string;
  pvolDeviceGroupName: string;
  svolDeviceGroupName: string;
  /** `copyGroup,pvolDeviceGroup,svolDeviceGroup`, the copy group's object id. */
  groupId: string;
}

export interface SiWaitOptions {
  /** How long a pair delete is followed until the pair is gone. */
  waitMs?: number;
  pollMs?: number;
}

const NO_WAIT = { noWait: true } as const;
/** D-SI-STATUS: the P-VOL side of a split pair. */
export const SI_SPLIT = "PSUS";
/** Statuses in which the copy still runs (initial copy, resync, steady split COPY(SP), restore). */
export const SI_COPYING: ReadonlySet<string> = new Set(["COPY", "RCPY"]);

/** The names of the copy group `copyGroupName` (`ci-…`) and its device groups. */
export function siNames(copyGroupName: string): SiNames {
  const rest = copyGroupName.slice(1);
  const pvolDeviceGroupName = `p${rest}`;
  const svolDeviceGroupName = `s${rest}`;
  return {
    copyGroupName,
    pvolDeviceGroupName,
    svolDeviceGroupName,
    groupId: `${copyGroupName},${pvolDeviceGroupName},${svolDeviceGroupName}`,
  };
}

/** The copy group of a copy into the new volume labelled `label` (see the module comment). */
export function cloneNames(driverName: string, label: string): SiNames {
  return siNames(shadowImageCopyGroupName(driverName, `clone/${label}`));
}

/** A copy group (or pair) with the driver's names: `ci-…` and the derived device groups. */
export function isOurGroup(g: {
  copyGroupName: string;
  pvolDeviceGroupName?: string | undefined;
  svolDeviceGroupName?: string | undefined;
}): boolean {
  if (classifyLabel(g.copyGroupName) !== "shadow-image") return false;
  const names = siNames(g.copyGroupName);
  return (
    g.pvolDeviceGroupName === names.pvolDeviceGroupName && g.svolDeviceGroupName === names.svolDeviceGroupName
  );
}

/** The pair name for a pair made at `when`: `t<unix seconds>`. */
export function timedPairName(when: Date): string {
  return `t${Math.floor(when.getTime() / 1000)}`;
}

/** The time a pair name of `timedPairName` carries, or undefined for another name. */
export function timeOfPairName(name: string): Date | undefined {
  const m = /^t(\d{1,12})$/.exec(name);
  return m ? new Date(Number(m[1]) * 1000) : undefined;
}

/** The pair's status as its P-VOL side shows it (PSUS when split; SSUS is the S-VOL side). */
export function statusOf(pair: LocalCloneCopyPair): string {
  return pair.pvolStatus ?? (pair.svolStatus === "SSUS" ? SI_SPLIT : (pair.svolStatus ?? "UNKNOWN"));
}

/** The pair of a copy group of ours (one pair per group), or undefined when the group is gone. */
export async function groupPair(
  array: ManagedArray,
  names: SiNames,
): Promise<LocalCloneCopyPair | undefined> {
  const group = await onArray("looking up a ShadowImage copy group", () =>
    array.client.localCloneCopyGroups.find(names.groupId),
  );
  return group?.copyPairs?.[0];
}

/**
 * Every pair in the driver's copy groups on the array: one listing of the copy groups, then one
 * GET per group of ours (pairs are listed per copy group only, D-SI-LIST).
 */
export async function ourPairs(array: ManagedArray): Promise<LocalCloneCopyPair[]> {
  const groups = await onArray("listing ShadowImage copy groups", () =>
    array.client.localCloneCopyGroups.list(),
  );
  const out: LocalCloneCopyPair[] = [];
  for (const g of groups.filter(isOurGroup)) {
    const pair = await groupPair(array, siNames(g.copyGroupName));
    if (pair) out.push(pair);
  }
  return out;
}

export interface NewPair {
  names: SiNames;
  pvolLdevId: number;
  svolLdevId: number;
  isDataReductionForceCopy: boolean;
}

/**
 * Creates the pair in a new copy group (NoWait); answers its id. Errors are the array's. The pair
 * is named by the time of this call: a pair is only ever split right after it was made, in the same
 * call, so this name is the time its image was cut (shadow-image-snapshots.ts "creation_time").
 */
export function createPair(array: ManagedArray, p: NewPair): Promise<string> {
  return array.client.localCloneCopyPairs.create(
    {
      copyGroupName: p.names.copyGroupName,
      copyPairName: timedPairName(new Date()),
      pvolLdevId: p.pvolLdevId,
      svolLdevId: p.svolLdevId,
      pvolDeviceGroupName: p.names.pvolDeviceGroupName,
      svolDeviceGroupName: p.names.svolDeviceGroupName,
      isNewGroupCreation: true,
      ...(p.isDataReductionForceCopy ? { isDataReductionForceCopy: true } : {}),
    },
    NO_WAIT,
  );
}

/**
 * Splits the pair (NoWait): its S-VOL image is the P-VOL at the split (D-SI-STATUS). A steady split
 * during the copy shows COPY (GUI COPY(SP)) until the copy ends; `quick` makes the S-VOL usable at
 * once (PSUS). Splitting a pair already split does nothing (D-SI-STATUS; sim: also during COPY(SP)),
 * so a retry that cannot tell "split" from "not yet split" in COPY splits again harmlessly; a
 * refusal of a pair in COPY means the array counts it as split already.
 */
export async function splitPair(array: ManagedArray, pairId: string, quick: boolean): Promise<void> {
  try {
    await array.client.localCloneCopyPairs.split(pairId, quick ? { quickMode: true } : {}, NO_WAIT);
  } catch (err) {
    if (isRefusal(err)) {
      const pair = await getPair(array, pairId);
      if (pair && statusOf(pair) === "COPY") return;
    }
    throw toDriverError(err, "splitting the ShadowImage pair");
  }
}

export async function getPair(array: ManagedArray, pairId: string): Promise<LocalCloneCopyPair | undefined> {
  return onArray("reading the ShadowImage pair", () => array.client.localCloneCopyPairs.find(pairId));
}

/**
 * Deletes the pair (NoWait; both volumes keep their data) and follows it until it is gone, for at
 * most waitMs (ABORTED then: the CO retries). A pair already gone is success. The array's
 * refusals are the caller's to explain: they are thrown as the array's error.
 */
export async function deletePair(
  array: ManagedArray,
  pair: LocalCloneCopyPair,
  options: SiWaitOptions = {},
): Promise<void> {
  const id = pair.localCloneCopypairId;
  try {
    await array.client.localCloneCopyPairs.delete(id, NO_WAIT);
  } catch (err) {
    if (err instanceof VspNotFoundError) return;
    throw err;
  }
  await pollUntil(
    () => getPair(array, id),
    (left) => left === undefined,
    `the ShadowImage pair ${id} is being deleted; retry`,
    { waitMs: options.waitMs ?? 3_000, pollMs: options.pollMs ?? 100 },
  );
}

/**
 * `createPair`, making room once when the array refuses it because finished copies of ours still
 * hang on the P-VOL: a P-VOL has MU 0-2 only (MU_IN_USE), and sim: a P-VOL that is the S-VOL of a
 * pair is refused (LDEV_IN_PAIR). Those copies are dissolved (`dissolveFinishedCopies`) and the
 * create is tried again; when none could be, the array's refusal stands.
 */
export async function createPairMakingRoom(
  array: ManagedArray,
  driverName: string,
  p: NewPair,
  options: SiWaitOptions = {},
): Promise<string> {
  try {
    return await createPair(array, p);
  } catch (err) {
    if (!(err instanceof VspError && (err.is("MU_IN_USE") || isRefusal(err)))) throw err;
    const { dissolved } = await dissolveFinishedCopies(array, driverName, p.pvolLdevId, options);
    if (dissolved === 0) throw err;
    return createPair(array, p);
  }
}

export interface Dissolved {
  /** How many finished copy pairs were deleted. */
  dissolved: number;
  /** Why a pair on the LDEV could not go (the first one), or undefined when none is left. */
  blocking: string | undefined;
}

/**
 * Dissolves the finished copies of ours (a clone or restore into a new volume: a copy group derived
 * from its S-VOL's `cv-` label, shadow-image-copies.ts) that hang on LDEV `ldevId`, as P-VOL or
 * S-VOL. Such a pair outlives its CreateVolume when the array refused to delete it right after the
 * quick split (PSUS(SP), §6); whoever finds it later deletes it, so it neither keeps the source
 * from being deleted nor takes one of its MU slots. A copy still running (COPY/PAIR, or a delete
 * the array refuses in PSUS(SP)), a failed one (PSUE: its volume's data is incomplete, for its
 * owner to see) and a pair that is no copy of ours (`except`: the caller's own) stay, named in
 * `blocking`. One listing of our copy groups, a GET per group and per S-VOL found.
 */
export async function dissolveFinishedCopies(
  array: ManagedArray,
  driverName: string,
  ldevId: number,
  options: SiWaitOptions & { except?: string } = {},
): Promise<Dissolved> {
  const pairs = (await ourPairs(array)).filter(
    (p) => (p.pvolLdevId === ldevId || p.svolLdevId === ldevId) && p.localCloneCopypairId !== options.except,
  );
  let dissolved = 0;
  let blocking: string | undefined;
  for (const pair of pairs) {
    const why = await dissolveIfFinished(array, driverName, pair, options);
    if (why === undefined) dissolved++;
    else blocking ??= why;
  }
  return { dissolved, blocking };
}

/** Deletes a finished copy pair of ours; answers why not otherwise. */
async function dissolveIfFinished(
  array: ManagedArray,
  driverName: string,
  pair: LocalCloneCopyPair,
  options: SiWaitOptions,
): Promise<string | undefined> {
  const svol = await onArray("reading the S-VOL of a ShadowImage copy", () =>
    array.client.ldevs.get(pair.svolLdevId),
  );
  const to = `LDEV ${pair.svolLdevId}`;
  if (cloneNames(driverName, svol?.label ?? "").copyGroupName !== pair.copyGroupName) {
    return `it is in ShadowImage pair ${pair.localCloneCopypairId}, not a copy into a new volume`;
  }
  const status = statusOf(pair);
  if (status === "PSUE") return `the ShadowImage copy into ${to} failed (PSUE); delete that volume`;
  if (status !== SI_SPLIT) {
    return `a ShadowImage copy into ${to} still runs (${status}, ${pair.copyProgressRate ?? 0}% done)`;
  }
  try {
    await deletePair(array, pair, options);
    return undefined;
  } catch (err) {
    if (!isRefusal(err)) throw toDriverError(err, "deleting the ShadowImage pair of a finished copy");
    return `the ShadowImage copy into ${to} still runs in the background (the array refuses to delete its pair)`;
  }
}

/** The array refused an operation for the pair's or the volume's state (412, or a Failed job). */
export function isRefusal(err: unknown): boolean {
  return (
    err instanceof VspPreconditionError ||
    (err instanceof VspError && (err.is("PAIR_STATUS_FORBIDS") || err.is("LDEV_IN_PAIR")))
  );
}
