import { connect as connectH2 } from 'node:http2';
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { ClusterView, NamedTensors } from '@epara/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from './gateway.js';
import type { Gateway } from './gateway.js';
import type { GatewayOptions } from './gateway-options.js';

/*
 * `idleTimeoutMs` on every route of both fronts, real sockets on 127.0.0.1: a client that stops sending its
 * request, or stops reading its answer, is cut after that long without progress — long before
 * `requestTimeoutMs` (10 minutes here) — while a client that keeps sending, however slowly, and a request that
 * runs longer than `idleTimeoutMs` without traffic, are answered. Waits are on the server's own answer or close;
 * the test timeout is the hang guard.
 */

const IDLE_MS = 300;
const REQUEST_MS = 600_000;
const model = { name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] };
const jsonBody = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });

let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

/** A node that answers each submit with its inputs once `hold` (if any) resolves. */
function echoNode(hold?: Promise<void>): GatewayOptions['node'] {
  return {
    id: 'n1',
    view: () => ({ entries: {} }) as unknown as ClusterView,
    submit: async (_s: string, inputs: NamedTensors): Promise<NamedTensors> => {
      await hold;
      return { y: inputs['x']! };
    },
  };
}

async function start(o: Partial<GatewayOptions> = {}): Promise<{ http: [number, string]; grpc: string }> {
  gateway = createGateway({ node: echoNode(), models: [model], http: { port: 0 }, grpc: { port: 0 }, idleTimeoutMs: IDLE_MS, requestTimeoutMs: REQUEST_MS, ...o });
  const a = await gateway.start();
  const u = new URL(a.http!);
  return { http: [Number(u.port), u.hostname], grpc: a.grpc! };
}

/** Everything the server sent until it closed the connection. */
function untilClosed(socket: Socket): Promise<string> {
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve(got)));
}

/** Writes `bytes` in `pieces` parts (one byte each by default), each after the previous one was flushed and `gapMs` passed. */
async function trickle(socket: Socket | ClientHttp2Stream, bytes: Buffer, gapMs: number, pieces = bytes.length): Promise<void> {
  const size = Math.ceil(bytes.length / pieces);
  for (let at = 0; at < bytes.length; at += size) {
    await new Promise<void>((resolve) => socket.write(bytes.subarray(at, at + size), () => resolve()));
    await new Promise((r) => setTimeout(r, gapMs));
  }
}

/**
 * For the bodies that keep arriving: a longer idle limit, so a gap stretched by a busy machine (a 50 ms gap
 * read 300 ms at load 50) stays far below it, while the whole body still takes longer than the limit.
 */
const TRICKLE_IDLE_MS = 1500;
const TRICKLE_GAP_MS = TRICKLE_IDLE_MS / 6;

