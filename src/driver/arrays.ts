/**
 * The arrays this controller manages: each configured array with its REST client. Volume IDs carry
 * the storage device id, so any ID leads back to its array; StorageClasses pick one by name.
 */
import type { VspArray } from "../array/client.js";
import type { ArrayConfig } from "../config/resolve.js";
import { InvalidArgumentError } from "./errors.js";

export interface ManagedArray {
  readonly config: ArrayConfig;
  readonly client: VspArray;
}

export class ArrayRegistry {
  private readonly byDevice = new Map<string, ManagedArray>();
  private readonly byName = new Map<string, ManagedArray>();

  constructor(
    arrays: readonly ManagedArray[],
    private readonly defaultName: string | undefined,
  ) {
    for (const a of arrays) {
      this.byDevice.set(a.config.storageDeviceId, a);
      this.byName.set(a.config.name, a);
    }
  }

  all(): ManagedArray[] {
    return [...this.byName.values()];
  }

  /** The array holding an object, by the storage device id in its CSI ID; undefined if not ours. */
  byStorageDeviceId(storageDeviceId: string): ManagedArray | undefined {
    return this.byDevice.get(storageDeviceId);
  }

  /** The array a StorageClass names (parameter `array`), or the default one. */
  forParameters(name: string | undefined): ManagedArray {
    const wanted = name ?? this.defaultName;
    const found = wanted === undefined ? this.all()[0] : this.byName.get(wanted);
    if (!found) {
      const known = [...this.byName.keys()].join(", ");
      throw new InvalidArgumentError(
        `parameter array: no array named "${wanted ?? ""}" is configured (known: ${known})`,
      );
    }
    return found;
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((a) => a.client.close()));
  }
}
