import fc from "fast-check";
import { describe, expect, it } from "vitest";

import type { CsiId, GroupSnapshotId, SnapshotId, VolumeId } from "./ids.js";
import {
  InvalidIdError,
  MAX_ID_BYTES,
  formatCsiId,
  formatGroupSnapshotId,
  formatSnapshotId,
  formatVolumeId,
  groupSnapshotIdOfMember,
  parseCsiId,
  parseGroupSnapshotId,
  parseSnapshotId,
  parseVolumeId,
} from "./ids.js";
import { groupSnapshotGroupName, shadowImageCopyGroupName, snapshotLabel, volumeLabel } from "./names.js";

const SID = "886000123456";
const CV = volumeLabel("csi.vsp-csi.dev", "pvc-a"); // cv-…
const CS = snapshotLabel("csi.vsp-csi.dev", "snap-a"); // cs-…
const CG = groupSnapshotGroupName("csi.vsp-csi.dev", "group-a"); // cg-…
const CI = shadowImageCopyGroupName("csi.vsp-csi.dev", "full-a"); // ci-…

// ---- arbitraries of valid values -------------------------------------------------------------
const deviceId = fc.stringMatching(/^[0-9]{12}$/);
const ldevId = fc.integer({ min: 0, max: 65279 });
const mu = fc.integer({ min: 0, max: 1023 });
const coName = fc.string({ unit: "binary", minLength: 1, maxLength: 64 });
const tiGroup = fc.oneof(
  coName.map((n) => snapshotLabel("d.example", n)),
  coName.map((n) => groupSnapshotGroupName("d.example", n)),
);
const volume: fc.Arbitrary<VolumeId> = fc.record({
  kind: fc.constant("volume" as const),
  storageDeviceId: deviceId,
  ldevId,
  label: coName.map((n) => volumeLabel("d.example", n)),
});
const snapshot: fc.Arbitrary<SnapshotId> = fc.oneof(
  fc.record({
    kind: fc.constant("ti-snapshot" as const),
    storageDeviceId: deviceId,
    pvolLdevId: ldevId,
    muNumber: mu,
    snapshotGroupName: tiGroup,
  }),
  fc.record({
    kind: fc.constant("si-snapshot" as const),
    storageDeviceId: deviceId,
    svolLdevId: ldevId,
    copyGroupName: coName.map((n) => shadowImageCopyGroupName("d.example", n)),
  }),
);
const group: fc.Arbitrary<GroupSnapshotId> = fc.record({
  kind: fc.constant("group-snapshot" as const),
  storageDeviceId: deviceId,
  snapshotGroupName: coName.map((n) => groupSnapshotGroupName("d.example", n)),
});
const anyId: fc.Arbitrary<CsiId> = fc.oneof(volume, snapshot, group);

/** Every parser: all of them must agree on what is not ours. */
const parsers = [parseVolumeId, parseSnapshotId, parseGroupSnapshotId, parseCsiId] as const;

function rejectedByAll(s: string): boolean {
  return parsers.every((parse) => {
    try {
      parse(s);
      return false;
    } catch (err) {
      return err instanceof InvalidIdError;
    }
  });
}

/** Mutations of a valid ID that must all be rejected. */
function mutations(id: string): string[] {
  const parts = id.split(".");
  const out = [
    `${id}.`,
    `.${id}`,
    id.replace(".", ".."),
    `2${id.slice(1)}`, // wrong version
    `0${id.slice(1)}`,
    `01${id.slice(1)}`,
    id.replace(/^1\.([0-9]{12})/, "1.$1" + "7"), // 13-digit device id
    id.replace(/^1\.([0-9]{11})[0-9]/, "1.$1"), // 11-digit device id
    ` ${id}`,
    `${id} `,
    `${id}\n`,
    id.toUpperCase(),
  ];
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i] ?? "";
    if (/^[0-9]+$/.test(p) && i > 1) {
      out.push([...parts.slice(0, i), `0${p}`, ...parts.slice(i + 1)].join(".")); // leading zero
      out.push([...parts.slice(0, i), `+${p}`, ...parts.slice(i + 1)].join("."));
      out.push([...parts.slice(0, i), `${p}.0`, ...parts.slice(i + 1)].join(".")); // extra dot
    }
  }
  return out.filter((s) => s !== id);
}

