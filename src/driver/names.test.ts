import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { InvalidArgumentError } from "./errors.js";
import {
  InvalidNameError,
  base32,
  classifyLabel,
  groupMemberLabelPrefix,
  groupMemberSvolLabel,
  groupSnapshotGroupName,
  isOurLabel,
  shadowImageCopyGroupName,
  snapshotLabel,
  volumeLabel,
} from "./names.js";

const DRIVER = "csi.vsp-csi.dev";
/** LDEV label / snapshot group name character set (vsp-rest-api.md §4, §5). */
const ARRAY_NAME_CHARS = /^[A-Za-z0-9,\-.:@_]+$/;

const derivers = [
  ["volumeLabel", volumeLabel, "cv-", 32],
  ["snapshotLabel", snapshotLabel, "cs-", 32],
  ["groupSnapshotGroupName", groupSnapshotGroupName, "cg-", 32],
  ["shadowImageCopyGroupName", shadowImageCopyGroupName, "ci-", 31],
] as const;

describe("base32 (RFC 4648 §10 test vectors, lowercase, no padding)", () => {
  it.each([
    ["", ""],
    ["f", "my"],
    ["fo", "mzxq"],
    ["foo", "mzxw6"],
    ["foob", "mzxw6yq"],
    ["fooba", "mzxw6ytb"],
    ["foobar", "mzxw6ytboi"],
  ])("%j → %j", (input, expected) => {
    expect(base32(Buffer.from(input, "ascii"))).toBe(expected);
  });
});

describe("array-side names", () => {
  // These vectors were computed once (and cross-checked with Python's hashlib + base64.b32encode).
  // If one changes, every volume and snapshot already on an array is orphaned: the driver would no
  // longer find them by name. Do not "fix" the expected values — fix the code.
  it("pinned vectors: changing the digest algorithm would orphan every existing volume and snapshot", () => {
    expect(volumeLabel(DRIVER, "pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")).toBe(
      "cv-i3qe267xu2jrwdvyj2p4457vpnod5",
    );
    expect(snapshotLabel(DRIVER, "snapshot-1")).toBe("cs-n2uwx6oijqpc4xmntglcladw2yrgb");
    expect(groupSnapshotGroupName(DRIVER, "groupsnapshot-1")).toBe("cg-b57vhibhvhdzgiq3smrftmobl4csp");
    expect(shadowImageCopyGroupName(DRIVER, "snapshot-1")).toBe("ci-n2uwx6oijqpc4xmntglcladw2yrg");
  });

  it("the driver name is part of the digest: two driver instances on one array do not collide", () => {
    const name = "pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
    expect(volumeLabel("other.example.com", name)).not.toBe(volumeLabel(DRIVER, name));
    // The separator keeps (driver, name) unambiguous: moving a character across it changes the label.
    expect(volumeLabel("a.b", "c")).not.toBe(volumeLabel("a.", "bc"));
  });

  it.each(derivers)(
    "%s: always prefix + base32, exact length, allowed characters only",
    (_n, derive, prefix, len) => {
      fc.assert(
        fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 200 }), (name) => {
          const label = derive(DRIVER, name);
          expect(label).toHaveLength(len);
          expect(label.startsWith(prefix)).toBe(true);
          expect(label).toMatch(ARRAY_NAME_CHARS);
          expect(label.slice(3)).toMatch(/^[a-z2-7]+$/);
          expect(derive(DRIVER, name)).toBe(label); // deterministic
          expect(isOurLabel(label)).toBe(true);
        }),
      );
    },
  );

  it("different CO names give different labels (over generated sets of names)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: "binary", minLength: 1, maxLength: 64 }), {
          minLength: 2,
          maxLength: 200,
        }),
        (names) => {
          for (const [, derive] of derivers) {
            expect(new Set(names.map((n) => derive(DRIVER, n))).size).toBe(names.length);
          }
        },
      ),
    );
  });

  it("accepts a 128-byte ASCII name and multibyte UTF-8 names", () => {
    const ascii128 = "p".repeat(128);
    const emoji = "💾".repeat(32); // 32 × 4 bytes = 128 bytes
    const mixed = "ボリューム-ä-\u{10FFFF}";
    for (const name of [ascii128, emoji, mixed]) {
      expect(volumeLabel(DRIVER, name)).toMatch(/^cv-[a-z2-7]{29}$/);
    }
    expect(Buffer.byteLength(emoji)).toBe(128);
    expect(volumeLabel(DRIVER, emoji)).not.toBe(volumeLabel(DRIVER, ascii128));
  });

  it.each([
    ["an empty name", DRIVER, ""],
    ["an empty driver name", "", "pvc-1"],
    ["a lone surrogate (would alias U+FFFD)", DRIVER, "pvc-\uD800"],
  ])("rejects %s (INVALID_ARGUMENT)", (_what, driver, name) => {
    expect(() => volumeLabel(driver, name)).toThrow(InvalidNameError);
    expect(() => volumeLabel(driver, name)).toThrow(InvalidArgumentError);
  });

  it("a lone surrogate and U+FFFD would otherwise share a digest, so the guard matters", () => {
    expect(Buffer.from("pvc-\uD800", "utf8").equals(Buffer.from("pvc-\uFFFD", "utf8"))).toBe(true);
    expect(() => volumeLabel(DRIVER, "pvc-\uFFFD")).not.toThrow();
  });
});

