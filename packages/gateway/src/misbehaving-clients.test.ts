import { connect as connectH2 } from 'node:http2';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { AbortSignalLike, ClusterView, NamedTensors } from '@epara/core';
import { EparaError } from '@epara/core';
import { afterEach, expect, it } from 'vitest';
import { createGateway } from './gateway.js';
import type { Gateway } from './gateway.js';

/*
 * Clients that misbehave once their request is in: one that goes away while its request runs (the request is
 * aborted inside and settles), and one that stops reading a large answer (its connection is not held for ever).
 */

let gateway: Gateway | undefined;
afterEach(() => gateway?.close());

/** A node whose submits wait for `release` or for their signal, reporting each abort. */
function holdingNode(): { node: Parameters<typeof createGateway>[0]['node']; submitted: Promise<AbortSignalLike>; aborted: Promise<void> } {
  let onSubmit!: (s: AbortSignalLike) => void;
  let onAbort!: () => void;
  const submitted = new Promise<AbortSignalLike>((r) => (onSubmit = r));
  const aborted = new Promise<void>((r) => (onAbort = r));
  const node = {
    id: 'n1',
    view: () => ({ entries: {} }) as unknown as ClusterView,
    submit: (_s: string, _inputs: NamedTensors, o?: { signal?: AbortSignalLike }): Promise<NamedTensors> =>
      new Promise((_resolve, reject) => {
        o!.signal!.addEventListener('abort', () => (onAbort(), reject(new EparaError('ABORTED', 'the caller went away'))), { once: true });
        onSubmit(o!.signal!);
      }),
  };
  return { node, submitted, aborted };
}

function post(port: number, body: string): Socket {
  const socket = connect(port, '127.0.0.1');
  socket.write(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  return socket;
}

const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });

it('a client that disconnects while its request runs has it aborted in the node, and nothing is left in flight', async () => {
  const { node, submitted, aborted } = holdingNode();
  gateway = createGateway({ node, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { port: 0 }, grpc: false });
  const port = Number(new URL((await gateway.start()).http!).port);
  const socket = post(port, body);
  await submitted;
  expect(gateway.inFlight).toBe(1);
  socket.destroy();
  await aborted;
  // The submit's rejection reaches the gateway on the next turns; drain() resolves once nothing is in flight.
  await gateway.drain({ timeoutMs: 60_000 });
  expect(gateway.inFlight).toBe(0);
  await new Promise((r) => setImmediate(r)); // the route's answer to the aborted request follows in the same turn
  expect(gateway.stats().httpAccepted).toBe(gateway.stats().httpAnswered);
});

it('a client that stops reading a large answer has its connection closed after idleTimeoutMs instead of held', async () => {
  const big = new Float32Array(4 * 1024 * 1024); // 16 MiB of output, more than socket buffers hold
  const node = { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: (): Promise<NamedTensors> => Promise.resolve({ y: { type: 'float32', dims: [1, big.length], data: big } }) };
  // The server's side of the connection, seen by a handler that lets every request through.
  let serverSide!: (s: Socket) => void;
  const serverSocket = new Promise<Socket>((r) => (serverSide = r));
  const spy = (req: { socket: Socket }): boolean => (serverSide(req.socket), false);
  gateway = createGateway({ node, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { port: 0 }, grpc: false, idleTimeoutMs: 200, handlers: [spy] });
  const port = Number(new URL((await gateway.start()).http!).port);
  const binary = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }], parameters: { binary_data_output: true } });
  const socket = post(port, binary);
  let received = 0;
  socket.once('data', (b: Buffer) => {
    received += b.length;
    socket.pause(); // reads one chunk of the answer, then never again
  });
  socket.on('error', () => undefined);
  const server = await serverSocket;
  // The server gives up on the connection (before: it held the rest of the answer for ever).
  await new Promise<void>((resolve) => (server.destroyed ? resolve() : server.once('close', () => resolve())));
  socket.destroy();
  expect(received).toBeGreaterThan(0);
  expect(received).toBeLessThan(big.byteLength);
  expect(gateway.inFlight).toBe(0);
}, 60_000);

it('a gRPC client that stops reading a large answer has its stream reset after idleTimeoutMs instead of held', async () => {
  const big = new Float32Array(4 * 1024 * 1024);
  const node = { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: (): Promise<NamedTensors> => Promise.resolve({ y: { type: 'float32', dims: [1, big.length], data: big } }) };
  gateway = createGateway({ node, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: false, grpc: { port: 0 }, idleTimeoutMs: 200 });
  const address = (await gateway.start()).grpc!;
  // A small window, never opened further: the client reads nothing of the answer.
  const session = connectH2(`http://${address}`, { settings: { initialWindowSize: 65_535 } });
  session.on('error', () => undefined);
  try {
    // ModelInferRequest { model_name: "m", inputs: [{ name: "x", datatype: "FP32", shape: [1, 2] }], raw_input_contents: [8 bytes] }
    const input = Buffer.from([0x0a, 1, 0x78, 0x12, 4, ...Buffer.from('FP32'), 0x1a, 2, 1, 2]);
    const raw = Buffer.from(new Float32Array([1, 2]).buffer);
    const message = Buffer.concat([Buffer.from([0x0a, 1, 0x6d, 0x2a, input.length]), input, Buffer.from([0x3a, raw.length]), raw]);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(message.length, 1);
    const req = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.pause();
    const reset = new Promise<number>((resolve) => req.once('close', () => resolve(req.rstCode)));
    req.end(Buffer.concat([prefix, message]));
    expect(await reset).toBe(8); // NGHTTP2_CANCEL from the server (before: the stream stayed open for ever)
    expect(gateway.inFlight).toBe(0);
  } finally {
    session.destroy();
  }
}, 60_000);