describe("ID round trips (property)", () => {
  it("parse(format(x)) == x for every valid volume, snapshot and group snapshot", () => {
    fc.assert(
      fc.property(anyId, (id) => {
        const text = formatCsiId(id);
        expect(parseCsiId(text)).toEqual(id);
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_ID_BYTES);
        expect(text).toMatch(/^[\x21-\x7e]+$/); // printable ASCII, no spaces
      }),
    );
  });

  it("kind-specific formatters and parsers are inverse too", () => {
    fc.assert(
      fc.property(volume, snapshot, group, (v, s, g) => {
        expect(parseVolumeId(formatVolumeId(v))).toEqual(v);
        expect(parseSnapshotId(formatSnapshotId(s))).toEqual(s);
        expect(parseGroupSnapshotId(formatGroupSnapshotId(g))).toEqual(g);
      }),
    );
  });

  it("format(parse(s)) == s for every accepted string", () => {
    fc.assert(
      fc.property(anyId, (id) => {
        const text = formatCsiId(id);
        expect(formatCsiId(parseCsiId(text))).toBe(text);
      }),
    );
  });

  it("arbitrary strings are rejected", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ maxLength: 300 })),
        (s) => {
          expect(rejectedByAll(s)).toBe(true);
        },
      ),
    );
  });

  it("arbitrary dotted strings (structure-aware garbage) are rejected unless canonical", () => {
    const field = fc.oneof(
      fc.stringMatching(/^[0-9]{0,14}$/),
      fc.constantFrom("v", "ti", "si", "grp", "1", CV, CS, CG, CI, ""),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 7 }), (fields) => {
        const s = fields.join(".");
        let parsed: CsiId | undefined;
        try {
          parsed = parseCsiId(s);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidIdError);
        }
        // Whatever happened to be accepted must be canonical.
        if (parsed !== undefined) expect(formatCsiId(parsed)).toBe(s);
      }),
    );
  });

  it("every mutation of a valid ID is rejected (leading zeros, extra dots, version, 11/13 digits…)", () => {
    fc.assert(
      fc.property(anyId, (id) => {
        for (const bad of mutations(formatCsiId(id))) {
          expect(rejectedByAll(bad), bad).toBe(true);
        }
      }),
    );
  });
});

