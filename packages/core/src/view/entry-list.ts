import type { ClusterView, ServerEntry } from './server-entry.js';

const entryLists = new WeakMap<object, readonly ServerEntry[]>();

/**
 * The view's entries as an array in `for…in` order, cached per entries object: views are immutable values (a
 * changed view is a new object, as `mergeView` and its friends return), and thousands of decisions read one
 * view.
 */
export function entriesOf(view: ClusterView): readonly ServerEntry[] {
  let list = entryLists.get(view.entries);
  if (list === undefined) {
    const built: ServerEntry[] = [];
    for (const id in view.entries) built.push(view.entries[id]!);
    entryLists.set(view.entries, built);
    list = built;
  }
  return list;
}

/**
 * Records `list` as the entry array of a freshly built entries object, so {@link entriesOf} skips the `for…in`
 * walk. The caller guarantees `list` is exactly what that walk would return (each entry once, in insertion
 * order, no integer-like keys).
 */
export function rememberEntryList(entries: object, list: readonly ServerEntry[]): void {
  entryLists.set(entries, list);
}
