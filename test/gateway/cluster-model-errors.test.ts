import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, Metadata } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createGraphBuilder, encodeModel } from '@epara/runtime';
import type { GraphBuilder, OnnxModel, OnnxType } from '@epara/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oipGrpcClient } from './oip-grpc-client.js';
import { startTwoWorkerCluster } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Models that fail on some requests' values, and models onnxruntime-node cannot serve at all, in a cluster of three
 * `epara serve` processes: two workers that run every model, an entry that runs none (every request it takes is
 * offloaded). Requests whose values the model refuses (an index out of its table) are sent at once with good ones,
 * over HTTP JSON, HTTP binary and gRPC, at a worker and at the entry, so they share batches: each refused request
 * gets its own typed error (`MODEL_ERROR`, HTTP 500 / gRPC INTERNAL), and every other request gets raw
 * onnxruntime-node's answer to it alone, bit for bit. A model with a sequence or map output (sklearn's ZipMap), an
 * optional input or output, an opset onnxruntime does not have, or weights in an external file that is missing is
 * not served and never stops the others; one whose external weights sit beside it is served as onnxruntime serves it.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: ArrayBufferView;
}
interface Ort {
  Tensor: new (type: string, data: ArrayBufferView, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(path: string): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }> };
}
const ort = createRequire(join(root, 'packages', 'runtime', 'package.json'))('onnxruntime-node') as Ort;

const tensorOf = (elemType: number, dims: (number | string)[]): OnnxType => ({
  tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } },
});
const build = (name: string, make: (g: GraphBuilder) => void, edit: (m: OnnxModel) => void = () => undefined): OnnxModel => {
  const g = createGraphBuilder({ name });
  make(g);
  const m = g.toModel();
  edit(m);
  return m;
};

/** `emb = table[ids] * 1.5 + 0.25`: an id outside [-10, 9] fails the run in onnxruntime (Gather checks each index). */
const lookup = (g: GraphBuilder): void => {
  g.input('ids', 'int64', ['batch']);
  const rows = g.op('Gather', [g.constant('table', 'float32', [10, 3], Array.from({ length: 30 }, (_, i) => Math.sin(i) * 7)), 'ids'], { axis: 0 });
  g.node('Add', [g.op('Mul', [rows, g.constant('k', 'float32', [], [1.5])]), g.constant('b', 'float32', [], [0.25])], ['emb']);
  g.output('emb', 'float32', ['batch', 3]);
};
/** `y = relu(x) * w`, `w` an initializer stored as external data in `location`. */
const external = (location: string): OnnxModel =>
  build(
    'external',
    (g) => {
      g.input('x', 'float32', ['batch', 4]);
      g.node('Mul', [g.op('Relu', ['x']), g.constant('w', 'float32', [4], [2, -3, 0.5, 7])], ['y']);
      g.output('y', 'float32', ['batch', 4]);
    },
    (m) => {
      const w = m.graph!.initializer!.find((t) => t.name === 'w')!;
      delete w.rawData;
      w.dataLocation = 1;
      w.externalData = [{ key: 'location', value: location }];
    },
  );

