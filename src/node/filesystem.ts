/**
 * Filesystems on a volume: tell a blank device from a used one (blkid's low-level probe, never its
 * cache), create ext4/xfs ONLY on a blank device, grow a mounted filesystem online.
 *
 * No fsck: ext4 replays its journal at mount and xfs has no fsck to run; a forced check on every
 * stage is what makes large volumes slow to attach (and the CSI spec does not ask for it).
 */
import { FailedPreconditionError } from "../driver/errors.js";
import { CommandError } from "./runner.js";
import type { Runner } from "./runner.js";

export const DEFAULT_FS_TYPE = "ext4";
export type FsType = "ext4" | "xfs";

export interface Probe {
  /** Filesystem type (blkid TYPE), e.g. "ext4", "xfs", "swap". */
  type?: string;
  /** Partition table type (blkid PTTYPE), e.g. "gpt", "dos". */
  ptType?: string;
}

/** blkid exit codes: 2 = nothing found, 8 = ambivalent (several signatures). */
const BLKID_NOTHING = 2;
const BLKID_AMBIVALENT = 8;

/** Long: mkfs of a large volume with discard on a thin array takes minutes. */
const MKFS_TIMEOUT_MS = 10 * 60_000;
const RESIZE_TIMEOUT_MS = 10 * 60_000;

export async function probe(runner: Runner, device: string): Promise<Probe | undefined> {
  const out = await runner.run("blkid", ["--probe", "--output", "export", device], {
    okExitCodes: [BLKID_NOTHING, BLKID_AMBIVALENT],
  });
  if (out.exitCode === BLKID_NOTHING) return undefined;
  if (out.exitCode === BLKID_AMBIVALENT) {
    throw new FailedPreconditionError(`${device} carries several filesystem signatures; not using it`);
  }
  const fields = new Map(
    out.stdout
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
  );
  const type = fields.get("TYPE");
  const ptType = fields.get("PTTYPE");
  return { ...(type ? { type } : {}), ...(ptType ? { ptType } : {}) };
}

/**
 * The filesystem to mount: the existing one, or a new one made on a blank device. A device with a
 * partition table, another kind of data, or a filesystem other than the one asked for is refused —
 * never formatted over.
 */
export async function ensureFilesystem(runner: Runner, device: string, wanted: string): Promise<FsType> {
  const found = await probe(runner, device);
  if (found === undefined) {
    const fsType = wanted === "" ? DEFAULT_FS_TYPE : asFsType(wanted);
    await mkfs(runner, device, fsType);
    const made = await probe(runner, device);
    if (made?.type !== fsType)
      throw new FailedPreconditionError(`mkfs.${fsType} ran but ${device} shows no ${fsType}`);
    return fsType;
  }
  if (found.type === undefined) {
    throw new FailedPreconditionError(
      `${device} holds a ${found.ptType ?? "non-filesystem"} partition table, not a filesystem; not formatting it`,
    );
  }
  if (wanted !== "" && found.type !== wanted) {
    throw new FailedPreconditionError(
      `${device} already holds ${found.type}, but the volume capability asks for ${wanted}; not formatting it`,
    );
  }
  if (found.type !== "ext4" && found.type !== "xfs") {
    throw new FailedPreconditionError(`${device} holds ${found.type}; this driver mounts ext4 and xfs`);
  }
  return found.type;
}

function asFsType(text: string): FsType {
  if (text === "ext4" || text === "xfs") return text;
  throw new FailedPreconditionError(`filesystem "${text}" is not supported (ext4, xfs)`);
}

async function mkfs(runner: Runner, device: string, fsType: FsType): Promise<void> {
  // -m0: no root-reserved blocks on a data volume (as Kubernetes' mount-utils formats ext4).
  const args = fsType === "ext4" ? ["-F", "-m0", device] : ["-f", device];
  try {
    await runner.run(`mkfs.${fsType}`, args, { timeoutMs: MKFS_TIMEOUT_MS });
  } catch (err) {
    if (err instanceof CommandError && err.stderr.includes("larger than 300MB")) {
      throw new FailedPreconditionError(
        "xfs needs a volume of at least 300 MiB (mkfs.xfs refuses smaller ones); use ext4 or a larger volume",
      );
    }
    throw err;
  }
}

/** Grows the filesystem to the device's size, online. */
export async function growFilesystem(
  runner: Runner,
  fsType: string,
  device: string,
  mountPoint: string,
): Promise<void> {
  if (fsType === "xfs") {
    await runner.run("xfs_growfs", [mountPoint], { timeoutMs: RESIZE_TIMEOUT_MS });
    return;
  }
  try {
    await runner.run("resize2fs", [device], { timeoutMs: RESIZE_TIMEOUT_MS });
  } catch (err) {
    // The kernel refuses EXT4_IOC_RESIZE_FS with EPERM without CAP_SYS_RESOURCE (ext4_resize_begin).
    if (err instanceof CommandError && err.stderr.includes("Permission denied to resize")) {
      throw new FailedPreconditionError(
        "the kernel refused to grow ext4 online: the node plugin needs CAP_SYS_RESOURCE (run it privileged)",
        { cause: err },
      );
    }
    throw err;
  }
}
