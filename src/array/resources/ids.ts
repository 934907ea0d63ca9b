/**
 * Composite object ids (vsp-rest-api.md §0): `pvol,mu` for Thin Image pairs, `port,gid` for host
 * groups, `port,gid,lun` for LU paths. The array returns them as the last segment of
 * `affectedResources[0]`; these parse them, or fail as a server answer we cannot use.
 */
import { VspServerError } from "../errors.js";
import type { Job } from "../types.js";

export interface HostGroupRef {
  portId: string;
  hostGroupNumber: number;
}

export interface LunRef extends HostGroupRef {
  lun: number;
}

export interface SnapshotRef {
  pvolLdevId: number;
  muNumber: number;
}

function bad(job: Job | undefined, what: string, value: string): VspServerError {
  return new VspServerError(
    {
      method: job?.request?.requestMethod ?? "?",
      path: job?.request?.requestUrl ?? "?",
      ...(job ? { jobId: job.jobId } : {}),
    },
    `unexpected ${what} id "${value}" in the job's affectedResources`,
  );
}

function int(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export function parseInteger(value: string, what: string, job?: Job): number {
  const n = int(value);
  if (n === undefined) throw bad(job, what, value);
  return n;
}

export function parseHostGroupId(value: string, job?: Job): HostGroupRef {
  const [portId, gid, ...rest] = value.split(",");
  const hostGroupNumber = int(gid);
  if (!portId || hostGroupNumber === undefined || rest.length > 0) throw bad(job, "host group", value);
  return { portId, hostGroupNumber };
}

export function parseLunId(value: string, job?: Job): LunRef {
  const [portId, gid, lunText, ...rest] = value.split(",");
  const hostGroupNumber = int(gid);
  const lun = int(lunText);
  if (!portId || hostGroupNumber === undefined || lun === undefined || rest.length > 0)
    throw bad(job, "LU path", value);
  return { portId, hostGroupNumber, lun };
}

export function parseSnapshotId(value: string, job?: Job): SnapshotRef {
  const [pvol, mu, ...rest] = value.split(",");
  const pvolLdevId = int(pvol);
  const muNumber = int(mu);
  if (pvolLdevId === undefined || muNumber === undefined || rest.length > 0)
    throw bad(job, "snapshot", value);
  return { pvolLdevId, muNumber };
}

export function snapshotId(ref: SnapshotRef): string {
  return `${ref.pvolLdevId},${ref.muNumber}`;
}

export function hostGroupId(ref: HostGroupRef): string {
  return `${ref.portId},${ref.hostGroupNumber}`;
}
