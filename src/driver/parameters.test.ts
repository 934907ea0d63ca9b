/**
 * StorageClass, VolumeSnapshotClass and VolumeAttributesClass parameters: what is accepted, and the
 * INVALID_ARGUMENT message naming the offending key otherwise.
 */
import { describe, expect, it } from "vitest";

import { InvalidArgumentError } from "./errors.js";
import { parseMutableParameters, parseSnapshotParameters, parseVolumeParameters } from "./parameters.js";

describe("StorageClass parameters", () => {
  it.each([
    [{}, {}],
    [{ copyMethod: "shadowImage" }, { copyMethod: "shadowImage" }],
    [
      { copyMethod: "thinImage", copySpeed: "faster" },
      { copyMethod: "thinImage", copySpeed: "faster" },
    ],
    [{ pool: "1", "csi.storage.k8s.io/pvc/name": "data" }, { pool: 1 }],
  ])("accepts %j", (given, parsed) => {
    expect(parseVolumeParameters(given)).toEqual(parsed);
  });

  it.each([
    [{ copyMethod: "ShadowImage" }, /^StorageClass parameters: copyMethod: /],
    [{ copyMethod: "" }, /^StorageClass parameters: copyMethod: /],
    [{ pool: "x" }, /^StorageClass parameters: pool: must be a non-negative integer$/],
    [{ copymethod: "shadowImage" }, /^StorageClass parameters: unknown key\(s\) "copymethod"$/],
  ])("refuses %j with INVALID_ARGUMENT naming the key", (given, message) => {
    expect(() => parseVolumeParameters(given)).toThrow(InvalidArgumentError);
    expect(() => parseVolumeParameters(given)).toThrow(message);
  });
});

describe("VolumeSnapshotClass parameters", () => {
  it.each([
    [undefined, {}],
    [
      { copyMethod: "thinImage", snapshotPool: "2" },
      { copyMethod: "thinImage", snapshotPool: 2 },
    ],
    [{ copyMethod: "shadowImage" }, { copyMethod: "shadowImage" }],
  ])("accepts %j", (given, parsed) => {
    expect(parseSnapshotParameters(given)).toEqual(parsed);
  });

  it.each([
    [{ copyMethod: "fullCopy" }, /^VolumeSnapshotClass parameters: copyMethod: /],
    [
      { copyMethod: "shadowImage", snapshotPool: "2" },
      /^VolumeSnapshotClass parameters: snapshotPool: applies to copyMethod thinImage only$/,
    ],
    [{ snapshotPool: "70000" }, /^VolumeSnapshotClass parameters: snapshotPool: must be at most 65535$/],
  ])("refuses %j with INVALID_ARGUMENT naming the key", (given, message) => {
    expect(() => parseSnapshotParameters(given)).toThrow(InvalidArgumentError);
    expect(() => parseSnapshotParameters(given)).toThrow(message);
  });
});

describe("mutable parameters", () => {
  it("do not take a copy method: it is fixed when the data is copied", () => {
    expect(() => parseMutableParameters({ copyMethod: "shadowImage" })).toThrow(
      /unknown key\(s\) "copyMethod"/,
    );
  });
});
