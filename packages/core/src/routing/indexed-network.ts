import { invalidOption } from '../errors/epara-error.js';
import type { ServerId } from '../model/device.js';
import type { NetworkModel } from './route-options.js';

/** Input of {@link indexedNetwork}: one figure per server, in the order of `ids`. */
export interface IndexedNetworkInit {
  /** The servers, each once; a server's index in this list is its slot. */
  readonly ids: readonly ServerId[];
  /** One-way delay to each server, ms (`delayMs[i]` for `ids[i]`). */
  readonly delayMs: ArrayLike<number>;
  /** Bandwidth to each server, bytes/ms (`bandwidthBytesPerMs[i]` for `ids[i]`). */
  readonly bandwidthBytesPerMs: ArrayLike<number>;
}

/**
 * A {@link NetworkModel} that also holds its figures densely, by slot: `figures[2i]` and `figures[2i + 1]` are
 * `delayMs[ids[i]]` and `bandwidthBytesPerMs[ids[i]]` (side by side: routing reads both for a peer). Routing reads
 * a peer's figures by slot when the view gives the slot of each entry (a {@link listView} built with slots) —
 * loads from one typed array instead of two keyed lookups in records of a zone's size, which V8 keeps in
 * dictionary mode. The records are the same figures, so every other reader (and routing on a view without slots)
 * decides exactly as with a plain `NetworkModel`.
 */
class IndexedNetwork implements NetworkModel {
  readonly ids: readonly ServerId[];
  readonly figures: Float64Array;
  readonly delayMs: Readonly<Record<ServerId, number>>;
  readonly bandwidthBytesPerMs: Readonly<Record<ServerId, number>>;

  /** Figures already validated by {@link indexedNetwork}. */
  constructor(ids: readonly ServerId[], figures: Float64Array) {
    this.ids = ids;
    this.figures = figures;
    const delayMs: Record<ServerId, number> = {};
    const bandwidthBytesPerMs: Record<ServerId, number> = {};
    for (let i = 0; i < ids.length; i++) {
      delayMs[ids[i]!] = figures[2 * i]!;
      bandwidthBytesPerMs[ids[i]!] = figures[2 * i + 1]!;
    }
    this.delayMs = delayMs;
    this.bandwidthBytesPerMs = bandwidthBytesPerMs;
  }
}

/**
 * An {@link IndexedNetwork} over `init`'s servers. The figures are copied; so are the ids unless frozen (servers
 * sharing one frozen id list — a zone's members — share it in their models, and routing finds it in cache).
 *
 * @throws EparaError `INVALID_OPTIONS` for an id that is empty, repeated or `__proto__`, arrays of another length
 * than `ids`, a delay that is not a number ≥ 0 or a bandwidth that is not a number > 0 (`Infinity` allowed).
 * @example
 * ```ts
 * const network = indexedNetwork({ ids: ['a', 'b'], delayMs: [0, 2], bandwidthBytesPerMs: [Infinity, 125_000] });
 * routeRequestInto({ request, local, view: listView(entries, slots), self: 'a', now, network }, plan);
 * ```
 */
export function indexedNetwork(init: IndexedNetworkInit): IndexedNetwork {
  const { ids, delayMs, bandwidthBytesPerMs } = init;
  if (!Array.isArray(ids)) invalidOption('ids', ids, 'an array of server ids');
  const n = ids.length;
  if (delayMs?.length !== n) invalidOption('delayMs', delayMs, `an array of ${n} numbers (one per id)`);
  if (bandwidthBytesPerMs?.length !== n) invalidOption('bandwidthBytesPerMs', bandwidthBytesPerMs, `an array of ${n} numbers (one per id)`);
  const seen = new Set<ServerId>();
  const figures = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (typeof id !== 'string' || id === '' || id === '__proto__' || seen.has(id)) invalidOption(`ids[${i}]`, id, 'a distinct non-empty server id');
    seen.add(id);
    const d = delayMs[i];
    if (!(typeof d === 'number' && d >= 0)) invalidOption(`delayMs[${i}]`, d, 'a number >= 0');
    const bw = bandwidthBytesPerMs[i];
    if (!(typeof bw === 'number' && bw > 0)) invalidOption(`bandwidthBytesPerMs[${i}]`, bw, 'a number > 0');
    figures[2 * i] = d;
    figures[2 * i + 1] = bw;
  }
  return new IndexedNetwork(Object.isFrozen(ids) ? ids : ids.slice(), figures);
}

export type { IndexedNetwork };

/** `network` as an {@link IndexedNetwork}, `undefined` for any other model (a plain one reads its records). */
export function indexedOf(network: NetworkModel | undefined): IndexedNetwork | undefined {
  return network instanceof IndexedNetwork ? network : undefined;
}