const dir = mkdtempSync(join(tmpdir(), 'epara-model-errors-'));
const FILES: Record<string, OnnxModel> = {
  lookup: build('lookup', lookup),
  // A sequence of maps (ai.onnx.ml ZipMap, as sklearn classifiers export their probabilities) beside a tensor.
  zipmap: build(
    'zipmap',
    (g) => {
      g.input('x', 'float32', ['batch', 2]);
      g.node('ZipMap', ['x'], ['probabilities'], { classlabels_int64s: [0, 1] });
      g.node('ArgMax', ['x'], ['label'], { axis: 1, keepdims: 0 });
      g.output('label', 'int64', ['batch']);
      g.output('probabilities', 'float32', ['batch']);
    },
    (m) => {
      m.graph!.node!.find((n) => n.opType === 'ZipMap')!.domain = 'ai.onnx.ml';
      m.opsetImport!.push({ domain: 'ai.onnx.ml', version: 3 });
      m.graph!.output!.find((v) => v.name === 'probabilities')!.type = { sequenceType: { elemType: { mapType: { keyType: 7, valueType: tensorOf(1, []) } } } };
    },
  ),
  // A sequence output alone.
  seqout: build(
    'seqout',
    (g) => {
      g.input('x', 'float32', ['batch', 3]);
      g.node('SequenceConstruct', ['x', 'x'], ['s']);
      g.output('s', 'float32', ['batch', 3]);
    },
    (m) => (m.graph!.output![0]!.type = { sequenceType: { elemType: tensorOf(1, ['batch', 3]) } }),
  ),
  // An optional output (ONNX's optional type), and an optional input beside a tensor one.
  optout: build(
    'optout',
    (g) => {
      g.input('x', 'float32', ['batch', 2]);
      g.node('Optional', ['x'], ['o']);
      g.output('o', 'float32', ['batch', 2]);
    },
    (m) => (m.graph!.output![0]!.type = { optionalType: { elemType: tensorOf(1, ['batch', 2]) } }),
  ),
  optin: build(
    'optin',
    (g) => {
      g.input('x', 'float32', ['batch', 2]);
      g.input('maybe', 'float32', ['batch', 2]);
      g.node('OptionalHasElement', ['maybe'], ['has']);
      g.node('Identity', ['x'], ['y']);
      g.output('y', 'float32', ['batch', 2]);
      g.output('has', 'bool', []);
    },
    (m) => (m.graph!.input!.find((v) => v.name === 'maybe')!.type = { optionalType: { elemType: tensorOf(1, ['batch', 2]) } }),
  ),
  // An opset from the future.
  opset99: build('opset99', lookup, (m) => (m.opsetImport = [{ domain: '', version: 99 }])),
  external: external('external.weights'),
  unweighted: external('missing.weights'),
};
const paths: Record<string, string> = {};
for (const [id, m] of Object.entries(FILES)) writeFileSync((paths[id] = join(dir, `${id}.onnx`)), encodeModel(m));
writeFileSync(join(dir, 'external.weights'), Buffer.from(new Float32Array([2, -3, 0.5, 7]).buffer));

type Unary = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void;
interface StreamAnswer {
  readonly error_message: string;
  readonly infer_response: { readonly id: string; readonly outputs: { shape: (number | string)[] }[]; readonly raw_output_contents: Buffer[] };
}
type Streaming = Client & { ModelStreamInfer: (meta: Metadata) => ClientDuplexStream<object, StreamAnswer> };
interface Server {
  readonly name: string;
  readonly http: string;
  readonly client: Client & Record<string, Unary>;
  /** Triton's streaming RPC (its own .proto: the protocol's declares none). */
  readonly streaming: Streaming;
}
/** A client of Triton's ModelStreamInfer at `address`. */
function streamingClient(address: string): Streaming {
  const def = loadSync(join(root, 'test', 'gateway', 'proto', 'triton_subset.proto'), { keepCase: true, longs: Number, enums: String, defaults: true });
  const pkg = loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Streaming } };
  return new pkg.inference.GRPCInferenceService(address, credentials.createInsecure());
}
const processes: ServeProcess[] = [];
const servers: Server[] = [];
const SERVED = ['lookup', 'external'];

