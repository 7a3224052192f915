import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { NamedTensors, TensorLike, TensorType } from '@epara/core';
import type { ModelIoInfo } from './device-port.js';
import type { BackendModelSource, BackendSession, BackendSessionOptions, InferenceBackend } from './backend.js';
import { declaredBoundary, type DeclaredValue } from '../onnx/boundary-values.js';
import { decodeModel } from '../onnx/onnx-codec.js';
import { refuseExternalDataInBytes } from '../onnx/external-data.js';

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
      const session =
        'path' in source ? await ort.InferenceSession.create(source.path, options) : await ort.InferenceSession.create(source.bytes, options);
      return new OrtSession(session, needsGraph(session) ? await readBoundary(source) : undefined);
    },
  };
}

class OrtSession implements BackendSession {
  readonly inputs: ModelIoInfo[];
  readonly outputs: ModelIoInfo[];
  readonly #session: ort.InferenceSession;

  constructor(session: ort.InferenceSession, declared: { inputs: ReadonlyMap<string, DeclaredValue>; outputs: ReadonlyMap<string, DeclaredValue> } | undefined) {
    this.#session = session;
    this.inputs = session.inputMetadata.map((m) => toIoInfo(m, declared?.inputs.get(m.name)));
    this.outputs = session.outputMetadata.map((m) => toIoInfo(m, declared?.outputs.get(m.name)));
  }

  async run(feeds: NamedTensors, outputNames?: readonly string[], into?: NamedTensors): Promise<NamedTensors> {
    const ortFeeds = toOrt(feeds);
    // Pre-allocated outputs: onnxruntime writes into the given tensors (views of the batch's slab).
    // `outputNames` arrived by postMessage (a fresh array): no defensive copy needed.
    const result = into
      ? await this.#session.run(ortFeeds, toOrt(into))
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
