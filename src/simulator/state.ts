/**
 * The array's configuration state: everything the REST API can create, change or read, kept as
 * plain JSON so it persists in `<dataDir>/state.json` and reloads on restart. LDEV block data does
 * not live here: it lives in sparse files managed by data/block-store.ts.
 *
 * Sessions and jobs are deliberately not persisted: a restarted array has forgotten them, which is
 * what a client must survive (re-login on 401, re-read objects instead of old jobs).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { PoolSeed, PortSeed, SimConfig } from "./config.js";

export type DataReductionMode = "disabled" | "compression" | "compression_deduplication";

export interface PoolState {
  poolId: number;
  poolName: string;
  poolType: "HDP" | "HTI";
  /** Capacity in pages of config.pageSizeBytes. */
  totalPages: number;
  warningThreshold: number;
  depletionThreshold: number;
}

export interface LdevState {
  ldevId: number;
  poolId: number;
  blockCapacity: number;
  label: string;
  status: "NML" | "BLK";
  dataReductionMode: DataReductionMode;
  isFullAllocationEnabled: boolean;
  isAluaEnabled: boolean;
  /** 32 hex digits; the host sees WWID "3" + naaId. */
  naaId: string;
  /** Set on Thin Image S-VOLs: the pool of the pair's snapshot data. */
  snapshotPoolId?: number;
  qos?: Partial<Record<QosKey, number>>;
  /** Capacity saving: inline or post-process (only meaningful when dataReductionMode is not disabled). */
  dataReductionProcessMode?: "inline" | "post_process";
  /** A data-reduction shared volume (attribute DRS). */
  isDataReductionSharedVolumeEnabled?: boolean;
  /** Given at creation; GET answers 0 / an id-derived blade when absent. */
  clprId?: number;
  mpBladeId?: number;
}

/** The set-qos keys (one per call). */
export type QosKey =
  | "upperIops"
  | "upperTransferRate"
  | "lowerIops"
  | "lowerTransferRate"
  | "responsePriority"
  | "upperAlertAllowableTime"
  | "lowerAlertAllowableTime"
  | "responseAlertAllowableTime";

export type TiStatus = "COPY" | "PAIR" | "PSUS" | "PSUP" | "RCPY" | "PSUE" | "PFUL" | "PFUS" | "SMPP";

/** A change of status the array will make on its own at `at` (epoch ms), e.g. COPY → PAIR. */
export interface PendingTransition<S extends string> {
  to: S | "DELETED";
  at: number;
  /** Progress is reported as a linear ramp from `from` (epoch ms) to `at`. */
  from: number;
}

export interface TiPairState {
  pvolLdevId: number;
  muNumber: number;
  svolLdevId?: number;
  snapshotGroupName: string;
  snapshotPoolId: number;
  isConsistencyGroup: boolean;
  consistencyGroupId?: number;
  isClone: boolean;
  canCascade: boolean;
  clonesAutomation: boolean;
  copySpeed: "slower" | "medium" | "faster";
  status: TiStatus;
  /**
   * The next status the array moves the pair to on its own. From COPY, `to` also says what follows
   * the copy: PAIR (plain), PSUS (autoSplit: the image is taken then), PSUP (clonesAutomation).
   */
  pending?: PendingTransition<TiStatus>;
  /** When the point-in-time image was taken (`YYYY-MM-DDThh:mm:ss`, UTC). */
  splitTime?: string;
  /** Kept for old state files; GET computes it from the S-VOL file (see svolMtimeMs). */
  isWrittenInSvol: boolean;
  /** Whether a point-in-time image has been stored (at split) for this pair. */
  hasSnapshotData: boolean;
  createdTime: string;
  /** mtime (ms) of the S-VOL file right after the array last wrote the image into it. */
  svolMtimeMs?: number;
}

export interface SnapshotGroupState {
  snapshotGroupName: string;
  isConsistencyGroup: boolean;
  consistencyGroupId?: number;
}

export type SiStatus = "COPY" | "PAIR" | "PSUS" | "SSUS" | "PSUE" | "RCPY" | "COPY(RS)" | "COPY(RS-R)";

export interface SiCopyGroupState {
  copyGroupName: string;
  pvolDeviceGroupName: string;
  svolDeviceGroupName: string;
  isConsistencyGroup: boolean;
  consistencyGroupId?: number;
}

export interface SiPairState {
  copyGroupName: string;
  pvolDeviceGroupName: string;
  svolDeviceGroupName: string;
  copyPairName: string;
  pvolLdevId: number;
  svolLdevId: number;
  pvolMuNumber: number;
  copyPace: number;
  status: "COPY" | "PAIR" | "PSUS" | "PSUE" | "RCPY";
  /** What the GUI would show while copying: initial copy, resync or restore. */
  copyKind?: "initial" | "resync" | "restore";
  pending?: PendingTransition<"PAIR" | "PSUS">;
  /**
   * When `pending` fires, the P-VOL's data is first copied onto the S-VOL (end of an initial copy or
   * resync). Absent when the data was already placed (split during COPY, restore).
   */
  copyOnArrival?: boolean;
  consistencyGroupId?: number;
  createdTime: string;
}

export interface PortState extends PortSeed {
  portAttributes: string[];
  portSpeed: string;
  lunSecuritySetting: boolean;
  fabricMode: boolean;
  portConnection: string;
}