describe("classifyLabel / isOurLabel: never touch what the driver did not create", () => {
  it.each([
    ["cv-i3qe267xu2jrwdvyj2p4457vpnod5", "volume"],
    ["cs-n2uwx6oijqpc4xmntglcladw2yrgb", "snapshot"],
    ["cg-b57vhibhvhdzgiq3smrftmobl4csp", "group-snapshot"],
    ["ci-n2uwx6oijqpc4xmntglcladw2yrg", "shadow-image"],
  ])("%s is ours (%s)", (label, kind) => {
    expect(classifyLabel(label)).toBe(kind);
    expect(isOurLabel(label)).toBe(true);
  });

  it.each([
    ["empty label", ""],
    ["Cinder UUID label", "0b1c2d3e4f5061728394a5b6c7d8e9f0"],
    ["Cinder snapshot group", "HBSD-snap3"],
    ["uppercase digest", "cv-I3QE267XU2JRWDVYJ2P4457VPNOD5"],
    ["one char short", "cv-i3qe267xu2jrwdvyj2p4457vpnod"],
    ["one char long", "cv-i3qe267xu2jrwdvyj2p4457vpnod5a"],
    ["digit outside base32 (0, 1, 8, 9)", "cv-i3qe267xu2jrwdvyj2p4457vpnod0"],
    ["unknown prefix", "cx-i3qe267xu2jrwdvyj2p4457vpnod5"],
    ["SI length with TI prefix", "cs-n2uwx6oijqpc4xmntglcladw2yrg"],
    ["TI length with SI prefix", "ci-n2uwx6oijqpc4xmntglcladw2yrgb"],
    ["trailing newline", "cv-i3qe267xu2jrwdvyj2p4457vpnod5\n"],
  ])("rejects %s", (_what, label) => {
    expect(classifyLabel(label)).toBeUndefined();
    expect(isOurLabel(label)).toBe(false);
  });

  it("rejects arbitrary strings that are not exactly our shape", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (label) => {
        fc.pre(!/^c[vsgi]-[a-z2-7]{28,29}$/.test(label));
        expect(isOurLabel(label)).toBe(false);
      }),
    );
  });
});

describe("groupMemberSvolLabel", () => {
  const group = groupSnapshotGroupName("csi.vsp-csi.dev", "vgs-1");

  it("is a 32-character cg- label: the group's 28-character prefix and the P-VOL id in base32", () => {
    const label = groupMemberSvolLabel(group, 291);
    expect(label).toHaveLength(32);
    expect(classifyLabel(label)).toBe("group-snapshot");
    expect(label.startsWith(groupMemberLabelPrefix(group))).toBe(true);
    expect(groupMemberLabelPrefix(group)).toBe(group.slice(0, 28));
    // 291 = 9 × 32 + 3 → "aajd".
    expect(label.slice(28)).toBe("aajd");
  });

  it("differs for every P-VOL of one group and never equals the group name", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65279 }), fc.integer({ min: 0, max: 65279 }), (a, b) => {
        const la = groupMemberSvolLabel(group, a);
        expect(la === groupMemberSvolLabel(group, b)).toBe(a === b);
        expect(la).not.toBe(group);
      }),
    );
  });

  it("rejects what is not a group name or an LDEV id", () => {
    expect(() => groupMemberLabelPrefix("cs-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa")).toThrow(RangeError);
    expect(() => groupMemberSvolLabel(group, -1)).toThrow(RangeError);
    expect(() => groupMemberSvolLabel(group, 32 ** 4)).toThrow(RangeError);
  });
});