describe("ID formats (named cases)", () => {
  it.each<[string, string, CsiId]>([
    [
      "volume",
      `1.886000123456.v.291.${CV}`,
      { kind: "volume", storageDeviceId: SID, ldevId: 291, label: CV },
    ],
    [
      "volume LDEV 0",
      `1.886000123456.v.0.${CV}`,
      { kind: "volume", storageDeviceId: SID, ldevId: 0, label: CV },
    ],
    [
      "volume max LDEV",
      `1.886000123456.v.65279.${CV}`,
      { kind: "volume", storageDeviceId: SID, ldevId: 65279, label: CV },
    ],
    [
      "device id with leading zero",
      `1.000000000001.v.5.${CV}`,
      { kind: "volume", storageDeviceId: "000000000001", ldevId: 5, label: CV },
    ],
    [
      "TI snapshot",
      `1.886000123456.ti.291.3.${CS}`,
      { kind: "ti-snapshot", storageDeviceId: SID, pvolLdevId: 291, muNumber: 3, snapshotGroupName: CS },
    ],
    [
      "TI snapshot, MU 1023, group member",
      `1.886000123456.ti.0.1023.${CG}`,
      { kind: "ti-snapshot", storageDeviceId: SID, pvolLdevId: 0, muNumber: 1023, snapshotGroupName: CG },
    ],
    [
      "SI snapshot",
      `1.886000123456.si.512.${CI}`,
      { kind: "si-snapshot", storageDeviceId: SID, svolLdevId: 512, copyGroupName: CI },
    ],
    [
      "group snapshot",
      `1.886000123456.grp.${CG}`,
      { kind: "group-snapshot", storageDeviceId: SID, snapshotGroupName: CG },
    ],
  ])("%s: %s", (_name, text, id) => {
    expect(parseCsiId(text)).toEqual(id);
    expect(formatCsiId(id)).toBe(text);
  });

  const NOT_OURS = "volume label is not one written by vsp-csi";
  const LAYOUT = "unknown layout";
  const NOT_CANONICAL = "LDEV ID is not a canonical decimal number";
  it.each([
    ["csi-sanity garbage", "fake-volume-id", "unknown format version"],
    ["empty", "", "unknown format version"],
    ["version only", "1", "storage device ID is not 12 digits"],
    ["device id only", "1.886000123456", LAYOUT],
    ["old 3-part layout", "1.886000123456.291", LAYOUT],
    ["old 3-part layout plus label (no tag)", `1.886000123456.291.${CV}`, LAYOUT],
    ["missing LDEV", `1.886000123456.v.${CV}`, LAYOUT],
    ["empty LDEV", `1.886000123456.v..${CV}`, NOT_CANONICAL],
    ["leading zero LDEV", `1.886000123456.v.0291.${CV}`, NOT_CANONICAL],
    ["double zero LDEV", `1.886000123456.v.00.${CV}`, NOT_CANONICAL],
    ["LDEV above 00:FE:FF", `1.886000123456.v.65280.${CV}`, "LDEV ID is above 65279"],
    ["LDEV in hex notation", `1.886000123456.v.0x123.${CV}`, NOT_CANONICAL],
    ["LDEV in CU:LDEV notation", `1.886000123456.v.00:01:23.${CV}`, NOT_CANONICAL],
    ["negative LDEV", `1.886000123456.v.-1.${CV}`, NOT_CANONICAL],
    ["missing label", "1.886000123456.v.291", LAYOUT],
    ["empty label", "1.886000123456.v.291.", NOT_OURS],
    ["snapshot group name as label", `1.886000123456.v.291.${CS}`, "volume label is a snapshot name"],
    ["group snapshot name as label", `1.886000123456.v.291.${CG}`, "volume label is a group-snapshot name"],
    ["copy group name as label", `1.886000123456.v.291.${CI}`, "volume label is a shadow-image name"],
    ["uppercase label", `1.886000123456.v.291.${CV.toUpperCase()}`, NOT_OURS],
    [
      "label with one uppercase letter",
      `1.886000123456.v.291.cv-${CV.slice(3).replace(/[a-z]/, (c) => c.toUpperCase())}`,
      NOT_OURS,
    ],
    ["label one character short", `1.886000123456.v.291.${CV.slice(0, -1)}`, NOT_OURS],
    ["label one character long", `1.886000123456.v.291.${CV}a`, NOT_OURS],
    ["foreign label (Cinder, 32 hex)", "1.886000123456.v.291.0123456789abcdef0123456789abcdef", NOT_OURS],
    ["extra field after the label", `1.886000123456.v.291.${CV}.0`, LAYOUT],
    ["uppercase tag V", `1.886000123456.V.291.${CV}`, LAYOUT],
    ["11-digit device id", `1.88600012345.v.291.${CV}`, "storage device ID is not 12 digits"],
    ["13-digit device id", `1.8860001234567.v.291.${CV}`, "storage device ID is not 12 digits"],
    ["version 2", `2.886000123456.v.291.${CV}`, "unknown format version"],
    ["version 01", `01.886000123456.v.291.${CV}`, "unknown format version"],
    ["trailing dot", `1.886000123456.v.291.${CV}.`, LAYOUT],
    ["Cinder-style UUID", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "unknown format version"],
    ["full-width digits", `1.８８６０００１２３４５６.v.291.${CV}`, "storage device ID is not 12 digits"],
    ["Arabic-Indic digits", `1.886000123456.v.٢٩١.${CV}`, NOT_CANONICAL],
    ["over 128 bytes", `1.886000123456.v.291.${CV}${"a".repeat(80)}`, "longer than 128 bytes"],
    ["a TI snapshot ID", `1.886000123456.ti.291.3.${CS}`, "it is a ti-snapshot ID"],
    ["a group snapshot ID", `1.886000123456.grp.${CG}`, "it is a group-snapshot ID"],
  ])("volume: rejects %s", (_name, text, reason) => {
    expect(() => parseVolumeId(text)).toThrow(InvalidIdError);
    expect(() => parseVolumeId(text)).toThrow(
      expect.objectContaining({ expected: "volume", id: text, reason }),
    );
  });

  it.each([
    ["MU 1024", `1.886000123456.ti.291.1024.${CS}`],
    ["MU with leading zero", `1.886000123456.ti.291.03.${CS}`],
    ["missing MU", `1.886000123456.ti.291.${CS}`],
    ["P-VOL above max", `1.886000123456.ti.65280.3.${CS}`],
    ["foreign group name (Cinder)", "1.886000123456.ti.291.3.HBSD-snap3"],
    ["volume label as group", `1.886000123456.ti.291.3.cv-${CS.slice(3)}`],
    ["SI name as TI group", `1.886000123456.ti.291.3.${CI}`],
    ["uppercase tag", `1.886000123456.TI.291.3.${CS}`],
    ["uppercase group", `1.886000123456.ti.291.3.${CS.toUpperCase()}`],
    ["SI with TI group", `1.886000123456.si.512.${CS}`],
    ["SI with MU", `1.886000123456.si.512.0.${CI}`],
    ["a volume ID", `1.886000123456.v.291.${CV}`],
    ["a group snapshot ID", `1.886000123456.grp.${CG}`],
  ])("snapshot: rejects %s", (_name, text) => {
    expect(() => parseSnapshotId(text)).toThrow(InvalidIdError);
  });

  it.each([
    ["single-snapshot group (cs-)", `1.886000123456.grp.${CS}`],
    ["extra field", `1.886000123456.grp.${CG}.0`],
    ["a TI snapshot ID", `1.886000123456.ti.291.3.${CG}`],
    ["missing name", "1.886000123456.grp"],
    ["a volume ID", `1.886000123456.v.291.${CV}`],
  ])("group snapshot: rejects %s", (_name, text) => {
    expect(() => parseGroupSnapshotId(text)).toThrow(InvalidIdError);
  });

  it("formatVolumeId writes the documented layout with a real label", () => {
    const label = volumeLabel("csi.vsp-csi.dev", "pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0");
    expect(label).toMatch(/^cv-[a-z2-7]{29}$/);
    const text = formatVolumeId({ storageDeviceId: SID, ldevId: 291, label });
    expect(text).toBe(`1.886000123456.v.291.${label}`);
    expect(parseVolumeId(text)).toEqual({ kind: "volume", storageDeviceId: SID, ldevId: 291, label });
  });

  it("the longest IDs: Thin Image 61 bytes, volume 55 bytes (documented in the module comment)", () => {
    const ti = formatSnapshotId({
      kind: "ti-snapshot",
      storageDeviceId: SID,
      pvolLdevId: 65279,
      muNumber: 1023,
      snapshotGroupName: CS,
    });
    const vol = formatVolumeId({ storageDeviceId: SID, ldevId: 65279, label: CV });
    expect(Buffer.byteLength(ti)).toBe(61);
    expect(Buffer.byteLength(vol)).toBe(55);
  });

  it("the error carries what was expected, the input and the reason (for logs), not a gRPC code", () => {
    const err = (() => {
      try {
        parseVolumeId(`1.886000123456.v.65280.${CV}`);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidIdError);
    expect(err).toMatchObject({
      expected: "volume",
      id: `1.886000123456.v.65280.${CV}`,
      reason: "LDEV ID is above 65279",
    });
    expect((err as Error).message).toBe(
      `not a vsp-csi volume ID (LDEV ID is above 65279): "1.886000123456.v.65280.${CV}"`,
    );
  });

  it("cuts huge garbage in the error message", () => {
    expect(() => parseVolumeId("x".repeat(10_000))).toThrow(
      /^not a vsp-csi volume ID \(longer than 128 bytes\): "x{140}…"$/,
    );
  });

  it.each<[string, CsiId]>([
    ["an LDEV above the range", { kind: "volume", storageDeviceId: SID, ldevId: 65280, label: CV }],
    ["a negative LDEV", { kind: "volume", storageDeviceId: SID, ldevId: -1, label: CV }],
    ["a fractional LDEV", { kind: "volume", storageDeviceId: SID, ldevId: 1.5, label: CV }],
    ["NaN", { kind: "volume", storageDeviceId: SID, ldevId: Number.NaN, label: CV }],
    ["a short device id", { kind: "volume", storageDeviceId: "886000", ldevId: 1, label: CV }],
    ["a snapshot group name as volume label", { kind: "volume", storageDeviceId: SID, ldevId: 1, label: CS }],
    ["an empty volume label", { kind: "volume", storageDeviceId: SID, ldevId: 1, label: "" }],
    [
      "an uppercase volume label",
      { kind: "volume", storageDeviceId: SID, ldevId: 1, label: CV.toUpperCase() },
    ],
    [
      "a volume label smuggling a field",
      { kind: "volume", storageDeviceId: SID, ldevId: 1, label: `${CV}.0` },
    ],
    [
      "a device id smuggling a dot",
      { kind: "group-snapshot", storageDeviceId: `${SID}.grp`, snapshotGroupName: CG },
    ],
    [
      "MU above 1023",
      { kind: "ti-snapshot", storageDeviceId: SID, pvolLdevId: 1, muNumber: 1024, snapshotGroupName: CS },
    ],
    [
      "a foreign group name",
      {
        kind: "ti-snapshot",
        storageDeviceId: SID,
        pvolLdevId: 1,
        muNumber: 0,
        snapshotGroupName: "HBSD-snap0",
      },
    ],
  ])("formatting refuses %s (it would not round-trip)", (_name, id) => {
    expect(() => formatCsiId(id)).toThrow(RangeError);
  });
});

describe("groupSnapshotIdOfMember", () => {
  const cg = groupSnapshotGroupName("csi.vsp-csi.dev", "vgs-1");
  const cs = snapshotLabel("csi.vsp-csi.dev", "snap-1");

  it("names the group of a group snapshot's member, and nothing for other IDs", () => {
    expect(groupSnapshotIdOfMember(`1.${SID}.ti.291.3.${cg}`)).toBe(`1.${SID}.grp.${cg}`);
    expect(groupSnapshotIdOfMember(`1.${SID}.ti.291.3.${cs}`)).toBeUndefined();
    expect(groupSnapshotIdOfMember(`1.${SID}.grp.${cg}`)).toBeUndefined();
    expect(groupSnapshotIdOfMember("snapshot-1")).toBeUndefined();
    expect(groupSnapshotIdOfMember("")).toBeUndefined();
  });
});
