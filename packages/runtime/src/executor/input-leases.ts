import { EparaError, TENSOR_ELEMENT_BYTES, type NumericTensorType } from '@epara/core';
import type { Lease } from '../batching/input-lease.js';
import type { KnownOutput } from '../devices/slab-outputs.js';
import { planSlabOutputs, VIEW_CTOR } from '../devices/slab-outputs.js';
import type { InputSpec, IoSpec } from './io-spec.js';
import { LeaseRing, type InputLeaseStats } from './lease-ring.js';

/** What an instance's leases are sized by, read when a ring is made. */
export interface InputLeaseContext {
  readonly serviceId: string;
  /** What a request is checked against. */
  readonly io: IoSpec;
  /** The largest batch of the instance (slots per slab). */
  readonly maxBatchSize: number;
  /** Its usual batch (the plan's): leases per slab before the next opens. */
  readonly batchSize: number;
  readonly knownOutputs: readonly KnownOutput[] | undefined;
  /** The smallest input slab of the instance's devices, bytes (0: slabs off, every lease has its own buffer). */
  readonly slabBytes: number;
  /** Slabs one ring may hold at once, at least. */
  readonly maxSlabs: number;
  /** Bytes one ring's slabs may take at once (more, smaller slabs when they fit). */
  readonly maxBytes: number;
}

/** The lease rings of one instance: one per input and item shape. */
export class InputLeases {
  readonly #rings = new Map<string, LeaseRing[]>();
  /** What replaced rings had done when they were replaced, by input (kept in the totals; not the rings). */
  readonly #retired = new Map<string, InputLeaseStats[]>();

  /**
   * A lease for input `name` of one item of `dims`.
   * @throws EparaError `INVALID_INPUT` for an input the model does not take, or dims it does not take for one
   * item, or a model with a `string` input (its batches are concatenated as arrays, never laid in a slab).
   */
  allocate(context: () => InputLeaseContext, sizes: Readonly<{ batchSize: number; maxBatchSize: number }>, name: string, dims: readonly number[]): Lease {
    let rings = this.#rings.get(name);
    if (rings === undefined) this.#rings.set(name, (rings = []));
    let at = -1;
    for (let i = 0; i < rings.length && at < 0; i++) if (rings[i]!.fits(dims)) at = i;
    const found = at < 0 ? undefined : rings[at]!;
    if (found !== undefined && found.sizedFor(sizes.batchSize, sizes.maxBatchSize)) return found.allocate();
    const c = context();
    const spec = specOf(c, name);
    const strings = [...c.io.inputs, ...c.io.stateInputs].find((s) => s.type === 'string');
    if (strings !== undefined) {
      throw new EparaError('INVALID_INPUT', `${c.serviceId}: no lease for input '${name}': input '${strings.name}' is a string tensor, whose batches are never laid in a slab`, {
        serviceId: c.serviceId,
        input: name,
      });
    }
    checkDims(c.serviceId, spec, dims);
    // A ring laid out for other batch sizes keeps serving the leases it gave; new ones come from a new ring.
    const ring = new LeaseRing(ringOptions(c, spec, Object.freeze([...dims])));
    if (found !== undefined) {
      const done = this.#retired.get(name) ?? [];
      done.push({ ...found.stats(), slabs: 0 });
      this.#retired.set(name, done);
    }
    if (at < 0) rings.push(ring);
    else rings[at] = ring;
    return ring.allocate();
  }

  /** The leases' counters, per input (summed over its item shapes). */
  stats(): Record<string, InputLeaseStats> {
    const out: Record<string, InputLeaseStats> = {};
    for (const [name, rings] of this.#rings) out[name] = sumStats([...rings.map((r) => r.stats()), ...(this.#retired.get(name) ?? [])]);
    return out;
  }
}

function specOf(c: InputLeaseContext, name: string): InputSpec {
  for (const s of c.io.inputs) if (s.name === name) return s;
  for (const s of c.io.stateInputs) if (s.name === name) return s;
  const known = [...c.io.inputs, ...c.io.stateInputs].map((s) => s.name).join(', ');
  throw new EparaError('INVALID_INPUT', `${c.serviceId}: no input '${name}' (inputs: ${known})`, { serviceId: c.serviceId, input: name });
}

function checkDims(serviceId: string, s: InputSpec, dims: readonly number[]): void {
  const bad = (why: string): never => {
    throw new EparaError('INVALID_INPUT', `${serviceId}: a lease for input '${s.name}' ${why}`, { serviceId, input: s.name, dims: Array.isArray(dims) ? [...dims] : String(dims) });
  };
  if (!Array.isArray(dims)) bad('needs dims as an array of positive integers');
  if (dims.length !== s.dims.length) bad(`has rank ${dims.length}, expected ${s.dims.length}`);
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    if (!Number.isInteger(d) || d < 1) bad(`has dim ${i} = ${d}, expected a positive integer`);
    const want = s.dims[i];
    if (want !== null && want !== undefined && want !== d) bad(`has dim ${i} = ${d}, expected ${want}${i === s.batchAxis ? ' (one item per request)' : ''}`);
  }
}

function ringOptions(c: InputLeaseContext, spec: InputSpec, itemDims: readonly number[]): ConstructorParameters<typeof LeaseRing>[0] {
  const axis = spec.batchAxis;
  // Consecutive slots stack along the batch axis only when nothing but size-1 dims come before it.
  let inPlace = axis !== null && itemDims[axis] === 1;
  for (let i = 0; axis !== null && i < axis; i++) if (itemDims[i] !== 1) inPlace = false;
  const capacity = Math.max(1, c.maxBatchSize);
  return {
    serviceId: c.serviceId,
    inputName: spec.name,
    type: spec.type,
    itemDims,
    ctor: VIEW_CTOR[spec.type as NumericTensorType],
    capacity,
    fill: Math.max(1, c.batchSize),
    tailBytes: tailBytes(c, spec.name, capacity),
    inPlace: inPlace && c.slabBytes > 0,
    maxSlabBytes: c.slabBytes,
    maxSlabs: c.maxSlabs,
    maxBytes: c.maxBytes,
  };
}

/**
 * Bytes behind the slots for a full batch's other inputs (those whose dims the model fixes; a free-sized one is
 * placed if it fits) and its outputs of known size.
 */
function tailBytes(c: InputLeaseContext, lead: string, capacity: number): number {
  let bytes = 0;
  for (const s of c.io.inputs) {
    if (s.name === lead || s.dims.some((d) => d === null)) continue;
    let len = s.batchAxis === null ? 1 : capacity;
    for (const d of s.dims) len *= d ?? 1;
    bytes += align8(len * TENSOR_ELEMENT_BYTES[s.type as NumericTensorType]);
  }
  if (c.knownOutputs !== undefined) bytes += planSlabOutputs(c.knownOutputs, capacity, 0).end;
  return bytes;
}

function sumStats(all: readonly InputLeaseStats[]): InputLeaseStats {
  const sum = { leases: 0, fellBack: 0, slabBatches: 0, inPlaceItems: 0, copiedItems: 0, movedLeases: 0, slabs: 0 };
  for (const s of all) for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += s[k];
  return sum;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
