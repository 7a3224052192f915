import type { InstanceInfo, InstanceStatus, ItemSeparability, RequestStrategy, ServiceItems, ServiceStrategy } from '@epara/core';
import { ByteReader, protocolError } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { resolveProtocolLimits } from './protocol-limits.js';
import type { ProtocolLimits, ResolvedProtocolLimits } from './protocol-limits.js';

/**
 * The run of a server that wrote an entry: the epoch that run announced at start and its random instance
 * number (the `incarnation` a process announces on its links).
 */
export interface EntryRun {
  readonly epoch: number;
  readonly instance: number;
}

/**
 * A server entry as it travels on the ring: an age instead of an absolute time, so clocks never need to
 * agree (the receiver sets `updatedAt = its now − ageMs`). `run` says which run of the server wrote it, when
 * known: a run that sees its own id written by a newer run does not outbid it.
 */
export interface WireViewEntry {
  readonly serverId: string;
  readonly epoch: number;
  readonly version: number;
  readonly ageMs: number;
  readonly alive: boolean;
  readonly address?: string;
  readonly load: number;
  readonly freeMemoryBytes: number;
  readonly instances: readonly InstanceInfo[];
  readonly arrivalRates: Readonly<Record<string, number>>;
  readonly run?: EntryRun;
  /** How each ready service's items may be split (`ServerEntry.items`), for a reader that asked for them. */
  readonly items?: Readonly<Record<string, ServiceItems>>;
}

/** A heartbeat for an unchanged entry: identity, version and age only. */
export interface WireEntryStub {
  readonly serverId: string;
  readonly epoch: number;
  readonly version: number;
  readonly ageMs: number;
  readonly alive: boolean;
}

/** The ring-sync token: full entries for recent changes (deltas), stubs for the rest. */
export interface WireSyncToken {
  readonly origin: string;
  readonly epoch: number;
  readonly round: number;
  readonly full: boolean;
  readonly wantFull: boolean;
  readonly entries: readonly WireViewEntry[];
  readonly stubs: readonly WireEntryStub[];
}

const STATUS: readonly InstanceStatus[] = ['loading', 'ready', 'draining'];
const REQUEST: readonly RequestStrategy[] = ['batching', 'multi-frame'];
const SERVICE: readonly ServiceStrategy[] = ['single', 'data-parallel', 'model-parallel'];
const SEPARABILITY: readonly ItemSeparability[] = ['unknown', 'separable', 'not-separable'];
/** An axis of 255 on the wire: an input every item shares (`null`). */
const SHARED_AXIS = 255;

function code<T>(table: readonly T[], value: T, field: string): number {
  const i = table.indexOf(value);
  if (i < 0) throw protocolError(`cannot encode ${field} \`${String(value)}\``, { field });
  return i;
}

function pick<T>(table: readonly T[], i: number, field: string): T {
  const v = table[i];
  if (v === undefined) throw protocolError(`unknown ${field} code ${i}`, { field });
  return v;
}

function writeInstance(w: ByteWriter, x: InstanceInfo, l: ResolvedProtocolLimits): void {
  w.str(x.instanceId, l.maxIdBytes, 'instanceId');
  w.str(x.serviceId, l.maxIdBytes, 'serviceId');
  w.u8(code(STATUS, x.status, 'status'));
  w.u8(code(REQUEST, x.requestStrategy, 'requestStrategy'));
  w.u8(code(SERVICE, x.serviceStrategy, 'serviceStrategy'));
  w.u32(x.batchSize);
  for (const v of [x.capacityPerSec, x.loadPerSec, x.waitMs, x.runMs]) w.f64(v);
}

function readInstance(r: ByteReader, l: ResolvedProtocolLimits): InstanceInfo {
  return {
    instanceId: r.str('instanceId', l.maxIdBytes),
    serviceId: r.str('serviceId', l.maxIdBytes),
    status: pick(STATUS, r.u8('status'), 'status'),
    requestStrategy: pick(REQUEST, r.u8('requestStrategy'), 'requestStrategy'),
    serviceStrategy: pick(SERVICE, r.u8('serviceStrategy'), 'serviceStrategy'),
    batchSize: r.u32('batchSize'),
    capacityPerSec: r.f64('capacityPerSec'),
    loadPerSec: r.f64('loadPerSec'),
    waitMs: r.f64('waitMs'),
    runMs: r.f64('runMs'),
  };
}

