import { connect as connectH2 } from 'node:http2';
import { connect } from 'node:net';
import type { ClusterView, NamedTensors } from '@epara/core';
import { expect, it } from 'vitest';
import { createGateway } from './gateway.js';

/*
 * Closing does not wait on a client that is still sending its request: its body (HTTP) or message (gRPC) will
 * not be served, so it is answered "unavailable, retry" at once and its connection closed, instead of holding
 * the shutdown until requestTimeoutMs (5 minutes by default) ends it.
 */

it('answers requests still arriving with a retryable 503 / UNAVAILABLE on close, without waiting for them', async () => {
  const node = { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: (_s: string, inputs: NamedTensors) => Promise.resolve({ y: inputs['x']! }) };
  const gateway = createGateway({ node, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [] }], http: { port: 0 }, grpc: { port: 0 } });
  const a = await gateway.start();
  const url = new URL(a.http!);
  const socket = connect(Number(url.port), url.hostname);
  const httpAnswer = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (b: Buffer) => (text += b.toString()));
    socket.on('close', () => resolve(text));
  });
  socket.write('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"inputs":');
  const session = connectH2(`http://${a.grpc!}`);
  session.on('error', () => undefined);
  const grpcAnswer = new Promise<string | undefined>((resolve) => {
    const req = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers' });
    let status: string | undefined;
    req.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
    req.on('trailers', (t) => (status ??= t['grpc-status'] as string | undefined));
    req.on('error', () => undefined);
    req.on('close', () => resolve(status));
    req.write(Buffer.from([0, 0, 0, 0, 50, 1, 2])); // a 50-byte message, 2 bytes of it sent
  });
  try {
    // Both requests reached the gateway before it closes. The gRPC one is known to have arrived once the server
    // acknowledged a PING sent after it; a PING sent while the session is still connecting is cancelled at once
    // (node:http2 does not queue it), which proved nothing and let close() run before the call reached the server.
    while (gateway.stats().httpAccepted < 1) await new Promise((r) => setImmediate(r));
    if (session.connecting) await new Promise((resolve) => session.once('connect', resolve));
    await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
    await gateway.drain();
    await gateway.close();
    expect(await httpAnswer).toMatch(/^HTTP\/1\.1 503 [^]*retry-after: 1[^]*"code":"CLOSED"/i);
    expect(await grpcAnswer).toBe('14'); // UNAVAILABLE
  } finally {
    socket.destroy();
    session.destroy();
    await gateway.close();
  }
}, 20_000);
