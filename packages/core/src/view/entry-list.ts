import type { ClusterView, ServerEntry } from './server-entry.js';

/** Views built by `createView` carry their entry array under this key (non-enumerable: invisible to for…in, keys, spread, JSON). */
const LIST = Symbol('epara.entryList');
/** Entry arrays of every other entries object. */
const entryLists = new WeakMap<object, readonly ServerEntry[]>();

/**
 * The view's entries as an array in `for…in` order, cached per entries object: views are immutable values (a
 * changed view is a new object, as `mergeView` and its friends return), and thousands of decisions read one
 * view.
 */
export function entriesOf(view: ClusterView): readonly ServerEntry[] {
  const entries = view.entries;
  const own = (entries as { readonly [LIST]?: readonly ServerEntry[] })[LIST];
  if (own !== undefined) return own;
  let list = entryLists.get(entries);
  if (list === undefined) {
    const built: ServerEntry[] = [];
    for (const id in entries) built.push(entries[id]!);
    entryLists.set(entries, built);
    list = built;
  }
  return list;
}

/**
 * Records `list` as the entry array of `entries`, an object the caller just built and owns, so
 * {@link entriesOf} skips the `for…in` walk and the cache lookup. The caller guarantees `list` is exactly what
 * that walk would return (each entry once, in insertion order, no integer-like keys).
 */
export function rememberEntryList(entries: object, list: readonly ServerEntry[]): void {
  Object.defineProperty(entries, LIST, { value: list });
}