beforeAll(async () => {
  const { a, entry } = await startTwoWorkerCluster(paths, processes);
  servers.push(
    { name: 'worker', http: a.http, client: oipGrpcClient<Unary>(a.grpc), streaming: streamingClient(a.grpc) },
    { name: 'entry', http: entry.http, client: oipGrpcClient<Unary>(entry.grpc), streaming: streamingClient(entry.grpc) },
  );
  for (const id of SERVED) while ((await fetch(`${entry.http}/v2/models/${id}/ready`)).status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
}, 240_000);
afterAll(async () => {
  for (const s of servers) (s.client.close(), s.streaming.close());
  for (const p of processes) p.child.kill('SIGTERM');
  expect(await Promise.all(processes.map((p) => p.exited))).toEqual(processes.map(() => 0));
});

type How = 'json' | 'binary' | 'grpc';
const HOWS: readonly How[] = ['json', 'binary', 'grpc'];
/** An answer: the output's shape and raw bytes, or the status and EPARA code of a refusal. */
type Answer = { readonly shape: readonly number[]; readonly bytes: Buffer } | { readonly status: number | string; readonly code: string | undefined; readonly text: string };

/** A request's one input. */
interface Input {
  readonly name: string;
  readonly datatype: 'INT64' | 'FP32';
  readonly shape: readonly number[];
  readonly values: BigInt64Array | Float32Array;
}

/** One request of one float32 or int64 input, its one output asked for in binary over HTTP. */
async function send(s: Server, model: string, input: Input, how: How): Promise<Answer> {
  const bytes = Buffer.from(input.values.buffer, input.values.byteOffset, input.values.byteLength);
  const meta = { name: input.name, datatype: input.datatype, shape: input.shape };
  if (how === 'grpc') {
    const res = await new Promise<Record<string, unknown> | ServiceError>((resolve) =>
      s.client['ModelInfer']!({ model_name: model, inputs: [meta], raw_input_contents: [bytes] }, new Metadata(), { deadline: Date.now() + 60_000 }, (err, r) => resolve(err ?? r)),
    );
    if (res instanceof Error) return { status: res.code, code: res.metadata.get('epara-code')[0] as string | undefined, text: res.details };
    const out = (res['outputs'] as { shape: (number | string)[] }[])[0]!;
    return { shape: out.shape.map(Number), bytes: (res['raw_output_contents'] as Buffer[])[0]! };
  }
  let body: Buffer;
  const headers: Record<string, string> = {};
  if (how === 'json') {
    body = Buffer.from(JSON.stringify({ inputs: [{ ...meta, data: input.values instanceof BigInt64Array ? Array.from(input.values, String) : Array.from(input.values) }], parameters: { binary_data_output: true } }));
    headers['content-type'] = 'application/json';
  } else {
    const head = Buffer.from(JSON.stringify({ inputs: [{ ...meta, parameters: { binary_data_size: bytes.length } }], parameters: { binary_data_output: true } }));
    body = Buffer.concat([head, bytes]);
    headers['inference-header-content-length'] = String(head.length);
  }
  const res = await fetch(`${s.http}/v2/models/${model}/infer`, { method: 'POST', body, headers });
  const buf = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) {
    const json = JSON.parse(buf.toString()) as { code?: string; error?: string };
    return { status: res.status, code: json.code, text: json.error ?? '' };
  }
  const length = Number(res.headers.get('inference-header-content-length'));
  const head = JSON.parse(buf.subarray(0, length).toString()) as { outputs: { shape: number[] }[] };
  return { shape: head.outputs[0]!.shape, bytes: buf.subarray(length) };
}

/** Raw onnxruntime-node's answer to each request alone (one session, one request at a time), or its refusal. */
async function expected(model: string, inputs: readonly { name: string; type: string; shape: number[]; values: ArrayBufferView }[]): Promise<(Answer | 'refused')[]> {
  const session = await ort.InferenceSession.create(paths[model]!);
  try {
    const answers: (Answer | 'refused')[] = [];
    for (const x of inputs) {
      try {
        const out = Object.values(await session.run({ [x.name]: new ort.Tensor(x.type, x.values, x.shape) }))[0]!;
        answers.push({ shape: [...out.dims], bytes: Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength) });
      } catch {
        answers.push('refused');
      }
    }
    return answers;
  } finally {
    await session.release();
  }
}

/** Concurrent requests per server. */
const REQUESTS = 24;

