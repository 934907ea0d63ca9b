/**
 * Known byte patterns the pods write, and their sha256 computed here, so a story checks the
 * bytes a pod read back against bytes derived independently of the cluster: busybox
 * `yes <line> | head -c <n>` repeats "<line>\n" and cuts at n bytes.
 */
import { createHash } from "node:crypto";

export const PATTERN_BYTES = 8 * 1024 * 1024;

export function patternSha256(line: string, bytes = PATTERN_BYTES): string {
  const unit = Buffer.from(`${line}\n`);
  const hash = createHash("sha256");
  let left = bytes;
  const chunk = Buffer.concat(Array.from({ length: Math.ceil(65_536 / unit.length) }, () => unit));
  // Whole chunks are multiples of the unit, so every chunk starts at a line boundary.
  const whole = chunk.subarray(0, Math.floor(chunk.length / unit.length) * unit.length);
  while (left > 0) {
    const part = whole.subarray(0, Math.min(left, whole.length));
    hash.update(part);
    left -= part.length;
  }
  return hash.digest("hex");
}

/** Shell that writes the pattern to `target` (a file, or the block device) and syncs it. */
export function writePattern(line: string, target: string, bytes = PATTERN_BYTES): string {
  return `yes '${line}' | head -c ${bytes} | dd of=${target} bs=1M conv=fsync,notrunc 2>/dev/null\nsync`;
}

/** Shell that prints the sha256 of the first `bytes` of `target` to the termination message. */
export function readPatternSha(target: string, bytes = PATTERN_BYTES): string {
  return `head -c ${bytes} ${target} | sha256sum | cut -d' ' -f1 > /dev/termination-log`;
}
