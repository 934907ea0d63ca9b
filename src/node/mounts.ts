/**
 * What is mounted where, from /proc/self/mountinfo (the kernel's view, not a tool's output).
 * Mount points are escaped there: space, tab, newline and backslash as octal (\040 …).
 */
import { readFile } from "node:fs/promises";

export interface MountEntry {
  mountPoint: string;
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
    const [root, mountPoint, options] = [fields[3], fields[4], fields[5]];
    if (root === undefined || mountPoint === undefined || options === undefined) continue;
    entries.push({
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      options,
      fsType: tail[0] ?? "",
      source: unescapeOctal(tail[1] ?? ""),
    });
  }
  return entries;
}

export async function mountsAt(path: string, mountInfoPath = "/proc/self/mountinfo"): Promise<MountEntry[]> {
  return parseMountInfo(await readFile(mountInfoPath, "utf8")).filter((m) => m.mountPoint === path);
}
