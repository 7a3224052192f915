import { connect } from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { loadSync } from '@grpc/proto-loader';
import type { AbortSignalLike, ClusterView, NamedTensors } from '@epara/core';
import { EparaError } from '@epara/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';
import type { GatewayOptions } from '../gateway-options.js';
import { PROTO_LOADER_OPTIONS } from './grpc-methods.js';
import { oipProtoPath } from './proto-path.js';
import { WireReader } from './proto-wire.js';

/*
 * Triton's ModelStreamInfer on a raw node:http2 session (what grpc-js would never send is sent too): answers in
 * completion order, per-request errors inside the stream, and the stream's own end for what breaks it.
 */

const service = loadSync(oipProtoPath(), PROTO_LOADER_OPTIONS)['inference.GRPCInferenceService'] as unknown as Record<string, { requestSerialize(v: object): Buffer; responseDeserialize(b: Buffer): Record<string, unknown> }>;
const model = { name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] };

let gateway: Gateway | undefined;
let session: ClientHttp2Session | undefined;
afterEach(async () => {
  session?.destroy();
  await gateway?.close();
  gateway = session = undefined;
});

/** A node whose submit of x = [v, …] waits for `gate(v)` (resolved at once by default), reporting each abort. */
function gatedNode(gate: (v: number) => Promise<void> = () => Promise.resolve(), aborted: () => void = () => undefined): GatewayOptions['node'] {
  return {
    id: 'n1',
    view: () => ({ entries: {} }) as unknown as ClusterView,
    submit: (_s: string, inputs: NamedTensors, o?: { signal?: AbortSignalLike }) =>
      new Promise<NamedTensors>((resolve, reject) => {
        o?.signal?.addEventListener('abort', () => (aborted(), reject(new EparaError('ABORTED', 'the caller went away'))), { once: true });
        void gate((inputs['x']!.data as Float32Array)[0]!).then(() => resolve({ y: inputs['x']! }));
      }),
  };
}

async function start(o: Partial<GatewayOptions> = {}): Promise<string> {
  gateway = createGateway({ node: gatedNode(), models: [model], http: false, grpc: { port: 0 }, ...o });
  return (await gateway.start()).grpc!;
}

function frame(message: Buffer, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

const request = (id: string, v: number, name = 'm'): Buffer =>
  frame(service['ModelInfer']!.requestSerialize({ model_name: name, id, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }], raw_input_contents: [Buffer.from(new Float32Array([v, v]).buffer)] }));

interface StreamAnswer {
  readonly error: string;
  readonly id: string;
  readonly y: number[] | undefined;
}

