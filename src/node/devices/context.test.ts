/** The publish context, parsed strictly: what the controller sends, and what is refused. */
import { describe, expect, it } from "vitest";

import { InvalidArgumentError } from "../../driver/errors.js";
import { CHAP_KEYS, parseAttachTarget, transportOf } from "./context.js";

const VOLUME = "1.886000123456.v.291.cv-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NAA = "60060E8012345600502034560000002A";

describe("parseAttachTarget", () => {
  it("reads an fc context as the controller writes it", () => {
    const t = parseAttachTarget(
      VOLUME,
      "fc",
      {
        transport: "fc",
        naa: NAA,
        luns: "CL1-A:0,CL2-A:12",
        targetWwns: "CL1-A:50060E8012345600,CL2-A:0x50060e8012345610",
        readonly: "false",
        storageDeviceId: "886000123456",
        ldevId: "291",
      },
      {},
    );
    expect(t).toMatchObject({ ldevId: 291, naa: NAA.toLowerCase() });
    expect(t.luns).toEqual([
      { portId: "CL1-A", lun: 0 },
      { portId: "CL2-A", lun: 12 },
    ]);
    expect([...t.targetWwns]).toEqual([
      ["CL1-A", "50060e8012345600"],
      ["CL2-A", "50060e8012345610"],
    ]);
    expect(t.chap).toBeUndefined();
  });

  it("reads iscsi portals (IPv4 and bracketed IPv6), target IQNs and CHAP secrets", () => {
    const t = parseAttachTarget(
      VOLUME,
      "iscsi",
      {
        naa: NAA,
        luns: "CL3-A:1,CL4-A:1",
        portals: "CL3-A:192.0.2.10:3260,CL4-A:[2001:db8::1]:3261",
        targetIqns: "CL3-A:iqn.1994-04.jp.co.hitachi:rsd.h8m.t.10000.1c000",
      },
      { [CHAP_KEYS.username]: "u", [CHAP_KEYS.password]: "p" },
    );
    expect([...t.portals]).toEqual([
      ["CL3-A", { address: "192.0.2.10", port: 3260 }],
      ["CL4-A", { address: "2001:db8::1", port: 3261 }],
    ]);
    expect(t.targetIqns.get("CL3-A")).toBe("iqn.1994-04.jp.co.hitachi:rsd.h8m.t.10000.1c000");
    expect(t.chap).toEqual({ username: "u", password: "p" });
  });

  it("takes the LDEV from the volume id when a sim stage has no publish context", () => {
    expect(parseAttachTarget(VOLUME, "sim", {}, {}).ldevId).toBe(291);
  });

  const refused: [string, Record<string, string>, Record<string, string>, RegExp][] = [
    ["fc without naa", { luns: "CL1-A:0" }, {}, /no naa: ControllerPublishVolume must map/],
    ["fc without luns", { naa: NAA }, {}, /no luns/],
    ["a short naa", { naa: "60060e80", luns: "CL1-A:0" }, {}, /naa: is not 32 hex digits/],
    ["a LUN out of range", { naa: NAA, luns: "CL1-A:4096" }, {}, /LUN "4096"/],
    ["a bad port id", { naa: NAA, luns: "port1:0" }, {}, /"port1:0" is not <port>:<value>/],
    ["a bad WWN", { naa: NAA, luns: "CL1-A:0", targetWwns: "CL1-A:xyz" }, {}, /targetWwns/],
    [
      "another LDEV than the volume's",
      { naa: NAA, luns: "CL1-A:0", ldevId: "292" },
      {},
      /292 is not the LDEV of volume/,
    ],
    ["half a CHAP secret", { naa: NAA, luns: "CL1-A:0" }, { [CHAP_KEYS.username]: "u" }, /CHAP needs both/],
  ];
  it.each(refused)("refuses %s as INVALID_ARGUMENT", (_what, context, secrets, message) => {
    expect(() => parseAttachTarget(VOLUME, "fc", context, secrets)).toThrow(InvalidArgumentError);
    expect(() => parseAttachTarget(VOLUME, "fc", context, secrets)).toThrow(message);
  });

  it("refuses a sim stage of a foreign volume id without an ldevId", () => {
    expect(() => parseAttachTarget("fake-volume-id", "sim", {}, {})).toThrow(/ldevId: missing/);
  });
});

describe("transportOf", () => {
  it("prefers the node's forced transport, then the context's, then the default", () => {
    expect(transportOf({ transport: "fc" }, "sim", "iscsi")).toBe("sim");
    expect(transportOf({ transport: "fc" }, undefined, "iscsi")).toBe("fc");
    expect(transportOf({}, undefined, "iscsi")).toBe("iscsi");
    expect(() => transportOf({ transport: "nvme" }, undefined, "fc")).toThrow(/not fc, iscsi or sim/);
  });
});
