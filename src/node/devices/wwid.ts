/**
 * The WWID of a SCSI disk in the form udev and multipath use ("3" + hex for an NAA designator),
 * from sysfs `device/wwid` ("naa.60060e80…"), or from the raw VPD page 0x83 when the kernel does
 * not provide `wwid` (SPC-4 §7.8.6: Device Identification VPD page).
 */
import { readFile } from "node:fs/promises";

import { isNotFound } from "../host.js";

/** The expected WWID of a VSP LDEV: "3" + its 32-hex-digit NAA id (vsp-rest-api.md, NOTES). */
export function wwidOfNaa(naa: string): string {
  return `3${naa.toLowerCase()}`;
}

/** scsi_id's type prefixes: 1 = T10 vendor id, 2 = EUI-64, 3 = NAA, 8 = SCSI name string. */
const PREFIX: Record<string, string> = { "t10.": "1", "eui.": "2", "naa.": "3", "name.": "8" };

export function normaliseWwid(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  for (const [kind, prefix] of Object.entries(PREFIX)) {
    if (trimmed.toLowerCase().startsWith(kind)) {
      const value = trimmed.slice(kind.length);
      return prefix === "1" || prefix === "8" ? `${prefix}${value}` : `${prefix}${value.toLowerCase()}`;
    }
  }
  return trimmed;
}

export async function wwidFromSysfs(path: string): Promise<string | undefined> {
  try {
    return normaliseWwid(await readFile(path, "utf8"));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const DESIGNATOR_NAA = 3;
const ASSOCIATION_LOGICAL_UNIT = 0;

/** The logical unit's NAA designator from a VPD 0x83 page, as "3" + hex; the longest wins. */
export function wwidFromVpdPage(page: Buffer): string | undefined {
  if (page.length < 4 || page[1] !== 0x83) return undefined;
  const end = Math.min(page.length, 4 + page.readUInt16BE(2));
  let best: Buffer | undefined;
  for (let offset = 4; offset + 4 <= end;) {
    const typeByte = page[offset + 1] ?? 0;
    const length = page[offset + 3] ?? 0;
    const id = page.subarray(offset + 4, offset + 4 + length);
    const association = (typeByte >> 4) & 0x3;
    if (
      (typeByte & 0xf) === DESIGNATOR_NAA &&
      association === ASSOCIATION_LOGICAL_UNIT &&
      id.length === length
    ) {
      if (!best || id.length > best.length) best = id;
    }
    offset += 4 + length;
  }
  return best ? `3${best.toString("hex")}` : undefined;
}

export async function wwidFromVpd83(path: string): Promise<string | undefined> {
  try {
    return wwidFromVpdPage(await readFile(path));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
