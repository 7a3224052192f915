import { EparaError, isEparaErrorCode } from '@epara/core';
import { sanitizeTraceContext, stacklessError } from '@epara/core/internal';
import type { TraceContext } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import type { ByteReader } from './byte-reader.js';
import { protocolError } from './byte-reader.js';
import type { ByteWriter } from './byte-writer.js';
import { SUBMIT_FLAG_TRACE, SYNC_FLAG_ITEMS, SYNC_FLAG_RUNS } from './messages.js';
import type { WireMessage, WireMessageType } from './messages.js';
import type { ResolvedProtocolLimits } from './protocol-limits.js';
import { readSyncToken, writeSyncToken } from './view-codec.js';

type L = ResolvedProtocolLimits;
type Of<T extends WireMessageType> = Extract<WireMessage, { type: T }>;
type Body<T extends WireMessageType> = Omit<Of<T>, 'type' | 'requestId' | 'flags'>;

/**
 * How one message type lays out its metadata. `write` returns the tensors that go to the body (if any);
 * `read` gets a reader over the metadata and, for tensor-carrying types, a reader of the body's tensor table.
 */
export interface MessageLayout<T extends WireMessageType> {
  readonly write: (w: ByteWriter, m: Of<T>, l: L) => NamedTensors | undefined;
  readonly read: (r: ByteReader, l: L, tensors: () => NamedTensors, flags: number) => Body<T>;
  /** Whether a body (tensor data) may follow the metadata. */
  readonly hasTensors: boolean;
}

const utf8 = new TextEncoder();
/** Cuts a free-text field to the limit instead of failing the whole message over a long explanation. */
function clip(text: string, maxBytes: number): string {
  if (utf8.encode(text).byteLength <= maxBytes) return text;
  let s = text.slice(0, maxBytes);
  while (utf8.encode(s).byteLength > maxBytes - 3) s = s.slice(0, -1);
  return `${s}…`;
}

function writeVisited(w: ByteWriter, visited: readonly string[], l: L): void {
  if (visited.length > l.maxVisited) throw new EparaError('INVALID_INPUT', `visited list of ${visited.length} exceeds ${l.maxVisited}`);
  w.u16(visited.length);
  for (const v of visited) w.str(v, l.maxIdBytes, 'visited server id');
}

const readVisited = (r: ByteReader, l: L): string[] =>
  Array.from({ length: r.count('visited', l.maxVisited) }, () => r.str('visited server id', l.maxIdBytes));

function writeError(w: ByteWriter, e: EparaError, l: L): void {
  w.str(isEparaErrorCode(e.code) ? e.code : 'INTERNAL', l.maxIdBytes, 'error code');
  w.str(clip(String(e.message), l.maxMessageBytes), l.maxMessageBytes, 'error message');
  let details = '{}';
  try {
    details = JSON.stringify(e.details ?? {}) ?? '{}';
  } catch {
    // Details that cannot be serialized (cycles, BigInt) are dropped; the code and message still go.
  }
  w.longStr(details.length > l.maxJsonBytes ? '{}' : details, l.maxJsonBytes, 'error details');
}

function readError(r: ByteReader, l: L): EparaError {
  const code = r.str('error code', l.maxIdBytes);
  const message = r.str('error message', l.maxMessageBytes);
  const details = parseJson(r.longStr('error details', l.maxJsonBytes), 'error details');
  if (typeof details !== 'object' || details === null || Array.isArray(details)) throw protocolError('error details must be a JSON object');
  // Without a stack: its frames would only show this decoder, and every dropped stream frame comes back as one.
  // A code this version does not know (a newer peer) is kept visible but mapped, as eparaErrorFromJSON does.
  if (!isEparaErrorCode(code)) return stacklessError('INTERNAL', message, { ...details, remoteCode: code });
  return stacklessError(code, message, details as Record<string, unknown>);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw protocolError(`${what} is not valid JSON`);
  }
}

/** Trace context of a submit: three strings, empty when absent (the frame flag says the section is there). */
function writeTrace(w: ByteWriter, t: TraceContext, l: L): void {
  w.str(t.traceparent ?? '', l.maxIdBytes, 'traceparent');
  w.str(t.tracestate ?? '', l.maxMessageBytes, 'tracestate');
  w.str(t.requestId ?? '', l.maxIdBytes, 'trace requestId');
}

