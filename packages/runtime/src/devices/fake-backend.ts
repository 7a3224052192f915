import type { NamedTensors, TensorLike } from '@epara/core';
import type { ModelIoInfo } from './device-port.js';
import type { BackendModelSource, BackendSession, BackendSessionOptions, InferenceBackend } from './backend.js';

/** One output of a fake model: `from` input mapped element-wise to `x · scale + offset`, same dims and type. */
export interface FakeOutputSpec {
  readonly name: string;
  readonly from: string;
  /** @default 1 */
  readonly scale?: number;
  /** @default 0 */
  readonly offset?: number;
  /** Adds the session's count of earlier runs to every value (tests read the order runs ran in). @default false */
  readonly addRunIndex?: boolean;
}

/**
 * A model for the fake backend: a deterministic function of its inputs that blocks the worker for
 * `fixedMs + perItemMs · batch` (like a real kernel would). For tests of scheduling, batching and failures.
 */
export interface FakeModelSpec {
  readonly format: 'epara-fake-model';
  readonly inputs: readonly ModelIoInfo[];
  readonly outputs: readonly FakeOutputSpec[];
  /** @default 0 */
  readonly fixedMs?: number;
  /** @default 0 */
  readonly perItemMs?: number;
  /** Input whose dimension `batchAxis` is the batch size. @default the first input */
  readonly batchInput?: string;
  /** @default 0 */
  readonly batchAxis?: number;
  /** The run throws (a model error) when any element of any input equals this. */
  readonly failIfAnyEquals?: number;
  /** The worker dies when any element of any input equals this: `exit` calls `process.exit`, `throw` throws uncaught. */
  readonly crashIfAnyEquals?: number;
  /** @default 'exit' */
  readonly crashMode?: 'exit' | 'throw';
  /** Reported session memory. @default the spec's byte length */
  readonly memoryBytes?: number;
  /** Delay of `createSession`, ms (to test loading states). @default 0 */
  readonly loadMs?: number;
}

/** Encodes a {@link FakeModelSpec} as model bytes for `loadModel(key, { bytes })`. */
export function fakeModelBytes(spec: Omit<FakeModelSpec, 'format'>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ ...spec, format: 'epara-fake-model' }));
}

/** The pure-JS backend used by unit tests (see {@link FakeModelSpec}). */
export function createFakeBackend(options: { cudaAvailable?: boolean } = {}): InferenceBackend {
  return {
    async createSession(source: BackendModelSource, o: BackendSessionOptions): Promise<BackendSession> {
      if (o.executionProvider === 'cuda' && options.cudaAvailable !== true) {
        throw new Error('fake backend: CUDA execution provider is not available');
      }
      const spec = await readSpec(source);
      if (spec.loadMs) blockFor(spec.loadMs);
      return new FakeSession(spec);
    },
  };
}

async function readSpec(source: BackendModelSource): Promise<FakeModelSpec> {
  let bytes: Uint8Array;
  if ('bytes' in source) bytes = source.bytes;
  else bytes = new Uint8Array(await (await import('node:fs/promises')).readFile(source.path));
  const spec = JSON.parse(new TextDecoder().decode(bytes)) as FakeModelSpec;
  if (spec.format !== 'epara-fake-model') throw new Error('not a fake model');
  return spec;
}

class FakeSession implements BackendSession {
  readonly inputs: ModelIoInfo[];
  readonly outputs: ModelIoInfo[];
  readonly memoryBytes: number;
  readonly #spec: FakeModelSpec;
  /** Runs so far (for {@link FakeOutputSpec.addRunIndex}). */
  #runs = 0;

  constructor(spec: FakeModelSpec) {
    this.#spec = spec;
    this.inputs = spec.inputs.map((i) => ({ ...i, dims: [...i.dims] }));
    this.outputs = spec.outputs.map((o) => {
      const from = spec.inputs.find((i) => i.name === o.from);
      if (!from) throw new Error(`fake model: output ${o.name} maps unknown input ${o.from}`);
      return { name: o.name, type: from.type, dims: [...from.dims] };
    });
    this.memoryBytes = spec.memoryBytes ?? JSON.stringify(spec).length;
  }

  async run(feeds: NamedTensors, outputNames?: readonly string[], into?: NamedTensors): Promise<NamedTensors> {
    const spec = this.#spec;
    for (const i of spec.inputs) if (!feeds[i.name]) throw new Error(`fake model: missing input ${i.name}`);
    if (spec.crashIfAnyEquals !== undefined && anyEquals(feeds, spec.crashIfAnyEquals)) return crash(spec.crashMode ?? 'exit');
    const batchName = spec.batchInput ?? spec.inputs[0]?.name ?? '';
    const batch = feeds[batchName]?.dims[spec.batchAxis ?? 0] ?? 1;
    const runIndex = this.#runs++;
    blockFor((spec.fixedMs ?? 0) + (spec.perItemMs ?? 0) * batch);
    if (spec.failIfAnyEquals !== undefined && anyEquals(feeds, spec.failIfAnyEquals)) {
      throw new Error(`fake model: input contains ${spec.failIfAnyEquals}`);
    }
    const out: Record<string, TensorLike> = {};
    const wanted = into ? Object.keys(into) : outputNames;
    for (const o of spec.outputs) {
      if (wanted && !wanted.includes(o.name)) continue;
      const x = feeds[o.from]!;
      const data = mapData(x.data, o.scale ?? 1, (o.offset ?? 0) + (o.addRunIndex === true ? runIndex : 0));
      const target = into?.[o.name];
      // Like onnxruntime with a pre-allocated output: the result must fit the given tensor exactly.
      if (target !== undefined) {
        if (target.data.length !== data.length || target.type !== x.type) throw new Error(`fake model: pre-allocated output ${o.name} does not fit`);
        (target.data as Float32Array).set(data as Float32Array);
      }
      out[o.name] = { type: x.type, dims: [...x.dims], data };
    }
    return out;
  }

  async release(): Promise<void> {}
}

function mapData(data: TensorLike['data'], scale: number, offset: number): TensorLike['data'] {
  if (data instanceof BigInt64Array) return data.map((v) => v * BigInt(Math.round(scale)) + BigInt(Math.round(offset)));
  const out = data.slice();
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) * scale + offset;
  return out;
}

function anyEquals(feeds: NamedTensors, value: number): boolean {
  for (const t of Object.values(feeds)) {
    if (t.data instanceof BigInt64Array) continue;
    for (const v of t.data) if (v === value) return true;
  }
  return false;
}

function crash(mode: 'exit' | 'throw'): Promise<never> {
  if (mode === 'exit') process.exit(13);
  // An uncaught exception kills the worker; the run itself never answers.
  setImmediate(() => {
    throw new Error('fake model: crashed the worker on purpose');
  });
  return new Promise<never>(() => undefined);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the current thread, as a native kernel would. */
function blockFor(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}
