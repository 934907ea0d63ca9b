/**
 * Response shapes of the Configuration Manager REST API, as documented (vsp-rest-api.md §2–§9).
 * Fields a real array may omit are optional; the client never invents values for them.
 */

// ---- errors and jobs (§2, §3) ----

/** `errorCode`: SSB codes when the storage itself failed, or a RAID-Manager-style return code. */
export interface ErrorCodeObject {
  SSB1?: string;
  SSB2?: string;
  /** e.g. EX_EACCES, EX_ENOOBJ, EX_ENLDEV, EX_INVARG. */
  errorCode?: string;
}

export interface ErrorObject {
  errorSource?: string;
  messageId?: string;
  /** Older servers spell it messageID (D-HCS-ERR). */
  messageID?: string;
  message?: string;
  cause?: string;
  solution?: string;
  solutionType?: string;
  errorCode?: ErrorCodeObject;
  detailCode?: string;
}

export type JobStatus = "Initializing" | "Running" | "Completed";
export type JobState = "Queued" | "Started" | "StorageAccepted" | "Succeeded" | "Failed" | "Unknown";

export interface Job {
  jobId: number;
  self?: string;
  userId?: string;
  status: JobStatus;
  state: JobState;
  createdTime?: string;
  updatedTime?: string;
  completedTime?: string;
  request?: { requestUrl?: string; requestMethod?: string; requestBody?: string };
  affectedResources?: string[];
  error?: ErrorObject;
}

// ---- sessions and storage (§1) ----

export interface SessionInfo {
  sessionId: number;
  userId?: string;
  ipAddress?: string;
  createdTime?: string;
  lastAccessTime?: string;
  aliveTime?: number;
  authenticationTimeout?: number;
}

export interface StorageSystem {
  storageDeviceId: string;
  model?: string;
  serialNumber?: number;
  dkcMicroVersion?: string;
  ctl1Ip?: string;
  ctl2Ip?: string;
  svpIp?: string;
}

// ---- pools (§8) ----

export interface Pool {
  poolId: number;
  poolName?: string;
  poolType?: string;
  poolStatus?: string;
  usedCapacityRate?: number;
  usedPhysicalCapacityRate?: number;
  /** MiB. */
  availableVolumeCapacity?: number;
  /** MiB. */
  totalPoolCapacity?: number;
  /** MiB of DP-VOL capacity mapped to the pool (provisioned). */
  totalLocatedCapacity?: number;
  availablePhysicalVolumeCapacity?: number;
  totalPhysicalCapacity?: number;
  warningThreshold?: number;
  depletionThreshold?: number;
  virtualVolumeCapacityRate?: number;
  locatedVolumeCount?: number;
  snapshotCount?: number;
  snapshotUsedCapacity?: number;
  numOfLdevs?: number;
  firstLdevId?: number;
}

// ---- LDEVs (§4) ----

export interface LdevPort {
  portId: string;
  hostGroupNumber: number;
  hostGroupName?: string;
  lun: number;
}

export type DataReductionMode = "disabled" | "compression" | "compression_deduplication";

export interface Ldev {
  ldevId: number;
  /** `OPEN-V-CVS` for DP volumes; `NOT DEFINED` for a free id (the client answers undefined then). */
  emulationType: string;
  byteFormatCapacity?: string;
  blockCapacity?: number;
  numOfPorts?: number;
  ports?: LdevPort[];
  /** e.g. CVS, HDP, HTI (member of a Thin Image pair), DRS. */
  attributes?: string[];
  label?: string;
  status?: string;
  poolId?: number;
  numOfUsedBlock?: number;
  isFullAllocationEnabled?: boolean;
  resourceGroupId?: number;
  dataReductionStatus?: string;
  dataReductionMode?: string;
  dataReductionProgressRate?: number;
  isAluaEnabled?: boolean;
  naaId?: string;
  virtualLdevId?: number;
  /** Present on Thin Image S-VOLs. */
  snapshotPoolId?: number;
  parentLdevId?: number;
  clprId?: number;
  mpBladeId?: number;
  ssid?: string;
  upperIops?: number;
  upperTransferRate?: number;
  lowerIops?: number;
  lowerTransferRate?: number;
}

// ---- ports and host attachment (§7) ----

export interface Port {
  portId: string;
  portType?: string;
  portAttributes?: string[];
  portSpeed?: string;
  loopId?: string;
  fabricMode?: boolean;
  portConnection?: string;
  lunSecuritySetting?: boolean;
  wwn?: string;
  portMode?: string;
  ipv4Address?: string;
  tcpPort?: number;
}

export interface HostGroup {
  hostGroupId?: string;
  portId: string;
  hostGroupNumber: number;
  hostGroupName: string;
  hostMode?: string;
  hostModeOptions?: number[];
  iscsiName?: string;
}

export interface HostWwn {
  hostWwnId?: string;
  portId: string;
  hostGroupNumber: number;
  hostGroupName?: string;
  hostWwn: string;
  wwnNickname?: string;
}

export interface HostIscsi {
  hostIscsiId?: string;
  portId: string;
  hostGroupNumber: number;
  hostGroupName?: string;
  iscsiName: string;
  iscsiNickname?: string;
}

export interface Lun {
  lunId?: string;
  portId: string;
  hostGroupNumber: number;
  hostMode?: string;
  lun: number;
  ldevId: number;
  isCommandDevice?: boolean;
  luHostReserve?: Record<string, boolean>;
  hostModeOptions?: number[];
}

// ---- Thin Image (§5, §6) ----

export type TiStatus =
  "SMPL" | "SMPP" | "COPY" | "PAIR" | "PFUL" | "PSUS" | "PFUS" | "PSUE" | "RCPY" | "PSUP" | "CPYP" | "OTHER";

export interface Snapshot {
  snapshotGroupName: string;
  /** Role of the LDEV used in the query. */
  primaryOrSecondary?: "P-VOL" | "S-VOL";
  /** TiStatus values; kept a string so a new firmware value does not break parsing. */
  status: string;
  pvolLdevId: number;
  muNumber: number;
  svolLdevId?: number;
  snapshotPoolId?: number;
  snapshotId?: string;
  isConsistencyGroup?: boolean;
  consistencyGroupId?: number;
  isWrittenInSvol?: boolean;
  isClone?: boolean;
  canCascade?: boolean;
  isRedirectOnWrite?: boolean;
  snapshotDataReadOnly?: boolean;
  concordanceRate?: number;
  progressRate?: number;
  splitTime?: string;
  pvolProcessingStatus?: string;
  svolProcessingStatus?: string;
  retentionPeriod?: number;
}

export interface SnapshotGroupSummary {
  snapshotGroupName: string;
  snapshotGroupId: string;
}

export interface SnapshotGroup extends SnapshotGroupSummary {
  snapshots?: Snapshot[];
}

// ---- ShadowImage (§6) ----

export interface LocalCloneCopyPair {
  localCloneCopypairId: string;
  replicationType?: string;
  copyGroupName: string;
  copyPairName: string;
  pvolLdevId: number;
  svolLdevId: number;
  pvolStatus?: string;
  svolStatus?: string;
  pvolMuNumber?: number;
  copyProgressRate?: number;
  consistencyGroupId?: number;
  pvolDeviceGroupName?: string;
  svolDeviceGroupName?: string;
}

export interface LocalCloneCopyGroup {
  localCloneCopygroupId: string;
  copyGroupName: string;
  pvolDeviceGroupName: string;
  svolDeviceGroupName: string;
  isConsistencyGroup?: boolean;
  consistencyGroupId?: number;
  copyPairs?: LocalCloneCopyPair[];
}
