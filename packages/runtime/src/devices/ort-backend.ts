import { readFile, stat } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { NamedTensors, TensorLike, TensorType } from '@epara/core';
import type { ModelIoInfo } from './device-port.js';
import type { BackendModelSource, BackendSession, BackendSessionOptions, InferenceBackend } from './backend.js';
import { declaredBoundary, type DeclaredValue } from '../onnx/boundary-values.js';
import { decodeModel, encodeModel } from '../onnx/onnx-codec.js';
import { externalTensors, refuseExternalDataInBytes } from '../onnx/external-data.js';
import { hasDefaultInputs, liftDefaultInputs, type DefaultInput } from '../onnx/default-inputs.js';

/**
 * The only file that touches onnxruntime-node: sessions with a fixed thread budget
 * (`intraOpNumThreads` = the device's threads, `interOpNumThreads` = 1, sequential execution), whose idle
 * threads sleep unless the device asks for spinning (onnxruntime's own default spins).
 */
export function createOrtBackend(): InferenceBackend {
  return {
    async createSession(source: BackendModelSource, o: BackendSessionOptions): Promise<BackendSession> {
      const spin = o.spinWait ? '1' : '0';
      const options: ort.InferenceSession.SessionOptions = {
        intraOpNumThreads: o.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        // Session config entries (`session.intra_op.allow_spinning`…): onnxruntime defaults to '1', which keeps
        // each helper thread polling a core between parallel steps and between runs.
        extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
        executionProviders: o.executionProvider === 'cuda' ? [{ name: 'cuda', deviceId: o.ordinal }] : ['cpu'],
      };
      // Bytes have no folder: onnxruntime would look for their external data in the working directory.
      if ('bytes' in source) refuseExternalDataInBytes(source.bytes);
      const lifted = await withDefaultInputs(source);
      const session =
        lifted !== undefined
          ? await ort.InferenceSession.create(lifted.bytes, options)
          : 'path' in source
            ? await ort.InferenceSession.create(source.path, options)
            : await ort.InferenceSession.create(source.bytes, options);
      return new OrtSession(session, needsGraph(session) ? await readBoundary(source) : undefined, lifted?.defaults ?? []);
    },
  };
}

class OrtSession implements BackendSession {
  readonly inputs: ModelIoInfo[];
  readonly outputs: ModelIoInfo[];
  readonly #session: ort.InferenceSession;
  readonly #defaults: readonly DefaultInput[];
  /** The last feeds and outputs run with, and onnxruntime's tensors for them (see {@link run}). */
  #lastFeeds: NamedTensors | undefined;
  #lastOrtFeeds: Record<string, ort.Tensor> | undefined;
  #lastInto: NamedTensors | undefined;
  #lastOrtInto: Record<string, ort.Tensor> | undefined;

  constructor(session: ort.InferenceSession, declared: { inputs: ReadonlyMap<string, DeclaredValue>; outputs: ReadonlyMap<string, DeclaredValue> } | undefined, defaults: readonly DefaultInput[]) {
    this.#session = session;
    this.#defaults = defaults;
    const optional = new Set(defaults.map((d) => d.name));
    this.inputs = session.inputMetadata.map((m) => {
      const info = toIoInfo(m, declared?.inputs.get(m.name));
      return optional.has(m.name) ? { ...info, hasDefault: true as const } : info;
    });
    this.outputs = session.outputMetadata.map((m) => toIoInfo(m, declared?.outputs.get(m.name)));
  }

