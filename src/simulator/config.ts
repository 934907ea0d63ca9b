/**
 * Simulator configuration: what a freshly installed array looks like, and how fast it works.
 * Every default is chosen so `vsp-csi simulator` is useful with no flags at all.
 */

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;
export const BLOCK_SIZE = 512;

/** Timings of the array's background work, in milliseconds (0 = instant, for tests). */
export interface SimTimings {
  /** Thin Image pair create: COPY → PAIR. */
  tiPairCreateMs: number;
  /** Thin Image split (PAIR → PSUS) and the PSUP phase of a clone split. */
  tiSplitMs: number;
  /** Thin Image resync: COPY → PAIR. */
  tiResyncMs: number;
  /** Thin Image restore: RCPY → PAIR/PSUS. */
  tiRestoreMs: number;
  /** Clone copy throughput for `medium` copy speed, in MiB per second of allocated data (0 = instant). */
  cloneMiBPerSecond: number;
  /** Deletion of a cascade/clone pair: SMPP → gone. */
  pairDeleteMs: number;
  /** ShadowImage initial copy / resync / restore, per GiB of allocated data plus a fixed part. */
  siCopyMs: number;
}

export const INSTANT_TIMINGS: SimTimings = {
  tiPairCreateMs: 0,
  tiSplitMs: 0,
  tiResyncMs: 0,
  tiRestoreMs: 0,
  cloneMiBPerSecond: 0,
  pairDeleteMs: 0,
  siCopyMs: 0,
};

/** Order-of-magnitude timings of a real array, for demos and for exercising client waits. */
export const REALISTIC_TIMINGS: SimTimings = {
  tiPairCreateMs: 1_000,
  tiSplitMs: 500,
  tiResyncMs: 1_500,
  tiRestoreMs: 2_000,
  cloneMiBPerSecond: 200,
  pairDeleteMs: 1_000,
  siCopyMs: 3_000,
};

export interface PoolSeed {
  poolId: number;
  poolName: string;
  poolType: "HDP" | "HTI";
  capacityBytes: number;
}

export interface PortSeed {
  portId: string;
  portType: "FIBRE" | "ISCSI";
  /** FC: the target port WWN (16 hex digits). */
  wwn?: string;
  /** iSCSI: portal address and TCP port. */
  ipv4Address?: string;
  tcpPort?: number;
}

export interface SimConfig {
  /** 12 digits: 6-digit model prefix + zero-padded serial (886000 = VSP G/F370-900). */
  storageDeviceId: string;
  model: string;
  username: string;
  password: string;
  dataDir: string;
  /** HDP page size; 42 MiB on a real array, smaller values make tests of pool-full cheap. */
  pageSizeBytes: number;
  sessionLimit: number;
  /**
   * REST requests the REST server processes at once (session login and job-held changes
   * included; admin routes not); one more is answered 503 KART00003-E with Retry-After.
   */
  maxConcurrentRequests: number;
  /** Job records kept; the oldest are evicted first (3,000 on VSP E and G/F 350-900). */
  jobRetention: number;
  /** Highest LDEV id the array accepts (0..maxLdevId). */
  maxLdevId: number;
  timings: SimTimings;
  pools: PoolSeed[];
  ports: PortSeed[];
}

export const DEFAULT_USERNAME = "maintenance";
export const DEFAULT_PASSWORD = "raid-maintenance";
export const DEFAULT_STORAGE_DEVICE_ID = "886000123456";
/**
 * sim: Hitachi documents no number of requests a REST server processes at once. 32 is above the
 * 8-10 at once the known clients use (Cinder 8 workers, Ansible 10 threads, Terraform
 * DEFAULT_MAX_CONCURRENT_OPS 10, this driver 8), so one well-behaved client never meets it, while
 * a client that fires hundreds of requests in parallel does.
 */
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 32;

export function defaultConfig(dataDir: string): SimConfig {
  return {
    storageDeviceId: DEFAULT_STORAGE_DEVICE_ID,
    model: "VSP F900",
    username: DEFAULT_USERNAME,
    password: DEFAULT_PASSWORD,
    dataDir,
    pageSizeBytes: 42 * MIB,
    sessionLimit: 64,
    maxConcurrentRequests: DEFAULT_MAX_CONCURRENT_REQUESTS,
    jobRetention: 3_000,
    maxLdevId: 65_279,
    timings: { ...INSTANT_TIMINGS },
    pools: [
      { poolId: 0, poolName: "dp-pool-0", poolType: "HDP", capacityBytes: 4096 * GIB },
      { poolId: 1, poolName: "dp-pool-1", poolType: "HDP", capacityBytes: 1024 * GIB },
      { poolId: 2, poolName: "ti-pool-2", poolType: "HTI", capacityBytes: 1024 * GIB },
    ],
    ports: [
      { portId: "CL1-A", portType: "FIBRE", wwn: "50060e8012345600" },
      { portId: "CL2-A", portType: "FIBRE", wwn: "50060e8012345610" },
      { portId: "CL3-A", portType: "ISCSI", ipv4Address: "127.0.0.1", tcpPort: 3260 },
      { portId: "CL4-A", portType: "ISCSI", ipv4Address: "127.0.0.1", tcpPort: 3261 },
    ],
  };
}