function writeStub(w: ByteWriter, s: WireEntryStub, l: ResolvedProtocolLimits): void {
  w.str(s.serverId, l.maxIdBytes, 'serverId');
  w.f64(s.epoch);
  w.f64(s.version);
  w.f64(s.ageMs);
  w.bool(s.alive);
}

function readStub(r: ByteReader, l: ResolvedProtocolLimits): WireEntryStub {
  return { serverId: r.str('serverId', l.maxIdBytes), epoch: r.f64('epoch'), version: r.f64('version'), ageMs: r.f64('ageMs'), alive: r.bool('alive') };
}

function writeEntry(w: ByteWriter, e: WireViewEntry, l: ResolvedProtocolLimits): void {
  writeStub(w, e, l);
  w.bool(e.address !== undefined);
  if (e.address !== undefined) w.str(e.address, l.maxIdBytes, 'address');
  w.f64(e.load);
  w.f64(e.freeMemoryBytes);
  if (e.instances.length > l.maxPerEntry) throw protocolError(`too many instances in entry ${e.serverId}`);
  w.u16(e.instances.length);
  for (const x of e.instances) writeInstance(w, x, l);
  const rates = Object.entries(e.arrivalRates);
  if (rates.length > l.maxPerEntry) throw protocolError(`too many arrival rates in entry ${e.serverId}`);
  w.u16(rates.length);
  for (const [service, rate] of rates) {
    w.str(service, l.maxIdBytes, 'serviceId');
    w.f64(rate);
  }
}

function readEntry(r: ByteReader, l: ResolvedProtocolLimits): WireViewEntry {
  const stub = readStub(r, l);
  const address = r.bool('has address') ? r.str('address', l.maxIdBytes) : undefined;
  const load = r.f64('load');
  const freeMemoryBytes = r.f64('freeMemoryBytes');
  const instances = Array.from({ length: r.count('instances', l.maxPerEntry) }, () => readInstance(r, l));
  const rates: [string, number][] = [];
  const n = r.count('arrival rates', l.maxPerEntry);
  for (let i = 0; i < n; i++) rates.push([r.str('serviceId', l.maxIdBytes), r.f64('arrival rate')]);
  return { ...stub, ...(address === undefined ? {} : { address }), load, freeMemoryBytes, instances, arrivalRates: Object.fromEntries(rates) };
}

/**
 * Writes a sync token into `w` (used by the `sync-token` message). With `withRuns` a section after the stubs
 * gives each entry's run (a flag byte, then epoch and instance): only for a reader that asked for it, since an
 * older one rejects the trailing bytes.
 */
export function writeSyncToken(w: ByteWriter, t: WireSyncToken, l: ResolvedProtocolLimits, withRuns = false, withItems = false): void {
  w.str(t.origin, l.maxIdBytes, 'origin');
  w.f64(t.epoch);
  w.f64(t.round);
  w.u8((t.full ? 1 : 0) | (t.wantFull ? 2 : 0));
  writeEntries(w, t.entries, l);
  if (t.stubs.length > l.maxEntries) throw protocolError(`${t.stubs.length} stubs exceed the limit of ${l.maxEntries}`);
  w.u16(t.stubs.length);
  for (const s of t.stubs) writeStub(w, s, l);
  if (withRuns) {
    for (const e of t.entries) {
      w.bool(e.run !== undefined);
      if (e.run !== undefined) (w.f64(e.run.epoch, 'run epoch'), w.f64(e.run.instance, 'run instance'));
    }
  }
  if (withItems) for (const e of t.entries) writeItems(w, e.items, l);
}

/** Reads a sync token written by {@link writeSyncToken} (with its run section when `withRuns`, items when `withItems`). */
export function readSyncToken(r: ByteReader, l: ResolvedProtocolLimits, withRuns = false, withItems = false): WireSyncToken {
  const origin = r.str('origin', l.maxIdBytes);
  const epoch = r.f64('epoch');
  const round = r.f64('round');
  const bits = r.u8('token flags');
  if (bits > 3) throw protocolError(`unknown token flags ${bits}`);
  const entries = readEntries(r, l);
  const stubs = Array.from({ length: r.count('stubs', l.maxEntries) }, () => readStub(r, l));
  const withRun = withRuns ? entries.map((e) => (r.bool('has run') ? { ...e, run: readRun(r) } : e)) : entries;
  const withItem = withItems ? withRun.map((e) => ((items) => (items ? { ...e, items } : e))(readItems(r, l))) : withRun;
  return { origin, epoch, round, full: (bits & 1) === 1, wantFull: (bits & 2) === 2, entries: withItem, stubs };
}

