/**
 * Volume sizes. The array sizes DP volumes in 512-byte blocks; the driver creates them in whole
 * MiB (the unit of byteFormatCapacity "<n>M"), so every size the driver reports is exactly what
 * the array allocated and a request is never answered with less than it asked for.
 */
import { InvalidArgumentError, OutOfRangeError } from "./errors.js";

export const MIB = 1024n * 1024n;
export const GIB = 1024n * MIB;
/** Used when the CO gives no capacity range (CSI lets the plugin choose). */
export const DEFAULT_VOLUME_BYTES = GIB;
/** VSP DP-VOL maximum (256 TiB on current models); larger requests cannot be met. */
export const MAX_VOLUME_BYTES = 256n * 1024n * GIB;

export interface CapacityRange {
  required_bytes?: string | number | null;
  limit_bytes?: string | number | null;
}

function toBigInt(value: string | number | null | undefined, field: string): bigint {
  if (value === null || value === undefined || value === "") return 0n;
  const text = String(value);
  if (!/^\d+$/.test(text))
    throw new InvalidArgumentError(`capacity_range.${field} must be a non-negative integer`);
  return BigInt(text);
}

function roundUpToMiB(bytes: bigint): bigint {
  return ((bytes + MIB - 1n) / MIB) * MIB;
}

/**
 * The size to create for a capacity range: the required size rounded up to a whole MiB (or the
 * default), which must not exceed the limit. OUT_OF_RANGE when no MiB-sized volume fits.
 */
export function sizeForRange(range: CapacityRange | null | undefined): bigint {
  const required = toBigInt(range?.required_bytes, "required_bytes");
  const limit = toBigInt(range?.limit_bytes, "limit_bytes");
  if (limit > 0n && required > limit) {
    throw new InvalidArgumentError(
      `capacity_range.required_bytes (${required}) exceeds limit_bytes (${limit})`,
    );
  }
  // Only a limit below the default: the largest whole-MiB size under it.
  const onlySmallLimit = required === 0n && limit > 0n && limit < DEFAULT_VOLUME_BYTES;
  const size = onlySmallLimit
    ? (limit / MIB) * MIB
    : roundUpToMiB(required > 0n ? required : DEFAULT_VOLUME_BYTES);
  if ((limit > 0n && size > limit) || size === 0n) {
    throw new OutOfRangeError(
      `no volume fits capacity_range: the array allocates whole MiB, the smallest size ≥ ${required} bytes is ${size}, above limit_bytes ${limit}`,
    );
  }
  if (size > MAX_VOLUME_BYTES) {
    throw new OutOfRangeError(
      `requested ${size} bytes; the array's largest volume is ${MAX_VOLUME_BYTES} bytes (256 TiB)`,
    );
  }
  return size;
}

/** Whether an existing volume of `bytes` satisfies a (retried) request's range. */
export function satisfiesRange(bytes: bigint, range: CapacityRange | null | undefined): boolean {
  const required = toBigInt(range?.required_bytes, "required_bytes");
  const limit = toBigInt(range?.limit_bytes, "limit_bytes");
  return bytes >= required && (limit === 0n || bytes <= limit);
}
