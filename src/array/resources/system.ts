/** The storage system, its pools (§8), jobs (§2) and the resource-group lock (§1). */
import type { Api } from "../api.js";
import type { Job, Pool, StorageSystem } from "../types.js";

export class Storage {
  constructor(private readonly api: Api) {}

  /** GET objects/storages/{storageDeviceId}: the same URL in both styles. */
  get(): Promise<StorageSystem> {
    return this.api.get<StorageSystem>(this.api.paths.storage());
  }
}

export interface PoolListQuery {
  poolType?: "DP" | "HTI" | "HDP" | "HDT" | "HRT" | "RT";
  detailInfoType?: string;
}

export class Pools {
  constructor(private readonly api: Api) {}

  list(query: PoolListQuery = {}): Promise<Pool[]> {
    return this.api.list<Pool>(this.api.paths.objects("pools"), { ...query });
  }

  /** Unknown pool → VspNotFoundError (KART30013-E, §8). */
  get(poolId: number): Promise<Pool> {
    return this.api.get<Pool>(this.api.paths.objects("pools", poolId));
  }
}

export class Jobs {
  constructor(private readonly api: Api) {}

  get(jobId: number): Promise<Job> {
    return this.api.get<Job>(this.api.paths.objects("jobs", jobId));
  }
}

/**
 * Resource-group lock (§1). The lock belongs to the client's session: a re-login after 401 (array
 * restart, expiry) silently loses it, as on the array itself.
 */
export class ResourceGroupLock {
  constructor(private readonly api: Api) {}

  /** Waits up to `waitTimeSeconds` (0–7200) on the array for the lock; lock held by another → VspLockedError. */
  async lock(waitTimeSeconds = 0): Promise<void> {
    await this.api.invoke(this.api.paths.services("resource-group-service", "actions", "lock"), {
      waitTime: waitTimeSeconds,
    });
  }

  async unlock(): Promise<void> {
    await this.api.invoke(this.api.paths.services("resource-group-service", "actions", "unlock"));
  }
}
