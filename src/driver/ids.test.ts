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
  parseCsiId,
  parseGroupSnapshotId,
  parseSnapshotId,
  parseVolumeId,
} from "./ids.js";
import { groupSnapshotGroupName, shadowImageCopyGroupName, snapshotGroupName } from "./names.js";

const SID = "886000123456";
const CS = snapshotGroupName("csi.vsp-csi.dev", "snap-a"); // cs-…
const CG = groupSnapshotGroupName("csi.vsp-csi.dev", "group-a"); // cg-…
const CI = shadowImageCopyGroupName("csi.vsp-csi.dev", "full-a"); // ci-…

// ---- arbitraries of valid values -------------------------------------------------------------
const deviceId = fc.stringMatching(/^[0-9]{12}$/);
const ldevId = fc.integer({ min: 0, max: 65279 });
const mu = fc.integer({ min: 0, max: 1023 });
const coName = fc.string({ unit: "binary", minLength: 1, maxLength: 64 });
const tiGroup = fc.oneof(
  coName.map((n) => snapshotGroupName("d.example", n)),
  coName.map((n) => groupSnapshotGroupName("d.example", n)),
);
const volume: fc.Arbitrary<VolumeId> = fc.record({
  kind: fc.constant("volume" as const),
  storageDeviceId: deviceId,
  ldevId,
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
      fc.constantFrom("ti", "si", "grp", "1", CS, CG, CI, ""),
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
    ["volume", "1.886000123456.291", { kind: "volume", storageDeviceId: SID, ldevId: 291 }],
    ["volume LDEV 0", "1.886000123456.0", { kind: "volume", storageDeviceId: SID, ldevId: 0 }],
    ["volume max LDEV", "1.886000123456.65279", { kind: "volume", storageDeviceId: SID, ldevId: 65279 }],
    [
      "device id with leading zero",
      "1.000000000001.5",
      { kind: "volume", storageDeviceId: "000000000001", ldevId: 5 },
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

  it.each([
    ["csi-sanity garbage", "fake-volume-id"],
    ["empty", ""],
    ["version only", "1"],
    ["missing LDEV", "1.886000123456"],
    ["empty LDEV", "1.886000123456."],
    ["leading zero LDEV", "1.886000123456.0291"],
    ["double zero LDEV", "1.886000123456.00"],
    ["LDEV above 00:FE:FF", "1.886000123456.65280"],
    ["LDEV in hex notation", "1.886000123456.0x123"],
    ["LDEV in CU:LDEV notation", "1.886000123456.00:01:23"],
    ["negative LDEV", "1.886000123456.-1"],
    ["11-digit device id", "1.88600012345.291"],
    ["13-digit device id", "1.8860001234567.291"],
    ["version 2", "2.886000123456.291"],
    ["version 01", "01.886000123456.291"],
    ["trailing dot", "1.886000123456.291."],
    ["Cinder-style UUID", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"],
    ["full-width digits", "1.８８６０００１２３４５６.291"],
    ["Arabic-Indic digits", "1.886000123456.٢٩١"],
    ["over 128 bytes", `1.886000123456.${"9".repeat(120)}`],
  ])("volume: rejects %s", (_name, text) => {
    expect(() => parseVolumeId(text)).toThrow(InvalidIdError);
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
    ["a volume ID", "1.886000123456.291"],
    ["a group snapshot ID", `1.886000123456.grp.${CG}`],
  ])("snapshot: rejects %s", (_name, text) => {
    expect(() => parseSnapshotId(text)).toThrow(InvalidIdError);
  });

  it.each([
    ["single-snapshot group (cs-)", `1.886000123456.grp.${CS}`],
    ["extra field", `1.886000123456.grp.${CG}.0`],
    ["a TI snapshot ID", `1.886000123456.ti.291.3.${CG}`],
    ["missing name", "1.886000123456.grp"],
  ])("group snapshot: rejects %s", (_name, text) => {
    expect(() => parseGroupSnapshotId(text)).toThrow(InvalidIdError);
  });

  it("the error carries what was expected, the input and the reason (for logs), not a gRPC code", () => {
    const err = (() => {
      try {
        parseVolumeId("1.886000123456.65280");
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidIdError);
    expect(err).toMatchObject({
      expected: "volume",
      id: "1.886000123456.65280",
      reason: "LDEV ID is above 65279",
    });
    expect((err as Error).message).toBe(
      'not a vsp-csi volume ID (LDEV ID is above 65279): "1.886000123456.65280"',
    );
  });

  it("cuts huge garbage in the error message", () => {
    expect(() => parseVolumeId("x".repeat(10_000))).toThrow(
      /^not a vsp-csi volume ID \(longer than 128 bytes\): "x{140}…"$/,
    );
  });

  it.each<[string, CsiId]>([
    ["an LDEV above the range", { kind: "volume", storageDeviceId: SID, ldevId: 65280 }],
    ["a negative LDEV", { kind: "volume", storageDeviceId: SID, ldevId: -1 }],
    ["a fractional LDEV", { kind: "volume", storageDeviceId: SID, ldevId: 1.5 }],
    ["NaN", { kind: "volume", storageDeviceId: SID, ldevId: Number.NaN }],
    ["a short device id", { kind: "volume", storageDeviceId: "886000", ldevId: 1 }],
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
