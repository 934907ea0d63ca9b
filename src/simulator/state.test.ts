import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { defaultConfig } from "./config.js";
import { StateStore } from "./state.js";

let dir = "";
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("state store", () => {
  it("starts a new array with the default pools, ports and host group 0 on every port", async () => {
    dir = await mkdtemp(join(tmpdir(), "vsp-state-"));
    const store = StateStore.open(defaultConfig(dir));
    expect(store.state.pools.map((p) => [p.poolId, p.poolType])).toEqual([
      [0, "HDP"],
      [1, "HDP"],
      [2, "HTI"],
    ]);
    expect(store.state.hostGroups.map((g) => `${g.portId},${g.hostGroupNumber}`)).toEqual([
      "CL1-A,0",
      "CL2-A,0",
      "CL3-A,0",
      "CL4-A,0",
    ]);
    expect(store.state.hostGroups.find((g) => g.portId === "CL3-A")?.iscsiName).toMatch(
      /^iqn\.1994-04\.jp\.co\.hitachi:/,
    );
  });

  it("saves atomically and reloads what was saved", async () => {
    dir = await mkdtemp(join(tmpdir(), "vsp-state-"));
    const config = defaultConfig(dir);
    const store = StateStore.open(config);
    store.state.pools[0]!.warningThreshold = 55;
    store.save();
    const reopened = StateStore.open(config);
    expect(reopened.state.pools[0]!.warningThreshold).toBe(55);
    // A crash during a save leaves only the temp file half-written; the state file stays whole.
    await writeFile(`${store.file}.tmp`, "{half");
    expect(JSON.parse(await readFile(store.file, "utf8")).pools[0].warningThreshold).toBe(55);
    expect(StateStore.open(config).state.pools[0]!.warningThreshold).toBe(55);
  });

  it("refuses to start over a corrupt state file rather than silently losing the array", async () => {
    dir = await mkdtemp(join(tmpdir(), "vsp-state-"));
    const config = defaultConfig(dir);
    StateStore.open(config);
    await writeFile(join(dir, "state.json"), "{not json");
    expect(() => StateStore.open(config)).toThrow(SyntaxError);
  });

  it("writes a state whose writes are slow behind, at most once per interval, and flush() writes it now", async () => {
    dir = await mkdtemp(join(tmpdir(), "vsp-state-"));
    const config = defaultConfig(dir);
    // Every write counts as slow: the store writes behind from its second save on.
    const store = StateStore.open(config, 0);
    const onDisk = () => StateStore.open(config).state.pools[0]?.warningThreshold;
    store.state.pools[0]!.warningThreshold = 61;
    store.save();
    store.state.pools[0]!.warningThreshold = 62;
    store.save();
    expect(onDisk(), "the saves are pending, not written yet").not.toBe(62);
    store.flush();
    expect(onDisk()).toBe(62);
    store.state.pools[0]!.warningThreshold = 63;
    store.save();
    // Written by the store's own timer, with no further save or flush.
    for (let i = 0; i < 500 && onDisk() !== 63; i++) await new Promise((r) => setTimeout(r, 20));
    expect(onDisk()).toBe(63);
  });
});
