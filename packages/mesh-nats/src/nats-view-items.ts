import { EparaError } from '@epara/core';
import type { ItemSeparability, ServerId, ServiceItems } from '@epara/core';

/**
 * A server's published items (`ServerEntry.items`) as its KV key holds them: the run's epoch they belong to, so a
 * restarted server's entry never takes the items of its previous run.
 */
export interface NatsEntryItems {
  readonly serverId: ServerId;
  readonly epoch: number;
  readonly items: Readonly<Record<string, ServiceItems>>;
}

const SEPARABILITY: readonly ItemSeparability[] = ['separable', 'not-separable', 'unknown'];
/** Most services, and most tensors per service side, one value may name (the view codec's per-entry limit). */
const MAX_NAMES = 1024;
/** Longest service or tensor name (the view codec's id limit), bytes. */
const MAX_NAME_BYTES = 256;
/** Highest batch axis (the ring's wire keeps 255 for a shared input). */
const MAX_AXIS = 254;

/**
 * The KV key of a server's items: `itm.` and the same suffix as its view key (`srv.<suffix>`). A key of its own,
 * not a section of the entry's value, so that a reader of an older build — which watches `srv.>` and rejects an
 * entry with trailing bytes — still reads this server's entry.
 */
export function itemsKeyOf(viewKey: string): string {
  return `itm.${viewKey.slice('srv.'.length)}`;
}

/** Encodes a server's items for its `itm.` key (JSON: small, written only when they change). */
export function encodeEntryItems(value: NatsEntryItems): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/**
 * Decodes what {@link encodeEntryItems} wrote, checking every field (anyone who may write to the bucket may write
 * this key).
 *
 * @throws EparaError `PROTOCOL_ERROR` naming what is wrong.
 */
export function decodeEntryItems(bytes: Uint8Array): NatsEntryItems {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw bad(`is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(v)) throw bad('is not an object');
  const { serverId, epoch, items } = v;
  if (typeof serverId !== 'string' || serverId.length === 0) throw bad('has no serverId');
  if (typeof epoch !== 'number' || !Number.isFinite(epoch)) throw bad('has no finite epoch');
  if (!isRecord(items)) throw bad('has no items object');
  const services = Object.entries(items);
  if (services.length > MAX_NAMES) throw bad(`names ${services.length} services (at most ${MAX_NAMES})`);
  const out: Record<string, ServiceItems> = Object.create(null) as Record<string, ServiceItems>;
  for (const [service, x] of services) out[name(service, 'service')] = serviceItems(service, x);
  return { serverId, epoch, items: out };
}

function serviceItems(service: string, x: unknown): ServiceItems {
  if (!isRecord(x)) throw bad(`items of ${service} are not an object`);
  const separability = SEPARABILITY.find((s) => s === x['separability']);
  if (separability === undefined) throw bad(`separability of ${service} is ${JSON.stringify(x['separability'])}`);
  const axes = x['batchAxes'];
  if (axes === undefined) return { separability };
  if (!isRecord(axes)) throw bad(`batch axes of ${service} are not an object`);
  return { separability, batchAxes: { inputs: readAxes(service, axes['inputs']), outputs: readAxes(service, axes['outputs']) } };
}

function readAxes(service: string, v: unknown): Record<string, number | null> {
  if (!isRecord(v)) throw bad(`batch axes of ${service} are not an object per tensor`);
  const named = Object.entries(v);
  if (named.length > MAX_NAMES) throw bad(`batch axes of ${service} name ${named.length} tensors (at most ${MAX_NAMES})`);
  const out: Record<string, number | null> = Object.create(null) as Record<string, number | null>;
  for (const [tensor, axis] of named) {
    if (axis !== null && !(Number.isInteger(axis) && (axis as number) >= 0 && (axis as number) <= MAX_AXIS)) {
      throw bad(`batch axis of ${service}/${tensor} is ${JSON.stringify(axis)} (an integer 0..${MAX_AXIS} or null)`);
    }
    out[name(tensor, 'tensor')] = axis as number | null;
  }
  return out;
}

function name(s: string, what: string): string {
  if (s.length === 0 || Buffer.byteLength(s) > MAX_NAME_BYTES) throw bad(`${what} name of ${Buffer.byteLength(s)} bytes (1..${MAX_NAME_BYTES})`);
  return s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(why: string): EparaError {
  return new EparaError('PROTOCOL_ERROR', `a KV items value ${why}`);
}
