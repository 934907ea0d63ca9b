/**
 * A simulator in a process of its own for the concurrency bench, as an array is a machine of its
 * own: its work does not share the driver's event loop. Prints `{url, storageDeviceId}` as one JSON
 * line once it listens; stops on SIGTERM.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { REALISTIC_TIMINGS } from "../src/simulator/config.js";
import { Simulator } from "../src/simulator/index.js";

const dir = await mkdtemp(join(tmpdir(), "vsp-bench-sim-"));
const sim = await Simulator.create({ dataDir: dir, timings: { ...REALISTIC_TIMINGS } });
const running = await sim.listen({ port: 0 });
process.stdout.write(
  `${JSON.stringify({ url: running.url, storageDeviceId: sim.core.config.storageDeviceId })}\n`,
);
process.once("SIGTERM", () => {
  void running.close().then(() => rm(dir, { recursive: true, force: true }).then(() => process.exit(0)));
});
