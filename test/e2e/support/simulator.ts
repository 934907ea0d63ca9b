/** The simulator's admin endpoints (/simulator/…), for stories that look at or fault the array. */
import { Agent } from "undici";
import { inject } from "vitest";

const SIM_USER = "maintenance:raid-maintenance";
// The simulator serves a self-signed certificate (--tls), as a lab array often does.
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

export async function simAdmin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${inject("e2e").simUrl}/simulator${path}`, {
    method,
    headers: {
      Authorization: `Basic ${Buffer.from(SIM_USER).toString("base64")}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    // @ts-expect-error undici's dispatcher option is not in lib.dom's RequestInit
    dispatcher: insecure,
  });
  if (!res.ok) throw new Error(`${method} /simulator${path} answered ${res.status}: ${await res.text()}`);
  const text = await res.text();
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

/** REST requests the simulator served from `since` on, and where to continue. */
export function requestsSince(since: number): Promise<{ next: number; data: LoggedRequest[] }> {
  return simAdmin("GET", `/requests?since=${since}`);
}
