import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { formatNodeId, hostGroupNameFor, nodeNameFromHostGroup, parseNodeId } from "./node-id.js";

const wwpn = fc.stringMatching(/^[0-9a-f]{16}$/);
const nodeName = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/);

describe("node id", () => {
  it("formats canonically and parses back exactly", () => {
    fc.assert(
      fc.property(nodeName, fc.uniqueArray(wwpn, { maxLength: 4 }), fc.boolean(), (name, wwpns, withIqn) => {
        const node = { nodeName: name, wwpns, ...(withIqn ? { iqn: `iqn.2026-01.io.k8s:${name}` } : {}) };
        const id = formatNodeId(node);
        const parsed = parseNodeId(id);
        expect(parsed).toBeDefined();
        expect(formatNodeId(parsed!)).toBe(id);
        expect(parsed!.wwpns).toEqual([...wwpns].sort());
      }),
    );
  });

  it.each([
    ["worker-1", { nodeName: "worker-1", wwpns: [] }],
    [
      "worker-1;fc=10000000c9abcdef,21000024ff000001;iscsi=iqn.1994-05.com.redhat:abc",
      {
        nodeName: "worker-1",
        wwpns: ["10000000c9abcdef", "21000024ff000001"],
        iqn: "iqn.1994-05.com.redhat:abc",
      },
    ],
  ])("parses %s", (id, expected) => {
    expect(parseNodeId(id)).toEqual(expected);
  });

  it.each([
    "",
    "Worker",
    "worker;fc=xyz",
    "worker;fc=21000024ff000001,10000000c9abcdef", // not sorted: not canonical
    "worker;iscsi=notaniqn",
    "worker;foo=bar",
    "worker;fc=",
    "fake-node-id;x",
  ])("rejects %j", (id) => {
    expect(parseNodeId(id)).toBeUndefined();
  });

  it("names host groups within the iSCSI 32-character limit, distinct per node", () => {
    expect(hostGroupNameFor("worker-1")).toBe("k8s-worker-1");
    fc.assert(
      fc.property(fc.uniqueArray(nodeName, { minLength: 2, maxLength: 20 }), (names) => {
        const groups = names.map(hostGroupNameFor);
        expect(new Set(groups).size).toBe(names.length);
        for (const g of groups) expect(g.length).toBeLessThanOrEqual(32);
      }),
    );
  });

  it("reads the node name back from unshortened host group names only", () => {
    expect(nodeNameFromHostGroup(hostGroupNameFor("worker-1"))).toBe("worker-1");
    const long = "a-very-long-node-name-in-a-big-cluster.example.com";
    expect(nodeNameFromHostGroup(hostGroupNameFor(long))).toBeUndefined();
    expect(nodeNameFromHostGroup("HBSD-10000000c9abcdef")).toBeUndefined();
  });
});