/** An entry's items: a flag, then per service its id, separability and, when known, the batch axes. */
function writeItems(w: ByteWriter, items: WireViewEntry['items'], l: ResolvedProtocolLimits): void {
  w.bool(items !== undefined);
  if (items === undefined) return;
  const services = Object.entries(items);
  if (services.length > l.maxPerEntry) throw protocolError(`too many services' items (${services.length})`);
  w.u16(services.length);
  for (const [service, x] of services) {
    w.str(service, l.maxIdBytes, 'serviceId');
    w.u8(code(SEPARABILITY, x.separability, 'separability'));
    w.bool(x.batchAxes !== undefined);
    if (x.batchAxes !== undefined) for (const axes of [x.batchAxes.inputs, x.batchAxes.outputs]) writeAxes(w, axes, l);
  }
}

function writeAxes(w: ByteWriter, axes: Readonly<Record<string, number | null>>, l: ResolvedProtocolLimits): void {
  const named = Object.entries(axes);
  if (named.length > l.maxPerEntry) throw protocolError(`too many batch axes (${named.length})`);
  w.u16(named.length);
  for (const [name, axis] of named) {
    w.str(name, l.maxIdBytes, 'tensor name');
    w.u8(axis ?? SHARED_AXIS, 'batch axis');
  }
}

function readItems(r: ByteReader, l: ResolvedProtocolLimits): Record<string, ServiceItems> | undefined {
  if (!r.bool('has items')) return undefined;
  const items: Record<string, ServiceItems> = Object.create(null) as Record<string, ServiceItems>;
  const n = r.count('services with items', l.maxPerEntry);
  for (let i = 0; i < n; i++) {
    const service = r.str('serviceId', l.maxIdBytes);
    const separability = pick(SEPARABILITY, r.u8('separability'), 'separability');
    items[service] = r.bool('has batch axes') ? { separability, batchAxes: { inputs: readAxes(r, l), outputs: readAxes(r, l) } } : { separability };
  }
  return items;
}

function readAxes(r: ByteReader, l: ResolvedProtocolLimits): Record<string, number | null> {
  const axes: Record<string, number | null> = Object.create(null) as Record<string, number | null>;
  const n = r.count('batch axes', l.maxPerEntry);
  for (let i = 0; i < n; i++) {
    const name = r.str('tensor name', l.maxIdBytes);
    const axis = r.u8('batch axis');
    axes[name] = axis === SHARED_AXIS ? null : axis;
  }
  return axes;
}

function readRun(r: ByteReader): EntryRun {
  const run = { epoch: r.f64('run epoch'), instance: r.f64('run instance') };
  if (!Number.isSafeInteger(run.instance) || run.instance < 0) throw protocolError('run instance must be a non-negative safe integer');
  return run;
}

function writeEntries(w: ByteWriter, entries: readonly WireViewEntry[], l: ResolvedProtocolLimits): void {
  if (entries.length > l.maxEntries) throw protocolError(`${entries.length} entries exceed the limit of ${l.maxEntries}`);
  w.u16(entries.length);
  for (const e of entries) writeEntry(w, e, l);
}

function readEntries(r: ByteReader, l: ResolvedProtocolLimits): WireViewEntry[] {
  return Array.from({ length: r.count('entries', l.maxEntries) }, () => readEntry(r, l));
}

/**
 * Encodes a list of view entries compactly (about 54 bytes + address + 50 per instance per server), for hosts that
 * carry view deltas in their own messages.
 *
 * @throws EparaError `PROTOCOL_ERROR` for a value the format cannot carry (unknown status, too many items),
 * `INVALID_INPUT` for an oversized string.
 */
export function encodeViewEntries(entries: readonly WireViewEntry[], limits?: ProtocolLimits): Uint8Array {
  const w = new ByteWriter(64 + entries.length * 128);
  writeEntries(w, entries, resolveProtocolLimits(limits));
  return w.bytes().slice();
}

/**
 * Decodes what {@link encodeViewEntries} produced.
 *
 * @throws EparaError `PROTOCOL_ERROR` for malformed input.
 */
export function decodeViewEntries(bytes: Uint8Array, limits?: ProtocolLimits): WireViewEntry[] {
  const r = new ByteReader(bytes);
  const entries = readEntries(r, resolveProtocolLimits(limits));
  r.end('view entries');
  return entries;
}
