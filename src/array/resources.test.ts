/**
 * The resource methods the driver uses most, against the simulator, checked by what a later GET
 * shows and by how many REST calls each operation costs.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { INSTANT_TIMINGS } from "../simulator/config.js";
import { startTestSim } from "../simulator/test-support/harness.js";
import type { TestSim } from "../simulator/test-support/harness.js";
import type { VspClient } from "./client.js";
import { VspNotFoundError, VspStorageError } from "./errors.js";
import { clientFor, countRequests, logMark, rejectionOf, requestLog } from "./test-support/client-harness.js";

let t: TestSim;
let client: VspClient;

const GIB_BLOCKS = (1024 * 1024 * 1024) / 512;

afterEach(async () => {
  await client.close();
  await t.stop();
});

describe("LDEVs (storage-scoped URLs)", () => {
  beforeEach(async () => {
    t = await startTestSim();
    client = clientFor(t);
    await client.connect();
  });

  it("creates, labels, reads, expands and deletes an LDEV, one REST call each", async () => {
    let mark = await logMark(t);
    const id = await client.ldevs.create({
      poolId: 0,
      byteFormatCapacity: "1G",
      isParallelExecutionEnabled: true,
    });
    let log = await requestLog(t, mark);
    expect(countRequests(log, "POST", /\/objects\/storages\/886000123456\/ldevs$/, 202)).toBe(1);
    expect(log).toHaveLength(1); // header mode: no job polls

    await client.ldevs.setLabel(id, "pvc-0123456789abcdef");
    const created = await client.ldevs.get(id);
    expect(created).toMatchObject({
      ldevId: id,
      emulationType: "OPEN-V-CVS",
      label: "pvc-0123456789abcdef",
      poolId: 0,
      blockCapacity: GIB_BLOCKS,
    });

    mark = await logMark(t);
    await client.ldevs.expand(id, { additionalByteFormatCapacity: "1G" });
    log = await requestLog(t, mark);
    expect(countRequests(log, "POST", new RegExp(`/ldevs/${id}/actions/expand/invoke$`), 202)).toBe(1);
    expect((await client.ldevs.get(id))?.blockCapacity).toBe(2 * GIB_BLOCKS);

    await client.ldevs.delete(id);
    expect(await client.ldevs.get(id)).toBeUndefined();
  });

  it("answers undefined for a free LDEV id, and reports an id in use as LDEV_ALREADY_DEFINED without retrying", async () => {
    expect(await client.ldevs.get(4321)).toBeUndefined();
    const id = await client.ldevs.create({ poolId: 0, blockCapacity: 2048, ldevId: 100 });
    expect(id).toBe(100);
    const mark = await logMark(t);
    const err = await rejectionOf(
      client.ldevs.create({ poolId: 0, blockCapacity: 2048, ldevId: 100 }),
      VspStorageError,
    );
    expect(err.is("LDEV_ALREADY_DEFINED")).toBe(true);
    expect(countRequests(await requestLog(t, mark), "POST", /\/ldevs$/)).toBe(1);
  });

  it("lists LDEVs page by page", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push(await client.ldevs.create({ poolId: 0, blockCapacity: 2048, ldevId: 10 + i }));
    const seen: number[] = [];
    for await (const ldev of client.ldevs.iterate({ ldevOption: "defined" }, 2)) seen.push(ldev.ldevId);
    expect(seen).toEqual(expect.arrayContaining(ids));
  });

  it("reads pools, and an unknown pool is VspNotFoundError", async () => {
    expect(await client.pools.get(0)).toMatchObject({ poolId: 0, poolType: "HDP" });
    expect((await client.pools.list()).map((p) => p.poolId)).toEqual(expect.arrayContaining([0, 1, 2]));
    await rejectionOf(client.pools.get(99), VspNotFoundError);
  });
});

describe("host attachment (short URLs)", () => {
  beforeEach(async () => {
    t = await startTestSim();
    client = clientFor(t, { urlStyle: "short" });
    await client.connect();
  });

  it("creates a host group, registers a WWN, maps an LDEV, and undoes it all", async () => {
    const ldevId = await client.ldevs.create({ poolId: 0, blockCapacity: 2048, ldevId: 7 });
    const group = await client.hostGroups.create({
      portId: "CL1-A",
      hostGroupName: "vsp-csi-node-1",
      hostMode: "LINUX/IRIX",
      hostModeOptions: [91],
    });
    expect(group.portId).toBe("CL1-A");
    expect(group.hostGroupNumber).toBeGreaterThan(0);
    expect(await client.hostGroups.get(group)).toMatchObject({
      hostGroupName: "vsp-csi-node-1",
      hostModeOptions: [91],
    });

    await client.hostWwns.add(group, "1000000000000001");
    const byNumber = await client.hostWwns.list(group);
    const byName = await client.hostWwns.list({ portId: "CL1-A", hostGroupName: "vsp-csi-node-1" });
    for (const list of [byNumber, byName]) {
      expect(list.map((w) => w.hostWwn.toLowerCase())).toEqual(["1000000000000001"]);
    }

    const mark = await logMark(t);
    const [path] = await client.luns.create({
      portId: "CL1-A",
      hostGroupNumber: group.hostGroupNumber,
      ldevId,
    });
    expect(countRequests(await requestLog(t, mark), "POST", /\/objects\/luns$/, 202)).toBe(1);
    expect(path).toMatchObject({
      portId: "CL1-A",
      hostGroupNumber: group.hostGroupNumber,
      lun: expect.any(Number),
    });
    const luns = await client.luns.list({ portId: "CL1-A", hostGroupNumber: group.hostGroupNumber });
    expect(luns.map((l) => l.ldevId)).toEqual([ldevId]);
    expect((await client.ldevs.get(ldevId))?.ports).toEqual([
      expect.objectContaining({ portId: "CL1-A", hostGroupNumber: group.hostGroupNumber, lun: path!.lun }),
    ]);

    const again = await rejectionOf(
      client.luns.create({ portId: "CL1-A", hostGroupNumber: group.hostGroupNumber, ldevId }),
      VspStorageError,
    );
    expect(again.is("LU_PATH_ALREADY_DEFINED")).toBe(true);

    await client.luns.delete(path!);
    await client.hostWwns.delete(group, "1000000000000001");
    await client.hostGroups.delete(group);
    await rejectionOf(client.hostGroups.get(group), VspNotFoundError);
    expect((await client.hostGroups.listByPort("CL1-A")).map((g) => g.hostGroupNumber)).not.toContain(
      group.hostGroupNumber,
    );
  });

  it("registers and removes an iSCSI initiator on an iSCSI target", async () => {
    const target = await client.hostGroups.create({ portId: "CL3-A", hostGroupName: "vsp-csi-iscsi-1" });
    const iqn = "iqn.1994-05.com.redhat:node1";
    await client.hostIscsis.add(target, iqn);
    expect((await client.hostIscsis.list(target)).map((i) => i.iscsiName)).toEqual([iqn]);
    expect((await client.hostGroups.get(target)).iscsiName).toMatch(/^iqn\./);
    await client.hostIscsis.delete(target, iqn);
    expect(await client.hostIscsis.list(target)).toEqual([]);
  });
});

describe("Thin Image snapshots", () => {
  beforeEach(async () => {
    t = await startTestSim();
    client = clientFor(t);
    await client.connect();
  });

  it("creates a split snapshot (autoSplit) in one call, reads it, and deletes it", async () => {
    const pvol = await client.ldevs.create({ poolId: 0, blockCapacity: 2048, ldevId: 20 });
    const mark = await logMark(t);
    const ref = await client.snapshots.create({
      snapshotGroupName: "vsp-csi-snap-1",
      snapshotPoolId: 0,
      pvolLdevId: pvol,
      autoSplit: true,
    });
    expect(countRequests(await requestLog(t, mark), "POST", /\/snapshots$/, 202)).toBe(1);
    expect(ref).toEqual({ pvolLdevId: pvol, muNumber: expect.any(Number) });

    const snap = await client.snapshots.get(ref);
    expect(snap).toMatchObject({
      pvolLdevId: pvol,
      muNumber: ref.muNumber,
      status: "PSUS",
      snapshotGroupName: "vsp-csi-snap-1",
    });
    expect((await client.snapshots.list({ pvolLdevId: pvol })).map((s) => s.muNumber)).toEqual([
      ref.muNumber,
    ]);
    expect((await client.snapshotGroups.list()).map((g) => g.snapshotGroupName)).toContain("vsp-csi-snap-1");
    expect((await client.ldevs.get(pvol))?.attributes).toContain("HTI");

    await client.snapshots.delete(ref);
    await rejectionOf(client.snapshots.get(ref), VspNotFoundError);
    await client.ldevs.delete(pvol);
    expect(await client.ldevs.get(pvol)).toBeUndefined();
  });
});

describe("pair operations and NoWait", () => {
  it("NoWait ends the create job when the pair is accepted (COPY); without it the job waits for PAIR", async () => {
    t = await startTestSim({ timings: { ...INSTANT_TIMINGS, tiPairCreateMs: 300 } });
    client = clientFor(t);
    const pvol = await client.ldevs.create({ poolId: 0, blockCapacity: 2048, ldevId: 30 });
    const params = { snapshotGroupName: "vsp-csi-g", snapshotPoolId: 0, pvolLdevId: pvol };
    const quick = await client.snapshots.create(params, { noWait: true });
    expect((await client.snapshots.get(quick)).status).toBe("COPY");
    const waited = await client.snapshots.create(params);
    expect((await client.snapshots.get(waited)).status).toBe("PAIR");
    await client.snapshots.split(waited);
    expect((await client.snapshots.get(waited)).status).toBe("PSUS");
    await client.snapshotGroups.delete("vsp-csi-g");
    expect(await client.snapshots.list({ pvolLdevId: pvol })).toEqual([]);
  });

  it("creates, splits and deletes a ShadowImage pair", async () => {
    t = await startTestSim();
    client = clientFor(t, { urlStyle: "short" });
    const pvol = await client.ldevs.create({ poolId: 0, blockCapacity: 2048, ldevId: 40 });
    const svol = await client.ldevs.create({ poolId: 0, blockCapacity: 2048, ldevId: 41 });
    const pairId = await client.localCloneCopyPairs.create(
      {
        copyGroupName: "cg1",
        copyPairName: "p1",
        pvolLdevId: pvol,
        svolLdevId: svol,
        pvolDeviceGroupName: "cg1P",
        svolDeviceGroupName: "cg1S",
        isNewGroupCreation: true,
      },
      { noWait: true },
    );
    expect(pairId).toBe("cg1,cg1P,cg1S,p1");
    await client.localCloneCopyPairs.split(pairId);
    expect(await client.localCloneCopyPairs.get(pairId)).toMatchObject({
      pvolLdevId: pvol,
      svolLdevId: svol,
      pvolStatus: "PSUS",
    });
    expect((await client.localCloneCopyPairs.list({ localCloneCopyGroupId: "cg1,cg1P,cg1S" })).length).toBe(
      1,
    );
    await client.localCloneCopyPairs.delete(pairId);
    await rejectionOf(client.localCloneCopyPairs.get(pairId), VspNotFoundError);
  });
});

describe("find: one meaning of absent", () => {
  beforeEach(async () => {
    t = await startTestSim();
    client = clientFor(t);
    await client.connect();
  });

  it("answers undefined for a pair, snapshot group, copy pair or copy group the array does not have", async () => {
    expect(await client.snapshots.find({ pvolLdevId: 7, muNumber: 3 })).toBeUndefined();
    expect(await client.snapshotGroups.find("no-such-group", { detailInfoType: "pair" })).toBeUndefined();
    expect(await client.localCloneCopyGroups.find("ci-x,pi-x,si-x")).toBeUndefined();
    expect(await client.localCloneCopyPairs.find("ci-x,pi-x,si-x,t1")).toBeUndefined();
    // get keeps throwing the typed error, for callers to whom absence is a failure.
    await expect(client.snapshots.get({ pvolLdevId: 7, muNumber: 3 })).rejects.toBeInstanceOf(
      VspNotFoundError,
    );
  });

  it("answers the object when it exists", async () => {
    const pvol = await client.ldevs.create({ poolId: 0, byteFormatCapacity: "1G" });
    const ref = await client.snapshots.create({
      snapshotGroupName: "find-g",
      snapshotPoolId: 0,
      pvolLdevId: pvol,
    });
    expect(await client.snapshots.find(ref)).toMatchObject({ pvolLdevId: pvol, snapshotGroupName: "find-g" });
    expect((await client.snapshotGroups.find("find-g", { detailInfoType: "pair" }))?.snapshots).toHaveLength(
      1,
    );
  });
});
