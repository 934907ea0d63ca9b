/**
 * Which Thin Image operation a pair accepts in which status: the operation/status matrix of the
 * Thin Image User Guide (D-HTI-MATRIX, reference §6), kept as data so it can be read against the
 * guide line by line.
 *
 *   Y  — executed.
 *   YN — accepted, the job succeeds, nothing changes.
 *   N  — refused: 412 on the action template and on the request itself, state unchanged
 *        (D-TI-SPLIT, D-TI-CLONE: "412 if the action cannot run on that object").
 *
 * The guide's "clone-pair split" column is the REST `clone` action. Its "snap create" column rules
 * a create naming a (P-VOL, MU) that already holds a pair. `assign-volume` / `unassign-volume` are
 * not in the guide's table; their rows are sim: choices (assign needs PSUS, as on VSP One B —
 * ANS-SNAP `check_for_pegasus`; unassign while the pair is stable).
 */
import type { SimState, TiPairState, TiStatus } from "../../state.js";

export const OPERATIONS = [
  "create",
  "split",
  "resync",
  "restore",
  "clone",
  "delete",
  "assign-volume",
  "unassign-volume",
] as const;
export type Operation = (typeof OPERATIONS)[number];

export type Verdict = "Y" | "YN" | "N";

type Row = Readonly<Record<Operation, Verdict>>;

/** Columns in OPERATIONS order: create split resync restore clone delete assign unassign. */
function row(...verdicts: Verdict[]): Row {
  return Object.fromEntries(OPERATIONS.map((op, i) => [op, verdicts[i] ?? "N"])) as Row;
}

/** Snapshot pairs (no clone attribute). */
const SNAPSHOT: Readonly<Record<TiStatus, Row>> = {
  // COPY(PD) and COPY(RS) have the same row in the guide.
  COPY: row("YN", "N", "YN", "YN", "N", "N", "N", "N"),
  PAIR: row("N", "Y", "YN", "YN", "N", "Y", "N", "Y"),
  PSUS: row("N", "YN", "Y", "Y", "N", "Y", "Y", "Y"),
  // COPY(RS-R).
  RCPY: row("YN", "N", "YN", "YN", "N", "N", "N", "N"),
  PSUE: row("N", "N", "Y", "N", "N", "Y", "N", "Y"),
  // SMPL(PD): deletion in progress; only a repeated delete is accepted.
  SMPP: row("N", "N", "N", "N", "N", "YN", "N", "N"),
  // sim: PFUL/PFUS are PAIR/PSUS over the pool threshold (§6) and behave like them.
  PFUL: row("N", "Y", "YN", "YN", "N", "Y", "N", "Y"),
  PFUS: row("N", "YN", "Y", "Y", "N", "Y", "Y", "Y"),
  // sim: a snapshot pair shows PSUP while a timed split settles (timings.tiSplitMs > 0; the TIA
  // transient of §6). The image is already taken: a repeated split is a no-op, the rest waits.
  PSUP: row("N", "YN", "N", "N", "N", "N", "N", "N"),
};

/** Pairs with the clone attribute. */
const CLONE: Readonly<Record<TiStatus, Row>> = {
  COPY: row("N", "N", "N", "N", "N", "Y"),
  PAIR: row("N", "N", "N", "N", "Y", "Y"),
  // PSUS(SP): the clone copy is running; deleting stops it (S-VOL content not guaranteed, §6).
  PSUP: row("N", "N", "N", "N", "YN", "Y"),
  PSUE: row("N", "N", "N", "N", "N", "Y"),
  SMPP: row("N", "N", "N", "N", "N", "YN"),
  // sim: not reachable for clone pairs; only delete, as for any clone pair.
  PSUS: row("N", "N", "N", "N", "N", "Y"),
  PFUS: row("N", "N", "N", "N", "N", "Y"),
  PFUL: row("N", "N", "N", "N", "N", "Y"),
  RCPY: row("N", "N", "N", "N", "N", "Y"),
};

/** The guide's verdict for the pair's own attribute and status. */
export function baseVerdict(pair: TiPairState, op: Operation): Verdict {
  return (pair.isClone ? CLONE : SNAPSHOT)[pair.status][op];
}

/**
 * The clone pair copying out of this pair's S-VOL, if any: a clone pair in PSUP whose P-VOL is
 * this pair's S-VOL (the "restore into a new volume" cascade).
 */
export function cascadeCloneCopying(state: SimState, pair: TiPairState): TiPairState | undefined {
  const svol = pair.svolLdevId;
  if (svol === undefined) return undefined;
  return state.tiPairs.find((p) => p.isClone && p.status === "PSUP" && p.pvolLdevId === svol);
}

/**
 * The verdict, with the guide's interaction rule for related pairs (§6, User Guide p.94): while a
 * clone pair B copies (PSUS(SP)) out of the S-VOL of snapshot pair A, every operation on A is
 * refused except split, which is accepted and does nothing — including delete. It keeps the data a
 * restore-into-new-volume is copying from intact.
 */
export function verdict(state: SimState, pair: TiPairState, op: Operation): Verdict {
  if (cascadeCloneCopying(state, pair)) return op === "split" ? "YN" : "N";
  return baseVerdict(pair, op);
}

/** The most restrictive verdict over several pairs (group operations: any N refuses the whole). */
export function groupVerdict(state: SimState, pairs: TiPairState[], op: Operation): Verdict {
  const verdicts = pairs.map((p) => verdict(state, p, op));
  if (verdicts.includes("N")) return "N";
  return verdicts.includes("Y") ? "Y" : "YN";
}