/** A malformed value from a peer is dropped, not fatal: tracing never fails a request. */
function readTrace(r: ByteReader, l: L): TraceContext | undefined {
  const traceparent = r.str('traceparent', l.maxIdBytes);
  const tracestate = r.str('tracestate', l.maxMessageBytes);
  const requestId = r.str('trace requestId', l.maxIdBytes);
  return sanitizeTraceContext({ traceparent, tracestate, requestId });
}

const nothing = { write: () => undefined, read: () => ({}), hasTensors: false };

/** Metadata layouts of every message type of version 1 (the frame format table in docs/mesh-transports.md). */
export const MESSAGE_LAYOUTS: { readonly [T in WireMessageType]: MessageLayout<T> } = {
  hello: {
    write: (w, m, l) => void (w.str(m.peerId, l.maxIdBytes, 'peerId'), w.shortBytes(m.nonce, 'nonce')),
    read: (r, l) => ({ peerId: r.str('peerId', l.maxIdBytes), nonce: r.shortBytes('nonce', 256) }),
    hasTensors: false,
  },
  'auth-challenge': {
    write: (w, m, l) => void (w.str(m.peerId, l.maxIdBytes, 'peerId'), w.shortBytes(m.nonce, 'nonce')),
    read: (r, l) => ({ peerId: r.str('peerId', l.maxIdBytes), nonce: r.shortBytes('nonce', 256) }),
    hasTensors: false,
  },
  'auth-response': {
    write: (w, m) => void w.shortBytes(m.proof, 'proof'),
    read: (r) => ({ proof: r.shortBytes('proof', 256) }),
    hasTensors: false,
  },
  'auth-ok': {
    write: (w, m) => void w.shortBytes(m.proof, 'proof'),
    read: (r) => ({ proof: r.shortBytes('proof', 256) }),
    hasTensors: false,
  },
  submit: {
    write: (w, m, l) => {
      w.str(m.serviceId, l.maxIdBytes, 'serviceId');
      w.f64(m.budgetMs, 'budgetMs');
      w.u8(m.hops, 'hops');
      w.u8(m.maxHops, 'maxHops');
      writeVisited(w, m.visited, l);
      w.i32(m.priority, 'priority');
      if (m.trace !== undefined) writeTrace(w, m.trace, l);
      return m.inputs;
    },
    read: (r, l, tensors, flags) => {
      const fixed = {
        serviceId: r.str('serviceId', l.maxIdBytes),
        budgetMs: r.f64('budgetMs'),
        hops: r.u8('hops'),
        maxHops: r.u8('maxHops'),
        visited: readVisited(r, l),
        priority: r.i32('priority'),
      };
      const trace = (flags & SUBMIT_FLAG_TRACE) !== 0 ? readTrace(r, l) : undefined;
      return { ...fixed, inputs: tensors(), ...(trace ? { trace } : {}) };
    },
    hasTensors: true,
  },
  result: { write: (_w, m) => m.outputs, read: (_r, _l, tensors) => ({ outputs: tensors() }), hasTensors: true },
  error: { write: (w, m, l) => void writeError(w, m.error, l), read: (r, l) => ({ error: readError(r, l) }), hasTensors: false },
  cancel: {
    write: (w, m, l) => void w.str(clip(m.reason, l.maxMessageBytes), l.maxMessageBytes, 'reason'),
    read: (r, l) => ({ reason: r.str('reason', l.maxMessageBytes) }),
    hasTensors: false,
  },
  'stream-open': {
    write: (w, m, l) => {
      w.str(m.serviceId, l.maxIdBytes, 'serviceId');
      w.f64(m.rateHz, 'rateHz');
      w.f64(m.stalenessMs ?? -1, 'stalenessMs');
      w.u8(m.hops, 'hops');
      writeVisited(w, m.visited, l);
      return undefined;
    },
    read: (r, l) => {
      const serviceId = r.str('serviceId', l.maxIdBytes);
      const rateHz = r.f64('rateHz');
      const staleness = r.f64('stalenessMs');
      const rest = { hops: r.u8('hops'), visited: readVisited(r, l) };
      return { serviceId, rateHz, ...(staleness < 0 ? {} : { stalenessMs: staleness }), ...rest };
    },
    hasTensors: false,
  },
  'stream-accepted': {
    write: (w, m, l) => void w.str(m.instanceId, l.maxIdBytes, 'instanceId'),
    read: (r, l) => ({ instanceId: r.str('instanceId', l.maxIdBytes) }),
    hasTensors: false,
  },
  'stream-frame': {
    write: (w, m) => (w.u32(m.seq, 'seq'), m.inputs),
    read: (r, _l, tensors) => ({ seq: r.u32('seq'), inputs: tensors() }),
    hasTensors: true,
  },
  'stream-result': {
    write: (w, m, l) => {
      w.u32(m.seq, 'seq');
      w.bool(m.ok);
      if (!m.ok) return void writeError(w, m.error, l);
      w.f64(m.latencyMs, 'latencyMs');
      return m.outputs;
    },
    read: (r, l, tensors) => {
      const seq = r.u32('seq');
      if (!r.bool('ok')) return { seq, ok: false, error: readError(r, l) };
      return { seq, ok: true, latencyMs: r.f64('latencyMs'), outputs: tensors() };
    },
    hasTensors: true,
  },
  'stream-close': {
    write: (w, m, l) => {
      w.str(clip(m.reason, l.maxMessageBytes), l.maxMessageBytes, 'reason');
      w.bool(m.summary !== undefined);
      if (m.summary !== undefined) for (const v of [m.summary.pushed, m.summary.completed, m.summary.dropped]) w.f64(v, 'summary');
      return undefined;
    },
    read: (r, l) => {
      const reason = r.str('reason', l.maxMessageBytes);
      if (!r.bool('has summary')) return { reason };
      return { reason, summary: { pushed: r.f64('pushed'), completed: r.f64('completed'), dropped: r.f64('dropped') } };
    },
    hasTensors: false,
  },
  'sync-token': {
    write: (w, m, l) => void (w.str(m.from, l.maxIdBytes, 'from'), writeSyncToken(w, m.token, l, ((m.flags ?? 0) & SYNC_FLAG_RUNS) !== 0, ((m.flags ?? 0) & SYNC_FLAG_ITEMS) !== 0)),
    read: (r, l, _tensors, flags) => ({ from: r.str('from', l.maxIdBytes), token: readSyncToken(r, l, (flags & SYNC_FLAG_RUNS) !== 0, (flags & SYNC_FLAG_ITEMS) !== 0) }),
    hasTensors: false,
  },
  'sync-ack': {
    write: (w, m, l) => void (w.str(m.from, l.maxIdBytes, 'from'), w.str(m.origin, l.maxIdBytes, 'origin'), w.f64(m.epoch), w.f64(m.round)),
    read: (r, l) => ({ from: r.str('from', l.maxIdBytes), origin: r.str('origin', l.maxIdBytes), epoch: r.f64('epoch'), round: r.f64('round') }),
    hasTensors: false,
  },
  placement: {
    write: (w, m, l) => {
      const text = JSON.stringify(m.payload);
      if (text === undefined) throw new EparaError('INVALID_INPUT', 'placement payload is not JSON-serializable');
      w.longStr(text, l.maxJsonBytes, 'placement payload');
      return undefined;
    },
    read: (r, l) => ({ payload: parseJson(r.longStr('placement payload', l.maxJsonBytes), 'placement payload') }),
    hasTensors: false,
  },
  ping: nothing,
  pong: nothing,
  incarnation: {
    write: (w, m) => void (w.f64(m.epoch, 'incarnation epoch'), w.f64(m.instance, 'incarnation instance')),
    read: (r) => {
      const incarnation = { epoch: r.f64('incarnation epoch'), instance: r.f64('incarnation instance') };
      if (!Number.isSafeInteger(incarnation.instance) || incarnation.instance < 0) throw protocolError('incarnation instance must be a non-negative safe integer');
      return incarnation;
    },
    hasTensors: false,
  },
  limits: {
    write: (w, m) => void w.f64(m.maxFrameBytes, 'maxFrameBytes'),
    read: (r) => {
      const maxFrameBytes = r.f64('maxFrameBytes');
      if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) throw protocolError('limits maxFrameBytes must be a positive safe integer');
      return { maxFrameBytes };
    },
    hasTensors: false,
  },
};
