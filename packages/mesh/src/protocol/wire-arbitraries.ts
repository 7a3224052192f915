import fc from 'fast-check';
import { EPARA_ERROR_CODES, EparaError, TENSOR_ELEMENT_BYTES, isEparaError } from '@epara/core';
import type { NamedTensors, NumericTensorType, TensorLike } from '@epara/core';
import type { WireMessage } from './messages.js';
import type { WireEntryStub, WireSyncToken, WireViewEntry } from './view-codec.js';

// Test support (fast-check arbitraries of every wire message); not part of the package's public API.

const TYPES = Object.keys(TENSOR_ELEMENT_BYTES) as NumericTensorType[];
const CTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
  float16: Uint16Array,
  int16: Int16Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
} as const;

const id = fc.string({ minLength: 0, maxLength: 12 });
const num = fc.double({ noNaN: true });
const count = fc.integer({ min: 0, max: 1e9 });

const dimsArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

const numericTensorArb: fc.Arbitrary<TensorLike> = fc.record({ type: fc.constantFrom(...TYPES), dims: dimsArb }).chain(({ type, dims }) => {
  const n = size(dims);
  return fc.uint8Array({ minLength: n * TENSOR_ELEMENT_BYTES[type], maxLength: n * TENSOR_ELEMENT_BYTES[type] }).map((bytes) => ({
    type,
    dims,
    data: new CTORS[type](bytes.buffer, 0, n),
  }));
});

/** A `string` tensor (well-formed strings: a lone surrogate would not come back as itself). */
const stringTensorArb: fc.Arbitrary<TensorLike> = dimsArb.chain((dims) =>
  fc.array(fc.string({ maxLength: 6 }), { minLength: size(dims), maxLength: size(dims) }).map((data) => ({ type: 'string' as const, dims, data })),
);

export const tensorArb: fc.Arbitrary<TensorLike> = fc.oneof({ arbitrary: numericTensorArb, weight: 12 }, { arbitrary: stringTensorArb, weight: 1 });

export const tensorsArb: fc.Arbitrary<NamedTensors> = fc.dictionary(id, tensorArb, { maxKeys: 4 });

const errorArb = fc
  .record({ code: fc.constantFrom(...EPARA_ERROR_CODES), message: fc.string({ maxLength: 40 }), n: fc.integer() })
  .map(({ code, message, n }) => new EparaError(code, message, { n, server: 'x' }));

const instanceArb = fc.record({
  instanceId: id,
  serviceId: id,
  status: fc.constantFrom('loading' as const, 'ready' as const, 'draining' as const),
  requestStrategy: fc.constantFrom('batching' as const, 'multi-frame' as const),
  serviceStrategy: fc.constantFrom('single' as const, 'data-parallel' as const, 'model-parallel' as const),
  batchSize: fc.integer({ min: 0, max: 4096 }),
  capacityPerSec: num,
  loadPerSec: num,
  waitMs: num,
  runMs: num,
});

const stubArb: fc.Arbitrary<WireEntryStub> = fc.record({ serverId: id, epoch: count, version: count, ageMs: num, alive: fc.boolean() });

export const entryArb: fc.Arbitrary<WireViewEntry> = fc
  .record({
    stub: stubArb,
    address: fc.option(id, { nil: undefined }),
    load: num,
    freeMemoryBytes: num,
    instances: fc.array(instanceArb, { maxLength: 3 }),
    arrivalRates: fc.dictionary(id, num, { maxKeys: 3 }),
  })
  .map(({ stub, address, ...rest }) => ({ ...stub, ...(address === undefined ? {} : { address }), ...rest }));

const tokenArb: fc.Arbitrary<WireSyncToken> = fc.record({
  origin: id,
  epoch: count,
  round: count,
  full: fc.boolean(),
  wantFull: fc.boolean(),
  entries: fc.array(entryArb, { maxLength: 3 }),
  stubs: fc.array(stubArb, { maxLength: 3 }),
});

const nonce = fc.uint8Array({ minLength: 0, maxLength: 32 });
const visited = fc.array(id, { maxLength: 5 });
const base = { requestId: fc.nat({ max: 0xffffffff }) };

/** Arbitrary valid messages of every type. */
export const messageArb: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), ...base, peerId: id, nonce }),
  fc.record({ type: fc.constant('auth-challenge' as const), ...base, peerId: id, nonce }),
  fc.record({ type: fc.constant('auth-response' as const), ...base, proof: nonce }),
  fc.record({ type: fc.constant('auth-ok' as const), ...base, proof: nonce }),
  fc.record({ type: fc.constant('incarnation' as const), ...base, epoch: count, instance: fc.maxSafeNat() }),
  fc.record({ type: fc.constant('limits' as const), ...base, maxFrameBytes: fc.integer({ min: 1, max: 2 ** 32 - 1 }) }),
  fc.record({
    type: fc.constant('submit' as const),
    ...base,
    serviceId: id,
    budgetMs: num,
    hops: fc.integer({ min: 0, max: 255 }),
    maxHops: fc.integer({ min: 0, max: 255 }),
    visited,
    priority: fc.integer({ min: -1000, max: 1000 }),
    inputs: tensorsArb,
  }),
  fc.record({ type: fc.constant('result' as const), ...base, outputs: tensorsArb }),
  fc.record({ type: fc.constant('error' as const), ...base, error: errorArb }),
  fc.record({ type: fc.constant('cancel' as const), ...base, reason: fc.string({ maxLength: 20 }) }),
  fc.record(
    { type: fc.constant('stream-open' as const), ...base, serviceId: id, rateHz: num, stalenessMs: fc.double({ min: 0, max: 1e6, noNaN: true }), hops: fc.integer({ min: 0, max: 255 }), visited },
    { requiredKeys: ['type', 'requestId', 'serviceId', 'rateHz', 'hops', 'visited'] },
  ),
  fc.record({ type: fc.constant('stream-accepted' as const), ...base, instanceId: id }),
  fc.record({ type: fc.constant('stream-frame' as const), ...base, seq: fc.nat({ max: 0xffffffff }), inputs: tensorsArb }),
  fc.record({ type: fc.constant('stream-result' as const), ...base, seq: fc.nat({ max: 0xffffffff }), ok: fc.constant(true as const), outputs: tensorsArb, latencyMs: num }),
  fc.record({ type: fc.constant('stream-result' as const), ...base, seq: fc.nat({ max: 0xffffffff }), ok: fc.constant(false as const), error: errorArb }),
  fc.record(
    { type: fc.constant('stream-close' as const), ...base, reason: fc.string({ maxLength: 20 }), summary: fc.record({ pushed: count, completed: count, dropped: count }) },
    { requiredKeys: ['type', 'requestId', 'reason'] },
  ),
  fc.record({ type: fc.constant('sync-token' as const), ...base, from: id, token: tokenArb }),
  fc.record({ type: fc.constant('sync-ack' as const), ...base, from: id, origin: id, epoch: count, round: count }),
  fc.record({ type: fc.constant('placement' as const), ...base, payload: fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown) }),
  fc.record({ type: fc.constant('ping' as const), ...base }),
  fc.record({ type: fc.constant('pong' as const), ...base }),
);

/** A comparable plain form: tensors as dtype/dims/byte arrays, errors as code/message/details, bytes as arrays. */
export function plain(value: unknown): unknown {
  if (isEparaError(value)) return { code: value.code, message: value.message, details: plain(value.details) };
  if (ArrayBuffer.isView(value)) return Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plain(v)]));
  }
  return Object.is(value, -0) ? 0 : value;
}
