import { describe, expect, it } from "vitest";

import { allMounts, parseMountInfo } from "./mounts.js";

describe("mountinfo", () => {
  it("parses entries, with octal escapes in paths", () => {
    const text = [
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
      "99 22 7:3 / /var/lib/kubelet/pods/a\\040b/volumes rw,relatime shared:40 - xfs /dev/loop3 rw,attr2",
    ].join("\n");
    expect(parseMountInfo(text)).toEqual([
      {
        devId: "8:1",
        root: "/",
        mountPoint: "/",
        options: "rw,relatime",
        fsType: "ext4",
        source: "/dev/sda1",
      },
      {
        devId: "7:3",
        root: "/",
        mountPoint: "/var/lib/kubelet/pods/a b/volumes",
        options: "rw,relatime",
        fsType: "xfs",
        source: "/dev/loop3",
      },
    ]);
  });

  it("finds the root filesystem mounted at / on this machine", async () => {
    const mounts = await allMounts();
    expect(mounts.filter((m) => m.mountPoint === "/").length).toBeGreaterThan(0);
    expect(mounts.filter((m) => m.mountPoint === "/definitely/not/a/mount/point")).toEqual([]);
  });
});