  async run(feeds: NamedTensors, outputNames?: readonly string[], into?: NamedTensors): Promise<NamedTensors> {
    // A doorbell's kept layout hands the same feeds and outputs (views of its buffer) call after call: onnxruntime's
    // tensors for them are made once. Fresh objects (a run by message) get fresh tensors.
    let ortFeeds = this.#lastFeeds === feeds ? this.#lastOrtFeeds! : undefined;
    if (ortFeeds === undefined) {
      ortFeeds = toOrt(feeds);
      // An input the model gives a default (an initializer listed as an input) and the caller left out: the default.
      for (const d of this.#defaults) if (feeds[d.name] === undefined) ortFeeds[d.name] = new ort.Tensor(d.value.type, d.value.data, d.value.dims);
      this.#lastFeeds = feeds;
      this.#lastOrtFeeds = ortFeeds;
    }
    let ortInto: Record<string, ort.Tensor> | undefined;
    if (into !== undefined) {
      ortInto = this.#lastInto === into ? this.#lastOrtInto! : toOrt(into);
      this.#lastInto = into;
      this.#lastOrtInto = ortInto;
    }
    // Pre-allocated outputs: onnxruntime writes into the given tensors (views of the batch's slab).
    // `outputNames` arrived by postMessage (a fresh array): no defensive copy needed.
    const result = ortInto
      ? await this.#session.run(ortFeeds, ortInto)
      : outputNames
        ? await this.#session.run(ortFeeds, outputNames as string[])
        : await this.#session.run(ortFeeds);
    const out: Record<string, TensorLike> = {};
    for (const name of Object.keys(result)) {
      const t = result[name]!;
      out[name] = { type: t.type as TensorType, dims: t.dims, data: t.data as TensorLike['data'] };
    }
    if (into) passThrough(feeds, into, out);
    return out;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}

/**
 * The model with its initializers that are also inputs made plain inputs, and their values as defaults
 * ({@link liftDefaultInputs}): onnxruntime-node feeds only the inputs its session lists, which leave such an
 * initializer out, so a value given for it was dropped and its default used. `undefined` (the model loaded as it
 * is) when it has none, or keeps weights as external data (its bytes alone could not be loaded).
 */
/** Largest model whose initializers that are inputs are made sendable (see {@link withDefaultInputs}), bytes. */
const MAX_LIFTED_BYTES = 256 * 1024 * 1024;

async function withDefaultInputs(source: BackendModelSource): Promise<{ bytes: Uint8Array; defaults: DefaultInput[] } | undefined> {
  let bytes: Uint8Array;
  try {
    // A file read whole only up to a size whose decoding is cheap beside the load: larger ones keep their defaults.
    // A regular file only: a device file (`/dev/zero`) never ends, and onnxruntime says what it makes of one.
    if ('path' in source) {
      const st = await stat(source.path);
      if (!st.isFile() || st.size > MAX_LIFTED_BYTES) return undefined;
    }
    bytes = 'bytes' in source ? source.bytes : await readFile(source.path);
  } catch {
    return undefined; // onnxruntime reports the file it cannot read
  }
  if (!hasDefaultInputs(bytes) || externalTensors(bytes).length > 0) return undefined;
  try {
    const lifted = liftDefaultInputs(decodeModel(bytes));
    return lifted === undefined ? undefined : { bytes: encodeModel(lifted.model), defaults: lifted.defaults };
  } catch {
    return undefined;
  }
}

/**
 * onnxruntime leaves a pre-allocated output untouched (and answers it as zeros) when that output is a graph
 * input passed straight through, with no node writing it: such an output gets the input's values.
 */
function passThrough(feeds: NamedTensors, into: NamedTensors, out: Record<string, TensorLike>): void {
  for (const name of Object.keys(into)) {
    const fed = feeds[name];
    const target = into[name]!;
    if (fed === undefined || fed.data.length !== target.data.length) continue;
    (target.data as Float32Array).set(fed.data as Float32Array);
    out[name] = target;
  }
}

function toOrt(tensors: NamedTensors): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const name of Object.keys(tensors)) {
    const t = tensors[name]!;
    out[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  return out;
}

/**
 * Whether onnxruntime's metadata leaves something only the graph can tell: a value that is not a tensor (which
 * kind), or an empty shape (a scalar, or a tensor whose rank the model leaves open).
 */
function needsGraph(session: ort.InferenceSession): boolean {
  return [...session.inputMetadata, ...session.outputMetadata].some((m) => !m.isTensor || m.shape.length === 0);
}

/** The graph's declared boundary, read from the model (only for the models {@link needsGraph} picks). */
async function readBoundary(source: BackendModelSource): Promise<ReturnType<typeof declaredBoundary> | undefined> {
  try {
    return declaredBoundary(decodeModel('path' in source ? await readFile(source.path) : source.bytes));
  } catch {
    return undefined; // onnxruntime read the model; without the graph's word, its metadata stands
  }
}

function toIoInfo(m: ort.InferenceSession.ValueMetadata, declared: DeclaredValue | undefined): ModelIoInfo {
  if (!m.isTensor) return { name: m.name, type: 'float32', dims: [], nonTensor: declared === undefined || declared.kind === 'tensor' ? 'unknown' : declared.kind };
  // onnxruntime reads a tensor without a shape as `[]`; for outputs it infers a shape when it can.
  const anyRank = m.shape.length === 0 && declared?.kind === 'tensor' && declared.rank === undefined;
  return { name: m.name, type: m.type as TensorType, dims: [...m.shape], ...(anyRank ? { anyRank: true as const } : {}) };
}
