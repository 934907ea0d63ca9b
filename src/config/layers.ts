/**
 * Merging configuration layers while remembering where every value came from, so a validation
 * error can name the file, variable or flag to fix.
 *
 * Merge rule: objects merge key by key; anything else (scalars, lists) replaces the lower layer's
 * value wholesale — a list of arrays from a higher layer is not spliced into the file's list.
 */

/** Where a value came from. */
export type Source =
  | { readonly kind: "default" }
  | { readonly kind: "hostname" }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "flag"; readonly name: string }
  | { readonly kind: "set" };

export type PathSegment = string | number;
export type Tree = Record<string, unknown>;

export function isTree(value: unknown): value is Tree {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `arrays[0].credentials.secretDir` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    out += typeof seg === "number" ? `[${String(seg)}]` : out === "" ? seg : `.${seg}`;
  }
  return out;
}

/**
 * Parse a `--set` key: `a.b`, `arrays[0].url` or `arrays.0.url`. Undefined if malformed.
 */
export function parseKeyPath(key: string): PathSegment[] | undefined {
  if (!/^[A-Za-z][A-Za-z0-9]*(?:\[[0-9]+\]|\.[A-Za-z0-9]+)*$/.test(key)) return undefined;
  const out: PathSegment[] = [];
  for (const m of key.matchAll(/([A-Za-z0-9]+)|\[([0-9]+)\]/g)) {
    const [, word, index] = m;
    if (index !== undefined) out.push(Number(index));
    else if (word !== undefined) out.push(/^[0-9]+$/.test(word) ? Number(word) : word);
  }
  return out;
}

/** Own-property assignment, so a "__proto__" key from a file is data, never a prototype change. */
function put(target: Tree | unknown[], key: PathSegment, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isTree(value)) {
    const out: Tree = {};
    for (const [k, v] of Object.entries(value)) put(out, k, clone(v));
    return out;
  }
  return value;
}

/** The merged value plus, per path, the source of the latest layer that wrote it. */
export class Layers {
  readonly value: Tree = {};
  private readonly sources = new Map<string, Source>();

  /** Merge a whole tree (a config file) from one source. */
  merge(tree: Tree, source: Source): void {
    this.mergeInto(this.value, tree, [], source);
  }

  private mergeInto(target: Tree, tree: Tree, path: PathSegment[], source: Source): void {
    for (const [key, value] of Object.entries(tree)) {
      const here = [...path, key];
      const current = Object.hasOwn(target, key) ? target[key] : undefined;
      if (isTree(value) && isTree(current)) {
        this.sources.set(formatPath(here), source);
        this.mergeInto(current, value, here, source);
      } else {
        put(target, key, clone(value));
        this.record(here, source);
      }
    }
  }

  /**
   * Set one value at `path` (an env variable, a flag, a `--set`), creating objects and lists on
   * the way. Returns an error message if the path cannot be set.
   */
  set(path: readonly PathSegment[], value: unknown, source: Source): string | undefined {
    let node: Tree | unknown[] = this.value;
    for (const [i, seg] of path.entries()) {
      const last = i === path.length - 1;
      if (Array.isArray(node) !== (typeof seg === "number")) {
        return `${formatPath(path.slice(0, i))} is ${Array.isArray(node) ? "a list" : "not a list"}`;
      }
      if (Array.isArray(node) && typeof seg === "number" && seg > node.length) {
        return `index ${String(seg)} skips elements (the list has ${String(node.length)})`;
      }
      if (last) {
        put(node, seg, value);
        break;
      }
      const next: unknown = (node as Record<PathSegment, unknown>)[seg];
      const wantList = typeof path[i + 1] === "number";
      if (wantList ? !Array.isArray(next) : !isTree(next)) {
        put(node, seg, wantList ? [] : {});
        this.record(path.slice(0, i + 1), source); // a container this source created is its own
      }
      node = (node as Record<PathSegment, unknown>)[seg] as Tree | unknown[];
    }
    this.record(path, source);
    return undefined;
  }

  private record(path: readonly PathSegment[], source: Source): void {
    const key = formatPath(path);
    for (const k of [...this.sources.keys()]) {
      if (k.startsWith(`${key}.`) || k.startsWith(`${key}[`)) this.sources.delete(k);
    }
    this.sources.set(key, source);
  }

  /** Source of the value at `path`: the longest recorded prefix; "default" if none. */
  sourceOf(path: readonly PathSegment[]): Source {
    for (let n = path.length; n > 0; n--) {
      const found = this.sources.get(formatPath(path.slice(0, n)));
      if (found !== undefined) return found;
    }
    return { kind: "default" };
  }
}
