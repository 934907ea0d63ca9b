/**
 * Benchmarks: `npm run bench` prints figures (not pass/fail). Each bench is a function returning
 * numbers; this runner prints them as a table and as one JSON line for notes and comparisons.
 */
import { benchController } from "./controller.js";
import { benchFleet, printFleet } from "./fleet.js";
import { benchGroupSnapshots } from "./group-snapshots.js";
import { benchThinCopy } from "./thin-copy.js";

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

// `npm run bench -- fleet` runs only the fleet figures (issue 11), the slowest part.
const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);

if (wanted("fleet")) {
  const fleet = await benchFleet();
  printFleet(fleet);
  console.log(JSON.stringify({ bench: "fleet", ...fleet }));
}
if (only.length > 0 && !only.some((n) => n !== "fleet")) process.exit(0);

const copy = await benchThinCopy();
console.log("thin-aware copy of a 1 GiB LDEV holding 8 MiB");
console.log(
  `  thin copy:  ${mib(copy.copiedAllocatedBytes)} allocated in the copy, ${copy.thinCopyMs.toFixed(1)} ms`,
);
console.log(
  `  naive copy: ${mib(copy.fullCopyAllocatedBytes)} allocated in the copy, ${copy.fullCopyMs.toFixed(1)} ms`,
);
console.log(JSON.stringify({ bench: "thin-copy", ...copy }));

const ctl = await benchController();
console.log(`CreateVolume over gRPC against the instant simulator (n=${ctl.createVolumeMs.n})`);
console.log(`  p50 ${ctl.createVolumeMs.p50.toFixed(1)} ms, p95 ${ctl.createVolumeMs.p95.toFixed(1)} ms`);
console.log("REST calls per operation (simulator request log; the session login is amortised)");
for (const [op, count] of Object.entries(ctl.restCalls)) console.log(`  ${op}: ${count}`);
console.log(JSON.stringify({ bench: "controller", ...ctl }));

const grp = await benchGroupSnapshots();
console.log("Group snapshots: REST calls for N volumes (instant simulator)");
for (const [n, count] of Object.entries(grp.createCalls)) {
  console.log(
    `  N=${n}: CreateVolumeGroupSnapshot ${count}, DeleteVolumeGroupSnapshot ${grp.deleteCalls[Number(n)] ?? "?"}`,
  );
}
const ms = grp.tenVolumesMs.map((t) => (t / 1000).toFixed(2)).join(" / ");
console.log(`  10 volumes × 16 MiB, realistic timings: consistent group snapshot in ${ms} s (3 runs)`);
console.log(JSON.stringify({ bench: "group-snapshots", ...grp }));
