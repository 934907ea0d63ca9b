/**
 * The array's own Thin Image work, run on every tick of the simulator clock (and at the start of
 * every request): due status transitions, and pool-full suspension.
 *
 * Transitions live in the persisted state (`pending`: to, at, from), so a restarted simulator picks
 * them up where they were: a COPY that was due while it was down completes on the first tick.
 */
import type { SimCore, Ticker } from "../../core.js";
import type { TiPairState, TiStatus } from "../../state.js";
import { samePair, snapshotId } from "./common.js";
import { advance, applyStateStep, isDataStep, isDue } from "./transitions.js";

/** Pair statuses that a full snapshot pool suspends (PSUE), per D-HTI-UG's pool caution (§8). */
const SUSPENDED_BY_POOL_FULL: readonly TiStatus[] = ["PAIR", "PSUS", "PFUL", "PFUS"];

/**
 * Pool full: pairs holding snapshot data in the pool go PSUE (D-HTI-UG; §6 "PSUE ... pool full").
 * A snapshot pair still settling its split (PSUP) holds its image already, so it goes too.
 */
function suspendOnPoolFull(sim: SimCore, pair: TiPairState): boolean {
  if (!sim.faults.isPoolFull(pair.snapshotPoolId)) return false;
  const settlingSplit = pair.status === "PSUP" && !pair.isClone;
  if (!SUSPENDED_BY_POOL_FULL.includes(pair.status) && !settlingSplit) return false;
  pair.status = "PSUE";
  delete pair.pending;
  return true;
}

/**
 * Data steps cannot run inside a synchronous tick: they are queued behind the running jobs
 * (`sim.serialize`), so they never interleave with a configuration change, and re-checked there.
 * A step whose data work fails suspends the pair (PSUE), as the array does on a copy failure.
 */
function queueDataStep(sim: SimCore, pair: TiPairState, inFlight: Set<string>): void {
  const key = snapshotId(pair);
  if (inFlight.has(key)) return;
  inFlight.add(key);
  void sim
    .serialize(async () => {
      const current = samePair(sim.state, pair);
      if (!current || !isDataStep(current) || !isDue(current, sim.clock.now())) return;
      try {
        await advance(sim, current);
      } catch {
        current.status = "PSUE";
        delete current.pending;
      }
      sim.store.save();
    })
    .catch(() => undefined) // the simulator may have been stopped and its directory removed
    .finally(() => {
      inFlight.delete(key);
      try {
        sim.tick(); // wake jobs waiting on this pair
      } catch {
        // stopped simulator: nothing to wake
      }
    });
}

export function thinImageTicker(sim: SimCore): Ticker {
  const inFlight = new Set<string>();
  return (now) => {
    let changed = false;
    for (const pair of [...sim.state.tiPairs]) {
      changed = suspendOnPoolFull(sim, pair) || changed;
      // Chains (PSUP → SMPP → gone) may be due at once after a pause or with zero timings.
      while (applyStateStep(sim, pair, now)) changed = true;
      if (isDataStep(pair) && isDue(pair, now)) queueDataStep(sim, pair, inFlight);
    }
    return changed;
  };
}
