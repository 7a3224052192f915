import { invalidOption } from '../errors/epara-error.js';
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
  const fromList = ListView.listOf(view);
  if (fromList !== undefined) return fromList;
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

/**
 * A view of `list` whose entries record is built only when first read: routing reads the array (see
 * {@link entriesOf}), so a view rebuilt often and routed on many times (the simulator's per-service slices,
 * after every ring pass) costs one small object instead of a record keyed by server id. Reading `entries`
 * gives exactly what `createView(list)` holds. The caller guarantees what `createView` would otherwise check:
 * valid entries with distinct server ids; `list` must not change afterwards. Ids that are integer-like or
 * `__proto__` (whose record order differs from the list's) fall back to an eager record.
 *
 * `slots`, when given, holds one number per entry: its server's slot in the `IndexedNetwork` routing will read
 * (see {@link slotsOf}); the view keeps it as it is (it must not change either).
 *
 * @throws EparaError `INVALID_OPTIONS` when `slots` is not as long as `list`.
 */
export function listView(list: readonly ServerEntry[], slots?: readonly number[]): ClusterView {
  if (slots !== undefined && slots.length !== list.length) invalidOption('slots', slots, `an array of ${list.length} slots (one per entry)`);
  for (let i = 0; i < list.length; i++) {
    const id = list[i]!.serverId;
    const c = id.charCodeAt(0);
    if ((c >= 48 && c <= 57) || id === '__proto__') return { entries: recordOf(list, false) };
  }
  return new ListView(list, slots);
}

/**
 * The slots a {@link listView} was built with (`slots[i]` for its `i`-th entry), `undefined` for any other view.
 * Routing reads a peer's network figures at that slot of an `IndexedNetwork` when the model's id there is the
 * entry's server, and by id otherwise, so a slot is only ever a shortcut.
 */
export function slotsOf(view: ClusterView): readonly number[] | undefined {
  return ListView.slotsOf(view);
}

/** True when `view` is a {@link listView} (its entries are valid by construction; reading them builds the record). */
export function isListView(view: ClusterView): boolean {
  return ListView.listOf(view) !== undefined;
}

function recordOf(list: readonly ServerEntry[], plain: boolean): Record<string, ServerEntry> {
  const out: Record<string, ServerEntry> = {};
  for (let i = 0; i < list.length; i++) out[list[i]!.serverId] = list[i]!;
  if (plain) rememberEntryList(out, list);
  return out;
}

/**
 * A {@link listView}: the list in a private field and `entries` an own enumerable accessor, as an object
 * literal's getter would be (keys, spread and JSON see only `entries`), but one shared accessor for every
 * view. A literal with a getter closure cost a new hidden class and some microseconds per view.
 */
class ListView implements ClusterView {
  readonly #list: readonly ServerEntry[];
  readonly #slots: readonly number[] | undefined;
  #record: Record<string, ServerEntry> | undefined;
  declare readonly entries: Readonly<Record<string, ServerEntry>>;
  static readonly #entries: PropertyDescriptor = {
    get(this: ListView): Readonly<Record<string, ServerEntry>> {
      return (this.#record ??= recordOf(this.#list, true));
    },
    enumerable: true,
    configurable: true,
  };

  constructor(list: readonly ServerEntry[], slots: readonly number[] | undefined) {
    this.#list = list;
    this.#slots = slots;
    Object.defineProperty(this, 'entries', ListView.#entries);
  }

  /** The list of a {@link ListView}, `undefined` for any other value. */
  static listOf(view: unknown): readonly ServerEntry[] | undefined {
    return typeof view === 'object' && view !== null && #list in view ? (view as ListView).#list : undefined;
  }

  /** The slots of a {@link ListView}, `undefined` for any other value or one built without. */
  static slotsOf(view: unknown): readonly number[] | undefined {
    return typeof view === 'object' && view !== null && #list in view ? (view as ListView).#slots : undefined;
  }
}