export interface HostGroupState {
  portId: string;
  hostGroupNumber: number;
  hostGroupName: string;
  hostMode: string;
  hostModeOptions: number[];
  /** iSCSI targets only: the target IQN. */
  iscsiName?: string;
  authenticationMode?: "NONE" | "CHAP" | "BOTH";
  /** iSCSI targets only: CHAP direction, S = one-way, D = mutual (absent = S). */
  iscsiTargetDirection?: "S" | "D";
  chapUsers?: { chapUserName: string; wayOfChapUser: "INI" | "TAR"; chapSecret?: string }[];
}

export interface HostWwnState {
  portId: string;
  hostGroupNumber: number;
  hostWwn: string;
  wwnNickname: string;
}

export interface HostIscsiState {
  portId: string;
  hostGroupNumber: number;
  iscsiName: string;
  iscsiNickname: string;
}

export interface LunState {
  portId: string;
  hostGroupNumber: number;
  lun: number;
  ldevId: number;
}

export interface ResourceLockState {
  sessionId: number;
  lockedAt: string;
}

export interface SimState {
  version: 1;
  pools: PoolState[];
  ldevs: Record<string, LdevState>;
  tiPairs: TiPairState[];
  snapshotGroups: SnapshotGroupState[];
  siCopyGroups: SiCopyGroupState[];
  siPairs: SiPairState[];
  ports: PortState[];
  hostGroups: HostGroupState[];
  hostWwns: HostWwnState[];
  hostIscsis: HostIscsiState[];
  luns: LunState[];
  /** Counter for NAA ids, so a re-created LDEV id gets a new identity, as on a real array. */
  naaSerial: number;
}

function seedPool(seed: PoolSeed, pageSizeBytes: number): PoolState {
  return {
    poolId: seed.poolId,
    poolName: seed.poolName,
    poolType: seed.poolType,
    totalPages: Math.floor(seed.capacityBytes / pageSizeBytes),
    warningThreshold: 70,
    depletionThreshold: 80,
  };
}

function seedPort(seed: PortSeed): PortState {
  return {
    ...seed,
    portAttributes: ["TAR", "MCU", "RCU", "ITAR"],
    portSpeed: seed.portType === "FIBRE" ? "32G" : "25G",
    lunSecuritySetting: true,
    fabricMode: true,
    portConnection: "PtoP",
  };
}

export function initialState(config: SimConfig): SimState {
  return {
    version: 1,
    pools: config.pools.map((p) => seedPool(p, config.pageSizeBytes)),
    ldevs: {},
    tiPairs: [],
    snapshotGroups: [],
    siCopyGroups: [],
    siPairs: [],
    ports: config.ports.map(seedPort),
    hostGroups: config.ports.map((p) => ({
      // Every real port has host group 0 ("<port>-G00"), which cannot be deleted.
      portId: p.portId,
      hostGroupNumber: 0,
      hostGroupName: `${p.portId}-G00`,
      hostMode: "LINUX/IRIX",
      hostModeOptions: [],
      ...(p.portType === "ISCSI" ? { iscsiName: iqnFor(config.storageDeviceId, p.portId, 0) } : {}),
    })),
    hostWwns: [],
    hostIscsis: [],
    luns: [],
    naaSerial: 0,
  };
}

/** The target IQN the array gives an iSCSI target created without an explicit iscsiName. */
export function iqnFor(storageDeviceId: string, portId: string, hostGroupNumber: number): string {
  const serial = storageDeviceId.slice(-6);
  return `iqn.1994-04.jp.co.hitachi:rsd.h8s.t.${serial}.${portId.replace("-", "").toLowerCase()}${hostGroupNumber.toString(16).padStart(3, "0")}`;
}

/**
 * Persists state as JSON with write-to-temp + rename, so a crash mid-write leaves the previous
 * state intact. Called once per completed job: the state file never shows half a job.
 */
/** Writes slower than this (ms) make a store write behind, at most once per WRITE_BEHIND_MS. */
const SLOW_WRITE_MS = 20;
const WRITE_BEHIND_MS = 250;

export class StateStore {
  readonly file: string;
  state: SimState;

  private constructor(
    file: string,
    state: SimState,
    private readonly slowWriteMs: number,
  ) {
    this.file = file;
    this.state = state;
  }

  /** `slowWriteMs`: a write slower than this makes the store write behind (see `save`). */
  static open(config: SimConfig, slowWriteMs = SLOW_WRITE_MS): StateStore {
    mkdirSync(config.dataDir, { recursive: true });
    const file = join(config.dataDir, "state.json");
    let state: SimState;
    try {
      state = JSON.parse(readFileSync(file, "utf8")) as SimState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      state = initialState(config);
    }
    const store = new StateStore(file, state, slowWriteMs);
    store.save();
    return store;
  }

  /**
   * Persists the state. A small state is written at once (write + rename), after every job, as
   * always. A big one — tens of megabytes at 10,000 LDEVs and as many pairs, where one write takes
   * longer than SLOW_WRITE_MS — is written behind: at most once per WRITE_BEHIND_MS, so that the
   * array's throughput does not fall as it fills up. `flush()` (called on close) writes what is
   * pending. sim: a simulator killed with SIGKILL loses up to the last interval of a big state.
   */
  save(): void {
    this.dirty = true;
    if (this.lastWriteMs < this.slowWriteMs) {
      this.flush();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.flush();
    }, WRITE_BEHIND_MS);
    this.timer.unref();
  }

  /** Writes the state now if anything is pending. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    const started = performance.now();
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state));
    renameSync(tmp, this.file);
    this.lastWriteMs = performance.now() - started;
  }

  private dirty = false;
  private lastWriteMs = 0;
  private timer: NodeJS.Timeout | undefined;
}