describe('HTTP: a stalled request body', () => {
  it('on the infer route is answered 408 after idleTimeoutMs without a byte, and the connection closed', async () => {
    const { http } = await start();
    const s = connect(...http);
    s.write('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"inputs":');
    const got = await untilClosed(s);
    expect(got).toMatch(/^HTTP\/1\.1 408 [^]*connection: close[^]*"error":"the request body made no progress for 300 ms","code":"INVALID_INPUT"/i);
  }, 30_000);

  it('on a Fastify route (the repository index) is answered 408 the same way', async () => {
    const { http } = await start();
    const s = connect(...http);
    s.write('POST /v2/repository/index HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"rea');
    expect(await untilClosed(s)).toMatch(/^HTTP\/1\.1 408 [^]*"code":"INVALID_INPUT"/);
  }, 30_000);

  it('of a refused request, still being discarded, has its connection closed', async () => {
    const { http } = await start({ maxBodyBytes: 1024 });
    const s = connect(...http);
    s.write('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{"inputs":');
    expect(await untilClosed(s)).toMatch(/^HTTP\/1\.1 413 /);
  }, 30_000);

  it('that keeps arriving, slower in total than idleTimeoutMs, is read and answered', async () => {
    const { http } = await start({ idleTimeoutMs: TRICKLE_IDLE_MS });
    const s = connect(...http);
    const answer = untilClosed(s);
    const body = Buffer.from(jsonBody);
    s.write(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`);
    // 12 parts, one each idle limit ÷ 6: the whole body takes about twice the limit, no gap comes near it.
    await trickle(s, body, TRICKLE_GAP_MS, 12);
    expect(await answer).toMatch(/^HTTP\/1\.1 200 [^]*"outputs":\[\{"name":"y"/);
  }, 60_000);
});

describe('HTTP: an answer the client stops reading', () => {
  it('on a Fastify route (model metadata) has its connection destroyed after idleTimeoutMs', async () => {
    // Metadata of some 30 MB, more than the socket buffers on both ends hold.
    const inputs = Array.from({ length: 200_000 }, (_, i) => ({ name: `input_with_a_long_name_${'x'.repeat(100)}_${i}`, datatype: 'FP32', shape: [-1, 2] }));
    let serverSide!: (s: Socket) => void;
    const serverSocket = new Promise<Socket>((r) => (serverSide = r));
    const spy = (req: { socket: Socket }): boolean => (serverSide(req.socket), false);
    const { http } = await start({ models: [{ name: 'big', inputs, outputs: [] }], handlers: [spy] });
    const s = connect(...http);
    s.on('error', () => undefined);
    let received = 0;
    s.once('data', (b: Buffer) => {
      received += b.length;
      s.pause(); // one chunk, then never read again
    });
    s.write('GET /v2/models/big HTTP/1.1\r\nHost: x\r\n\r\n');
    const server = await serverSocket;
    await new Promise<void>((resolve) => (server.destroyed ? resolve() : server.once('close', () => resolve())));
    s.destroy();
    expect(received).toBeGreaterThan(0);
  }, 60_000);
});

describe('HTTP: a request that runs longer than idleTimeoutMs', () => {
  it('is answered: the clock stops while the node works', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let submitted!: () => void;
    const seen = new Promise<void>((r) => (submitted = r));
    const node = echoNode(hold.then(() => undefined));
    const submit = node.submit.bind(node);
    const { http } = await start({ node: { ...node, submit: (...a: Parameters<typeof submit>) => (submitted(), submit(...a)) } });
    const s = connect(...http);
    const answer = untilClosed(s);
    s.write(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${jsonBody.length}\r\n\r\n${jsonBody}`);
    await seen;
    await new Promise((r) => setTimeout(r, IDLE_MS * 4));
    release();
    expect(await answer).toMatch(/^HTTP\/1\.1 200 /);
  }, 30_000);
});

/** ModelInferRequest { model_name: "m", inputs: [{ name: "x", datatype: "FP32", shape: [1, 2] }], raw_input_contents: [[1, 2]] }, framed. */
function inferFrame(): Buffer {
  const input = Buffer.from([0x0a, 1, 0x78, 0x12, 4, ...Buffer.from('FP32'), 0x1a, 2, 1, 2]);
  const raw = Buffer.from(new Float32Array([1, 2]).buffer);
  const message = Buffer.concat([Buffer.from([0x0a, 1, 0x6d, 0x2a, input.length]), input, Buffer.from([0x3a, raw.length]), raw]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** Opens a ModelInfer call; resolves with its grpc-status and message (headers of a trailers-only answer, or trailers). */
function grpcCall(address: string): { stream: ClientHttp2Stream; status: Promise<{ status: string | undefined; message: string }>; close(): void } {
  const session = connectH2(`http://${address}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  stream.resume();
  const status = new Promise<{ status: string | undefined; message: string }>((resolve) => {
    const done = (h: IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) resolve({ status: String(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
    };
    stream.on('response', done);
    stream.on('trailers', done);
    stream.once('close', () => resolve({ status: undefined, message: '' }));
  });
  return { stream, status, close: () => session.destroy() };
}

describe('gRPC', () => {
  it('a message that stops arriving ends DEADLINE_EXCEEDED after idleTimeoutMs without a frame', async () => {
    const { grpc } = await start();
    const call = grpcCall(grpc);
    try {
      call.stream.write(inferFrame().subarray(0, 8));
      expect(await call.status).toEqual({ status: '4', message: 'the request message made no progress for 300 ms' });
    } finally {
      call.close();
    }
  }, 30_000);

  it('a message that keeps arriving, slower in total than idleTimeoutMs, is answered', async () => {
    const { grpc } = await start({ idleTimeoutMs: TRICKLE_IDLE_MS });
    const call = grpcCall(grpc);
    try {
      const frame = inferFrame();
      await trickle(call.stream, frame.subarray(0, 12), TRICKLE_GAP_MS);
      call.stream.end(frame.subarray(12));
      expect(await call.status).toEqual({ status: '0', message: '' });
    } finally {
      call.close();
    }
  }, 60_000);

  it('a call that runs longer than idleTimeoutMs is answered', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const { grpc } = await start({ node: echoNode(hold) });
    const call = grpcCall(grpc);
    try {
      call.stream.end(inferFrame());
      await new Promise((r) => setTimeout(r, IDLE_MS * 4));
      release();
      expect(await call.status).toEqual({ status: '0', message: '' });
    } finally {
      call.close();
    }
  }, 30_000);
});
