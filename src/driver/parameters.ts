/**
 * StorageClass parameters (CreateVolume `parameters`), VolumeSnapshotClass parameters
 * (CreateSnapshot `parameters`) and VolumeAttributesClass mutable parameters
 * (ControllerModifyVolume), validated with precise messages. Kubernetes passes every value as a
 * string; the CSI sidecars add their own `csi.storage.k8s.io/*` keys, which are accepted and
 * ignored here.
 */
import { z } from "zod";

import { InvalidArgumentError } from "./errors.js";

const DATA_REDUCTION = ["disabled", "compression", "compression_deduplication"] as const;
export type DataReduction = (typeof DATA_REDUCTION)[number];

/** Thin Image clone copy speed (D-TI-CREATE `copySpeed`; Cinder's hitachi_copy_speed 1–2/3/4–15). */
export const COPY_SPEEDS = ["slower", "medium", "faster"] as const;
export type CopySpeed = (typeof COPY_SPEEDS)[number];

/**
 * How a snapshot, a restore or a clone copies its data: `thinImage` (default) a Thin Image pair
 * (space-efficient, its data shares the source's blocks), `shadowImage` a ShadowImage full copy into
 * a DP volume of the source's size, independent of the source once split (§6 ShadowImage).
 */
export const COPY_METHODS = ["thinImage", "shadowImage"] as const;
export type CopyMethod = (typeof COPY_METHODS)[number];

const uint = (max: number) =>
  z
    .string()
    .regex(/^(0|[1-9]\d*)$/, "must be a non-negative integer")
    .transform(Number)
    .refine((n) => n <= max, `must be at most ${max}`);

const volumeParameters = z.strictObject({
  /** Which configured array (by name); default: the configured default array. */
  array: z.string().min(1).optional(),
  /** HDP pool id for the volume; default: the array's defaultPoolId. */
  pool: uint(65535).optional(),
  /** Capacity saving of the DP volume. */
  dataReductionMode: z.enum(DATA_REDUCTION).optional(),
  /** Filesystem for mount volumes: the node plugin formats with it. */
  fsType: z.enum(["ext4", "xfs"]).optional(),
  /**
   * How fast the array copies a volume restored from a snapshot or cloned from a PVC (the Thin
   * Image clone's copySpeed); the volume is usable during the copy either way. Default medium.
   */
  copySpeed: z.enum(COPY_SPEEDS).optional(),
  /**
   * How a PVC clone, or a restore from a ShadowImage snapshot, copies the data (COPY_METHODS).
   * Restores from Thin Image snapshots always use a Thin Image clone.
   */
  copyMethod: z.enum(COPY_METHODS).optional(),
});

export type VolumeParameters = z.infer<typeof volumeParameters>;

const snapshotParameters = z.strictObject({
  /**
   * Pool for the snapshot data (a Thin Image pool or an HDP pool, D-TI-CREATE snapshotPoolId);
   * default: the array's snapshotPoolId, else the source volume's own pool (as Cinder does).
   */
  snapshotPool: uint(65535).optional(),
  /** How the snapshot is taken (COPY_METHODS); snapshotPool applies to thinImage only. */
  copyMethod: z.enum(COPY_METHODS).optional(),
});

export type SnapshotParameters = z.infer<typeof snapshotParameters>;

const mutableParameters = z.strictObject({
  dataReductionMode: z.enum(DATA_REDUCTION).optional(),
  /** QoS upper limit in IOPS (set-qos upperIops); 0 removes the limit. */
  upperIops: uint(2_147_483_647).optional(),
  /** QoS upper limit in MB/s (set-qos upperTransferRate); 0 removes the limit. */
  upperTransferRate: uint(2_147_483_647).optional(),
});

export type MutableParameters = z.infer<typeof mutableParameters>;

function firstProblem(error: z.ZodError, what: string): InvalidArgumentError {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys") {
    return new InvalidArgumentError(`${what}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`);
  }
  const key = issue?.path.join(".") ?? "";
  return new InvalidArgumentError(`${what}: ${key}: ${issue?.message ?? "invalid"}`);
}

/** Keys the Kubernetes sidecars add themselves (`csi.storage.k8s.io/pvc/name`, …). */
function withoutSidecarKeys(parameters: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(parameters).filter(([k]) => !k.startsWith("csi.storage.k8s.io/")));
}

export function parseVolumeParameters(parameters: Record<string, string> | undefined): VolumeParameters {
  const result = volumeParameters.safeParse(withoutSidecarKeys(parameters ?? {}));
  if (!result.success) throw firstProblem(result.error, "StorageClass parameters");
  return result.data;
}

export function parseSnapshotParameters(parameters: Record<string, string> | undefined): SnapshotParameters {
  const result = snapshotParameters.safeParse(withoutSidecarKeys(parameters ?? {}));
  if (!result.success) throw firstProblem(result.error, "VolumeSnapshotClass parameters");
  if (result.data.copyMethod === "shadowImage" && result.data.snapshotPool !== undefined) {
    // A ShadowImage copy is a DP volume in the source's pool: there is no snapshot pool to choose.
    throw new InvalidArgumentError(
      "VolumeSnapshotClass parameters: snapshotPool: applies to copyMethod thinImage only",
    );
  }
  return result.data;
}

export function parseMutableParameters(parameters: Record<string, string> | undefined): MutableParameters {
  const result = mutableParameters.safeParse(parameters ?? {});
  if (!result.success) throw firstProblem(result.error, "mutable parameters");
  return result.data;
}
