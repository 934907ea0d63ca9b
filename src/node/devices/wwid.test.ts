/** WWIDs as udev/multipath spell them, from sysfs text or a raw VPD 0x83 page. */
import { describe, expect, it } from "vitest";

import { vpd83 } from "../test-support/fake-host.js";
import { normaliseWwid, wwidFromVpdPage, wwidOfNaa } from "./wwid.js";

describe("WWIDs", () => {
  it("is '3' + NAA for a VSP LDEV, however sysfs cases it", () => {
    expect(wwidOfNaa("60060E8012345600502034560000002A")).toBe("360060e8012345600502034560000002a");
    expect(normaliseWwid("naa.60060E8012345600502034560000002A\n")).toBe("360060e8012345600502034560000002a");
    expect(normaliseWwid("eui.0025385b71b2f7d1")).toBe("20025385b71b2f7d1");
    expect(normaliseWwid("t10.ATA     QEMU HARDDISK")).toBe("1ATA     QEMU HARDDISK");
    expect(normaliseWwid("  ")).toBeUndefined();
  });

  it("takes the logical unit's NAA designator from VPD 0x83, skipping target-port designators", () => {
    expect(wwidFromVpdPage(vpd83("60060e8012345600502034560000002a"))).toBe(
      "360060e8012345600502034560000002a",
    );
  });

  it("finds nothing in a page that is not 0x83 or has no NAA designator", () => {
    const page = vpd83("60060e8012345600502034560000002a");
    expect(wwidFromVpdPage(Buffer.from([0, 0x80, 0, 0]))).toBeUndefined();
    const noNaa = Buffer.from(page);
    noNaa[4 + 12 + 1] = 0x02; // the LU designator becomes EUI-64
    expect(wwidFromVpdPage(noNaa)).toBeUndefined();
    expect(wwidFromVpdPage(page.subarray(0, 10))).toBeUndefined();
  });
});
