/**
 * What is mounted where, from /proc/self/mountinfo (the kernel's view, not a tool's output).
 * Mount points are escaped there: space, tab, newline and backslash as octal (\040 …).
 */
import { readFile } from "node:fs/promises";

export interface MountEntry {
  mountPoint: string;
  /** "major:minor" of the mounted filesystem's device (field 3). */
  devId: string;
  root: string;
  fsType: string;
  source: string;
  options: string;
}

function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const [left, right] = line.split(" - ");
    const fields = left?.split(" ") ?? [];
    const tail = right?.split(" ") ?? [];
    const [devId, root, mountPoint, options] = [fields[2], fields[3], fields[4], fields[5]];
    if (devId === undefined || root === undefined || mountPoint === undefined || options === undefined)
      continue;
    entries.push({
      devId,
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      options,
      fsType: tail[0] ?? "",
      source: unescapeOctal(tail[1] ?? ""),
    });
  }
  return entries;
}

export const MOUNTINFO = "/proc/self/mountinfo";

export async function allMounts(mountInfoPath = MOUNTINFO): Promise<MountEntry[]> {
  return parseMountInfo(await readFile(mountInfoPath, "utf8"));
}

/** Whether the per-mount options (not the superblock's) make the mount read-only. */
export function isReadOnly(entry: MountEntry): boolean {
  return entry.options.split(",").includes("ro");
}
