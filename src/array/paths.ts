/**
 * URL layout (vsp-rest-api.md §0). Two styles:
 *   storage-scoped: /ConfigurationManager/v1/objects/storages/{sid}/<type>, services at
 *                   /ConfigurationManager/v1/{sid}/services/<service>/... (no objects/storages)
 *   short:          /ConfigurationManager/v1/objects/<type>, /ConfigurationManager/v1/services/...
 */
import type { UrlStyle } from "./options.js";

export const API_ROOT = "/ConfigurationManager/v1";

export type QueryValue = string | number | boolean | undefined;
export type Query = Record<string, QueryValue>;

/**
 * Encodes one path segment. Commas in composite ids (`100,3`, `CL1-A,5`) and colons in IQNs stay
 * raw: every known client sends them raw and arrays accept that (§0), while `%2C` is only
 * "should" in the docs.
 */
export function encodeSegment(segment: string | number): string {
  return encodeURIComponent(String(segment)).replace(/%2C/gi, ",").replace(/%3A/gi, ":");
}

export function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.append(k, String(v));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export class Paths {
  private readonly objectsRoot: string;
  private readonly servicesRoot: string;

  constructor(
    readonly style: UrlStyle,
    readonly storageDeviceId: string,
  ) {
    const sid = encodeSegment(storageDeviceId);
    this.objectsRoot =
      style === "storage-scoped" ? `${API_ROOT}/objects/storages/${sid}` : `${API_ROOT}/objects`;
    this.servicesRoot = style === "storage-scoped" ? `${API_ROOT}/${sid}/services` : `${API_ROOT}/services`;
  }

  objects(...segments: (string | number)[]): string {
    return [this.objectsRoot, ...segments.map(encodeSegment)].join("/");
  }

  services(...segments: (string | number)[]): string {
    return [this.servicesRoot, ...segments.map(encodeSegment)].join("/");
  }

  /** The storage system object: the same URL in both styles (`objects/storages/{sid}`). */
  storage(): string {
    return `${API_ROOT}/objects/storages/${encodeSegment(this.storageDeviceId)}`;
  }
}

/** Last path segment of a resource URL, percent-decoded (`.../snapshots/100,3` → `100,3`). */
export function lastSegment(url: string): string {
  const path = url.split("?")[0] ?? url;
  const trimmed = path.replace(/\/+$/, "");
  return decodeURIComponent(trimmed.slice(trimmed.lastIndexOf("/") + 1));
}
