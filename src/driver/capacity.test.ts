import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { DEFAULT_VOLUME_BYTES, MIB, satisfiesRange, sizeForRange } from "./capacity.js";
import { InvalidArgumentError, OutOfRangeError } from "./errors.js";

describe("sizeForRange", () => {
  it.each([
    ["no range: the default", undefined, DEFAULT_VOLUME_BYTES],
    ["exact MiB multiple kept", { required_bytes: String(10n * MIB) }, 10n * MIB],
    ["one byte rounds up to a MiB", { required_bytes: "1" }, MIB],
    ["just over a MiB rounds to two", { required_bytes: String(MIB + 1n) }, 2n * MIB],
    ["limit only, below default: largest MiB under it", { limit_bytes: String(5n * MIB + 7n) }, 5n * MIB],
    [
      "limit only, above default: the default",
      { limit_bytes: String(100n * DEFAULT_VOLUME_BYTES) },
      DEFAULT_VOLUME_BYTES,
    ],
    [
      "required equal to limit",
      { required_bytes: String(3n * MIB), limit_bytes: String(3n * MIB) },
      3n * MIB,
    ],
  ])("%s", (_name, range, expected) => {
    expect(sizeForRange(range)).toBe(expected);
  });

  it.each([
    ["required above limit", { required_bytes: "10", limit_bytes: "5" }, InvalidArgumentError],
    ["no MiB between required and limit", { required_bytes: "1", limit_bytes: "1000" }, OutOfRangeError],
    ["limit below a MiB", { limit_bytes: "1000" }, OutOfRangeError],
    ["negative", { required_bytes: "-1" }, InvalidArgumentError],
    ["beyond 256 TiB", { required_bytes: String(2n ** 49n) }, OutOfRangeError],
  ])("refuses %s", (_name, range, error) => {
    expect(() => sizeForRange(range)).toThrow(error);
  });

  it("never returns less than required nor more than the limit, and always whole MiB", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.bigInt({ min: 0n, max: 2n ** 40n }), (a, b) => {
        const [required, limit] = a <= b ? [a, b] : [b, a];
        const range = { required_bytes: String(required), limit_bytes: String(limit) };
        let size: bigint;
        try {
          size = sizeForRange(range);
        } catch (err) {
          // Only refused when no whole-MiB size fits in [required, limit].
          expect(err).toBeInstanceOf(OutOfRangeError);
          return;
        }
        expect(size % MIB).toBe(0n);
        expect(size >= required).toBe(true);
        if (limit > 0n) expect(size <= limit).toBe(true);
        expect(satisfiesRange(size, range)).toBe(true);
      }),
    );
  });
});