describe('a request the model refuses, sent with good ones, at a worker and through an entry that offloads it', () => {
  // Requests of 1-3 rows; every fourth has a row whose id is out of the table (10 past its end, or 11 before it).
  const requests = Array.from({ length: REQUESTS }, (_, i) => {
    const rows = 1 + (i % 3);
    const ids = BigInt64Array.from({ length: rows }, (_, j) => BigInt((i * 7 + j * 3) % 10));
    if (i % 4 === 1) ids[i % rows] = i % 8 === 1 ? BigInt(10 + i) : -11n;
    return ids;
  });
  const wanted = (): Promise<(Answer | 'refused')[]> => expected('lookup', requests.map((ids) => ({ name: 'ids', type: 'int64', shape: [ids.length], values: ids })));

  it('only it gets MODEL_ERROR (500, gRPC INTERNAL); its batch-mates get onnxruntime\'s answers bit for bit', async () => {
    const want = await wanted();
    expect(want.filter((w) => w === 'refused').length).toBe(REQUESTS / 4);
    const found: string[] = [];
    for (const s of servers) {
      const answers = await Promise.all(requests.map((ids, i) => send(s, 'lookup', { name: 'ids', datatype: 'INT64', shape: [ids.length], values: ids }, HOWS[i % 3]!)));
      answers.forEach((a, i) => {
        const w = want[i]!;
        const what = `${s.name}, request ${i} [${requests[i]!.join(',')}] over ${HOWS[i % 3]}`;
        if (w === 'refused') {
          const typed = 'status' in a && a.code === 'MODEL_ERROR' && a.status === (HOWS[i % 3] === 'grpc' ? 13 : 500);
          if (!typed) found.push(`${what}: ${JSON.stringify(a)}, expected MODEL_ERROR`);
        } else if ('status' in a) {
          found.push(`${what}: refused ${a.status} ${a.code} ${a.text}`);
        } else if ('status' in w || a.shape.join() !== w.shape.join() || !a.bytes.equals(w.bytes)) {
          found.push(`${what}: [${a.shape.join(',')}] ${a.bytes.toString('hex')}, expected ${JSON.stringify(w)}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('in one ModelStreamInfer stream: the refused requests\' error_message ends (MODEL_ERROR), the others are answered, and the stream goes on', async () => {
    const want = await wanted();
    for (const s of servers) {
      const stream = s.streaming.ModelStreamInfer(new Metadata());
      const answers = new Map<string, StreamAnswer>();
      const ended = new Promise<void>((resolve, reject) => {
        stream.on('data', (a: StreamAnswer) => answers.set(a.infer_response.id, a));
        stream.on('error', reject);
        stream.on('end', resolve);
      });
      requests.forEach((ids, i) => stream.write({ model_name: 'lookup', id: `r${i}`, inputs: [{ name: 'ids', datatype: 'INT64', shape: [ids.length] }], raw_input_contents: [Buffer.from(ids.buffer)] }));
      stream.end();
      await ended;
      expect(answers.size, s.name).toBe(REQUESTS);
      want.forEach((w, i) => {
        const a = answers.get(`r${i}`)!;
        if (w === 'refused' || 'status' in w) expect(a.error_message, `${s.name} r${i}`).toMatch(/\(MODEL_ERROR\)$/);
        else expect({ error: a.error_message, shape: a.infer_response.outputs[0]!.shape.map(Number), hex: a.infer_response.raw_output_contents[0]!.toString('hex') }, `${s.name} r${i}`).toEqual({ error: '', shape: w.shape, hex: w.bytes.toString('hex') });
      });
    }
  });
});

describe('models onnxruntime-node cannot serve beside ones it can', () => {
  it('external weights beside the model file are read from its folder, through the entry too', async () => {
    const x = Float32Array.from([1, -2, 3, 4, -0.5, 0.5, 6, -7]);
    const [want] = await expected('external', [{ name: 'x', type: 'float32', shape: [2, 4], values: x }]);
    for (const s of servers) for (const how of HOWS) expect(await send(s, 'external', { name: 'x', datatype: 'FP32', shape: [2, 4], values: x }, how)).toEqual(want);
  });

  const fp32 = (n: number): Input => ({ name: 'x', datatype: 'FP32', shape: [1, n], values: Float32Array.from({ length: n }, (_, i) => i / 4) });
  const REQUEST: Readonly<Record<string, Input>> = { zipmap: fp32(2), seqout: fp32(3), optout: fp32(2), optin: fp32(2), opset99: { name: 'ids', datatype: 'INT64', shape: [2], values: BigInt64Array.from([1n, 2n]) }, unweighted: fp32(4) };
  it.each(Object.keys(REQUEST))('%s is never ready, and a request for it is refused typed at the worker and at the entry', async (model) => {
    for (const s of servers) {
      expect((await fetch(`${s.http}/v2/models/${model}/ready`)).status, s.name).toBe(503);
      for (const how of HOWS) {
        const a = await send(s, model, REQUEST[model]!, how);
        expect(a, `${s.name} over ${how}`).toMatchObject({ status: how === 'grpc' ? 14 : 503 });
        expect(['LOAD_FAILED', 'NO_INSTANCE'], `${s.name} over ${how}: ${JSON.stringify(a)}`).toContain((a as { code: string }).code);
      }
    }
    // The others still serve, through the entry.
    expect((await fetch(`${servers[1]!.http}/v2/health/ready`)).status).toBe(200);
  });
});
