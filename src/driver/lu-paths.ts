/**
 * LU paths from the node's host groups to a volume: created one port at a time with the same LUN
 * where the array allows it, and checked against the LDEV's own view of its paths (ports[] names
 * the group behind each path) whenever the publish reads the LDEV again.
 */
import { VspError, VspNotFoundError } from "../array/errors.js";
import type { HostGroupRef, LunRef } from "../array/resources/ids.js";
import type { Ldev, LdevPort } from "../array/types.js";
import { onArray } from "./array-errors.js";
import type { Volume } from "./volumes.js";

export interface CreatedPaths {
  /** Paths this publish created, group by group. */
  created: LunRef[];
  /** Groups the array said already map the LDEV (created since the first read): LUN to read back. */
  readBack: HostGroupRef[];
  /** Groups the array said are not there (deleted since they were found): none mapped. */
  gone: HostGroupRef[];
}

export const NOTHING_MADE: CreatedPaths = { created: [], readBack: [], gone: [] };

/** The volume's paths through the node's group (by name), as an LDEV read shows them. */
export function pathsThrough(ldev: Ldev, groupName: string): LunRef[] {
  return (ldev.ports ?? []).filter((p) => p.hostGroupName === groupName).map(lunRef);
}

/** One POST per group, each answer sorted into what it says about the group. */
export async function createPaths(
  volume: Volume,
  groups: HostGroupRef[],
  sameLun: number | undefined,
): Promise<CreatedPaths> {
  const { client } = volume.array;
  const ldevId = volume.ldev.ldevId;
  const result: CreatedPaths = { created: [], readBack: [], gone: [] };
  for (const group of groups) {
    const lun = sameLun ?? result.created[0]?.lun;
    const create = (withLun: number | undefined) =>
      onArray("creating an LU path", () =>
        client.luns.create({
          portId: group.portId,
          hostGroupNumber: group.hostGroupNumber,
          ldevId,
          ...(withLun === undefined ? {} : { lun: withLun }),
        }),
      );
    try {
      result.created.push(...(await create(lun)));
    } catch (err) {
      if (err instanceof VspNotFoundError) result.gone.push(group);
      else if (err instanceof VspError && err.is("ANOTHER_LDEV_AT_LUN")) {
        // That LUN is taken on this port: any LUN will do, the context lists LUNs per port.
        result.created.push(...(await create(undefined)));
      } else if (err instanceof VspError && err.is("LU_PATH_ALREADY_DEFINED")) {
        result.readBack.push(group);
      } else {
        throw err;
      }
    }
  }
  return result;
}

/**
 * Checks the paths of `made` against a read of the LDEV taken after them. A path this publish
 * created into a group that is not the node's (its number was given to another host's group
 * between finding it and mapping) is removed at once. Answers the node's paths, or undefined when
 * anything was not where it should be: the publish must be redone with every group found by name.
 */
export async function checkPaths(
  volume: Volume,
  ldev: Ldev,
  groupName: string,
  made: CreatedPaths,
): Promise<LunRef[] | undefined> {
  const paths = ldev.ports ?? [];
  const wrong: LunRef[] = [];
  const good: LunRef[] = [];
  let surprised = made.gone.length > 0;
  for (const ref of made.created) {
    const path = paths.find((p) => sameGroup(p, ref) && p.lun === ref.lun);
    if (path?.hostGroupName === groupName) good.push(ref);
    else if (path) wrong.push(ref);
    else surprised = true; // removed meanwhile
  }
  for (const group of made.readBack) {
    // Not ours to remove if it is another group's: we did not create it.
    const path = paths.find((p) => sameGroup(p, group) && p.hostGroupName === groupName);
    if (path) good.push(lunRef(path));
    else surprised = true;
  }
  for (const ref of wrong) {
    try {
      await onArray("removing an LU path to another host's group", () =>
        volume.array.client.luns.delete(ref),
      );
    } catch (err) {
      if (!(err instanceof VspNotFoundError)) throw err;
    }
  }
  return wrong.length > 0 || surprised ? undefined : good;
}

function sameGroup(p: LdevPort, g: HostGroupRef): boolean {
  return p.portId === g.portId && p.hostGroupNumber === g.hostGroupNumber;
}

function lunRef(p: LdevPort): LunRef {
  return { portId: p.portId, hostGroupNumber: p.hostGroupNumber, lun: p.lun };
}
