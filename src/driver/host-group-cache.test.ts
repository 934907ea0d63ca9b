import { describe, expect, it } from "vitest";

import type { ManagedArray } from "./arrays.js";
import { HostGroupCache } from "./host-group-cache.js";

/** Only the configuration the cache reads: the array's id and transport. */
function arrayOf(storageDeviceId: string, transport: "fc" | "iscsi" = "fc"): ManagedArray {
  return { config: { storageDeviceId, transport } } as unknown as ManagedArray;
}

const A = arrayOf("886000123456");
const B = arrayOf("886000123457");
const node = { nodeName: "worker-1", wwpns: ["10000000c9000001"] };

describe("HostGroupCache", () => {
  it("hints a group number per (array, port, name) only for initiators it saw there", () => {
    const cache = new HostGroupCache();
    cache.remember(A, "CL1-A", "k8s-worker-1", 5, node);
    expect(cache.hint(A, "CL1-A", "k8s-worker-1", node)).toBe(5);
    expect(cache.hint(A, "CL2-A", "k8s-worker-1", node)).toBeUndefined();
    expect(cache.hint(B, "CL1-A", "k8s-worker-1", node)).toBeUndefined();
    // A new HBA in the node: its WWPN was never checked in that group.
    const grown = { ...node, wwpns: [...node.wwpns, "10000000c9000002"] };
    expect(cache.hint(A, "CL1-A", "k8s-worker-1", grown)).toBeUndefined();
  });

  it("keys iSCSI targets by the node's IQN, case-insensitively", () => {
    const iscsi = arrayOf("886000123458", "iscsi");
    const cache = new HostGroupCache();
    cache.remember(iscsi, "CL3-A", "k8s-worker-1", 2, { ...node, iqn: "iqn.1994-05.com.redhat:W1" });
    expect(cache.hint(iscsi, "CL3-A", "k8s-worker-1", { ...node, iqn: "iqn.1994-05.com.redhat:w1" })).toBe(2);
    expect(cache.hint(iscsi, "CL3-A", "k8s-worker-1", { ...node, iqn: "iqn.1994-05.com.redhat:w2" })).toBe(
      undefined,
    );
  });

  it("forgets a deleted group's number under every name on that port only", () => {
    const cache = new HostGroupCache();
    cache.remember(A, "CL1-A", "k8s-worker-1", 5, node);
    cache.remember(A, "CL1-A", "k8s-old-name", 5, node);
    cache.remember(A, "CL2-A", "k8s-worker-1", 5, node);
    cache.remember(B, "CL1-A", "k8s-worker-1", 5, node);
    cache.forgetNumber(A, "CL1-A", 5);
    expect(cache.hint(A, "CL1-A", "k8s-worker-1", node)).toBeUndefined();
    expect(cache.hint(A, "CL1-A", "k8s-old-name", node)).toBeUndefined();
    expect(cache.hint(A, "CL2-A", "k8s-worker-1", node)).toBe(5);
    expect(cache.hint(B, "CL1-A", "k8s-worker-1", node)).toBe(5);
  });

  it("answers the newest witness, keeps a few, and drops one per node or for every node", () => {
    const cache = new HostGroupCache();
    for (const id of [1, 2, 3, 4, 5, 6]) cache.addWitness(A, "k8s-worker-1", id);
    cache.addWitness(A, "k8s-worker-1", 3);
    expect(cache.witness(A, "k8s-worker-1")).toBe(3);
    cache.dropWitness(A, "k8s-worker-1", 3);
    expect(cache.witness(A, "k8s-worker-1")).toBe(6);
    cache.addWitness(A, "k8s-worker-2", 6);
    cache.addWitness(B, "k8s-worker-1", 6);
    cache.dropWitness(A, undefined, 6);
    expect(cache.witness(A, "k8s-worker-1")).toBe(5);
    expect(cache.witness(A, "k8s-worker-2")).toBeUndefined();
    expect(cache.witness(B, "k8s-worker-1")).toBe(6);
    for (const id of [4, 5]) cache.dropWitness(A, "k8s-worker-1", id);
    expect(cache.witness(A, "k8s-worker-1")).toBeUndefined();
  });
});