/** Opens a ModelStreamInfer stream; collects its answers as they come, and its end status. */
function open(address: string, headers: Record<string, string> = {}): { stream: ClientHttp2Stream; answers: StreamAnswer[]; next(): Promise<StreamAnswer>; status: Promise<{ status: string; message: string }>; code(): string | undefined } {
  session ??= connect(`http://${address}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelStreamInfer', 'content-type': 'application/grpc', te: 'trailers', ...headers });
  stream.on('error', () => undefined);
  const answers: StreamAnswer[] = [];
  const waiting: ((a: StreamAnswer) => void)[] = [];
  let buffered = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
      const a = decodeAnswer(buffered.subarray(5, 5 + buffered.readUInt32BE(1)));
      buffered = buffered.subarray(5 + buffered.readUInt32BE(1));
      answers.push(a);
      waiting.shift()?.(a);
    }
  });
  let code: string | undefined;
  const status = new Promise<{ status: string; message: string }>((resolve) => {
    const done = (h: IncomingHttpHeaders): void => {
      if (h['epara-code'] !== undefined) code = String(h['epara-code']);
      if (h['grpc-status'] !== undefined) resolve({ status: String(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
    };
    stream.on('response', done);
    stream.on('trailers', done);
    stream.once('close', () => resolve({ status: `closed ${stream.rstCode}`, message: '' }));
  });
  let taken = 0;
  const next = (): Promise<StreamAnswer> => {
    const i = taken++;
    return i < answers.length ? Promise.resolve(answers[i]!) : new Promise((resolve) => waiting.push(resolve));
  };
  return { stream, answers, next, status, code: () => code };
}

/** `ModelStreamInferResponse { error_message = 1; infer_response = 2 }`. */
function decodeAnswer(b: Buffer): StreamAnswer {
  const r = new WireReader(b);
  let error = '';
  let response: Record<string, unknown> = {};
  while (!r.done) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) error = r.string();
    else if (tag >>> 3 === 2) {
      const [from, to] = r.bytesRange();
      response = service['ModelInfer']!.responseDeserialize(b.subarray(from, to));
    } else r.skip(tag & 7, tag >>> 3);
  }
  const raw = (response['raw_output_contents'] as Buffer[] | undefined)?.[0];
  return { error, id: String(response['id'] ?? ''), y: raw ? [...new Float32Array(new Uint8Array(raw).buffer)] : undefined };
}

describe('ModelStreamInfer', () => {
  it('answers each request as it completes, not in request order, and ends OK once the client half-closed', async () => {
    let releaseFirst!: () => void;
    const first = new Promise<void>((r) => (releaseFirst = r));
    const address = await start({ node: gatedNode((v) => (v === 1 ? first : Promise.resolve())) });
    const s = open(address);
    // Two messages in one write, the third split across three.
    s.stream.write(Buffer.concat([request('a', 1), request('b', 2)]));
    const third = request('c', 3);
    s.stream.write(third.subarray(0, 3));
    s.stream.write(third.subarray(3, 20));
    s.stream.write(third.subarray(20));
    expect((await s.next()).id).not.toBe('a');
    expect((await s.next()).id).not.toBe('a');
    releaseFirst();
    expect(await s.next()).toEqual({ error: '', id: 'a', y: [1, 1] });
    s.stream.end();
    expect(await s.status).toEqual({ status: '0', message: '' });
    expect(s.answers.map((a) => a.id).sort()).toEqual(['a', 'b', 'c']);
    expect(s.answers.find((a) => a.id === 'c')!.y).toEqual([3, 3]);
  });

  it('takes a message of many DATA frames and 200 small ones on one stream, and answers each', async () => {
    const address = await start({ models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, -1] }], outputs: [] }] });
    const s = open(address);
    const n = 1 << 20; // 4 MiB of FP32: some 256 frames of 16 KiB
    const big = frame(service['ModelInfer']!.requestSerialize({ model_name: 'm', id: 'big', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, n] }], raw_input_contents: [Buffer.from(new Float32Array(n).fill(7).buffer)] }));
    s.stream.write(big);
    for (let i = 0; i < 200; i++) s.stream.write(frame(service['ModelInfer']!.requestSerialize({ model_name: 'm', id: `small-${i}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }], raw_input_contents: [Buffer.from(new Float32Array([i, i]).buffer)] })));
    s.stream.end();
    expect(await s.status).toEqual({ status: '0', message: '' });
    expect(s.answers).toHaveLength(201);
    const bigAnswer = s.answers.find((a) => a.id === 'big')!;
    expect(bigAnswer.y).toHaveLength(n);
    expect(bigAnswer.y!.every((v) => v === 7)).toBe(true);
    for (let i = 0; i < 200; i++) expect(s.answers.find((a) => a.id === `small-${i}`)!.y).toEqual([i, i]);
  }, 60_000);

  it('reads no more requests while the client does not read its answers, and answers every one once it does', async () => {
    // A client that sent and never read had every request run and its answers buffered by the server, without bound.
    let submitted = 0;
    const address = await start({ models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, -1] }], outputs: [] }], node: gatedNode(() => (submitted++, Promise.resolve())) });
    const s = open(address);
    s.stream.pause(); // the client reads nothing
    const n = 400; // 400 KiB of requests; the server holds off after some 60 (its buffers and the flow-control windows)
    const kib = (i: number): Buffer => frame(service['ModelInfer']!.requestSerialize({ model_name: 'm', id: `r${i}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 256] }], raw_input_contents: [Buffer.from(new Float32Array(256).fill(i).buffer)] }));
    let flushed = false;
    for (let i = 0; i < n; i++) s.stream.write(kib(i), i === n - 1 ? () => (flushed = true) : undefined);
    // Until every request is out of the client (the server read them all), or the server holds off: no more run.
    for (let last = -1, still = 0; !flushed && still < 5; last = submitted) {
      await new Promise((r) => setTimeout(r, 100));
      still = submitted === last ? still + 1 : 0;
    }
    expect(flushed).toBe(false);
    expect(submitted).toBeLessThan(n / 2);
    s.stream.resume();
    s.stream.end();
    expect(await s.status).toEqual({ status: '0', message: '' });
    expect(s.answers).toHaveLength(n);
    expect(s.answers.find((a) => a.id === `r${n - 1}`)!.y).toHaveLength(256);
  }, 60_000);

  it('answers a failed request in the stream (its error_message and id) and goes on', async () => {
    const address = await start();
    const s = open(address);
    s.stream.write(request('unknown', 1, 'nope'));
    s.stream.write(frame(Buffer.from([0x0a, 0x7f, 1]))); // a model_name 127 bytes long in a 3-byte message
    s.stream.write(frame(service['ModelInfer']!.requestSerialize({ model_name: 'm', id: 'bad-shape', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }], raw_input_contents: [Buffer.alloc(8)] })));
    s.stream.end(request('good', 4));
    expect(await s.status).toEqual({ status: '0', message: '' });
    const byId = new Map(s.answers.map((a) => [a.id, a]));
    expect(byId.get('unknown')!.error).toMatch(/unknown model "nope" \(UNKNOWN_SERVICE\)/);
    expect(byId.get('')!.error).toMatch(/ModelInferRequest message is malformed.*\(INVALID_INPUT\)/);
    expect(byId.get('bad-shape')!.error).toMatch(/shape \[1,3\].*\(INVALID_INPUT\)/);
    expect(byId.get('good')).toEqual({ error: '', id: 'good', y: [4, 4] });
  });

  it('ends the stream on a frame it cannot read: a bad flag (INTERNAL), a message over the limit (RESOURCE_EXHAUSTED), a truncated end (INTERNAL)', async () => {
    const address = await start({ maxBodyBytes: 1024 });
    const flag = open(address);
    flag.stream.write(frame(Buffer.from([1, 2]), 2));
    expect(await flag.status).toEqual({ status: '13', message: 'invalid message flag 2 (0: uncompressed, 1: compressed)' });
    const big = open(address);
    big.stream.write(request('first', 1));
    expect((await big.next()).id).toBe('first');
    big.stream.write(frame(Buffer.alloc(2048)).subarray(0, 5));
    expect(await big.status).toEqual({ status: '8', message: 'a request message (2048 bytes) is larger than the limit of 1024 bytes' });
    const cut = open(address);
    cut.stream.end(request('cut', 1).subarray(0, 9));
    expect(await cut.status).toEqual({ status: '13', message: 'the stream ends inside a message (9 bytes of it)' });
    // Typed like every other refusal (they had no epara-code).
    expect([flag.code(), big.code(), cut.code()]).toEqual(['INVALID_INPUT', 'INVALID_INPUT', 'INVALID_INPUT']);
  });

  it('aborts the requests running when the client cancels the stream', async () => {
    let aborted!: () => void;
    const wasAborted = new Promise<void>((r) => (aborted = r));
    let submitted!: () => void;
    const wasSubmitted = new Promise<void>((r) => (submitted = r));
    const address = await start({ node: gatedNode(() => (submitted(), new Promise(() => undefined)), aborted) });
    const s = open(address);
    s.stream.write(request('held', 1));
    await wasSubmitted;
    s.stream.close(8); // RST_STREAM CANCEL
    await wasAborted;
    await gateway!.drain({ timeoutMs: 60_000 });
    expect(gateway!.inFlight).toBe(0);
  });

  it('ends a stream whose message stops arriving, or that carries no request, after idleTimeoutMs; a running request is waited for', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const address = await start({ idleTimeoutMs: 300, node: gatedNode((v) => (v === 9 ? held : Promise.resolve())) });
    const stalled = open(address);
    stalled.stream.write(request('s', 1).subarray(0, 12));
    expect(await stalled.status).toEqual({ status: '4', message: 'a request message made no progress for 300 ms' });
    const idle = open(address);
    idle.stream.write(request('one', 1));
    expect((await idle.next()).id).toBe('one');
    expect(await idle.status).toEqual({ status: '4', message: 'no request arrived on the stream for 300 ms' });
    const running = open(address);
    running.stream.end(request('long', 9));
    await new Promise((r) => setTimeout(r, 1200));
    release();
    expect(await running.next()).toEqual({ error: '', id: 'long', y: [9, 9] });
    expect(await running.status).toEqual({ status: '0', message: '' });
  }, 30_000);

  it('takes grpc-timeout as the deadline of the whole stream', async () => {
    const address = await start({ node: gatedNode(() => new Promise(() => undefined)) });
    const s = open(address, { 'grpc-timeout': '200m' });
    s.stream.write(request('never', 1));
    expect(await s.status).toEqual({ status: '4', message: 'deadline exceeded' });
    expect(s.code()).toBe('DEADLINE_EXCEEDED');
  });
});

describe('ModelStreamInfer read-ahead', () => {
  /** A node that holds every request until `release()` (then answers all at once), counting the most held at once. */
  function heldNode(): { node: GatewayOptions['node']; submitted(): number; most(): number; reached(n: number): Promise<void>; release(): void } {
    const held: (() => void)[] = [];
    let released = false;
    let submitted = 0;
    const waits: [number, () => void][] = [];
    const node = gatedNode(() => {
      submitted++;
      for (const [n, r] of waits) if (submitted === n) r();
      return released ? Promise.resolve() : new Promise<void>((r) => held.push(r));
    });
    return {
      node,
      submitted: () => submitted,
      // Nothing is answered before release(): every request submitted until then is held at once.
      most: () => held.length,
      reached: (n) => new Promise<void>((r) => waits.push([n, r])),
      release: () => ((released = true), held.forEach((r) => r())),
    };
  }

  it('reads requests ahead of its answers, at most STREAM_REQUESTS_AHEAD running at once; the rest once they make room', async () => {
    const h = heldNode();
    const address = await start({ node: h.node });
    const s = open(address);
    // One write: without a bound, the stream took every request in it at once.
    s.stream.write(Buffer.concat(Array.from({ length: 200 }, (_, i) => request(`r${i}`, i))));
    await h.reached(128);
    await new Promise((r) => setImmediate(r));
    expect(h.submitted()).toBe(128);
    expect(h.most()).toBe(128);
    h.release();
    s.stream.end();
    expect(await s.status).toEqual({ status: '0', message: '' });
    expect(s.answers).toHaveLength(200);
    expect(new Set(s.answers.map((a) => a.id)).size).toBe(200);
  });

  it('runs at most maxBodyBytes of request messages at once on a stream, one more always, and answers all', async () => {
    const h = heldNode();
    const address = await start({ node: h.node, maxBodyBytes: 4096, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, -1] }], outputs: [] }] });
    const s = open(address);
    const kib = (i: number): Buffer => frame(service['ModelInfer']!.requestSerialize({ model_name: 'm', id: `r${i}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 256] }], raw_input_contents: [Buffer.from(new Float32Array(256).fill(i).buffer)] }));
    s.stream.write(Buffer.concat(Array.from({ length: 12 }, (_, i) => kib(i))));
    await h.reached(4);
    await new Promise((r) => setImmediate(r));
    // Four messages of a little over 1 KiB reach 4096 bytes: the fifth waits.
    expect(h.submitted()).toBe(4);
    h.release();
    s.stream.end();
    expect(await s.status).toEqual({ status: '0', message: '' });
    expect(s.answers.map((a) => a.id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `r${i}`).sort());
  });

  it('reads the messages it held when the client half-closed meanwhile, then ends OK', async () => {
    const h = heldNode();
    const address = await start({ node: h.node });
    const s = open(address);
    s.stream.end(Buffer.concat(Array.from({ length: 150 }, (_, i) => request(`r${i}`, i))));
    await h.reached(128);
    h.release();
    expect(await s.status).toEqual({ status: '0', message: '' });
    expect(s.answers).toHaveLength(150);
  });
});
