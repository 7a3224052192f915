import { connect as connectHttp2 } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { ClusterView, NamedTensors } from '@epara/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from './gateway.js';
import type { Gateway } from './gateway.js';

/*
 * More connections than `maxConnections`: each past the bound is refused in the protocol's terms (HTTP 503
 * OVERLOADED, gRPC UNAVAILABLE with epara-code OVERLOADED) and closed; once one of those served closes, a new one
 * is served again. Before, nothing bounded them: past the process's open-file limit the system closed new
 * connections unanswered.
 */

const node = { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: (_s: string, inputs: NamedTensors) => Promise.resolve(inputs) };
let gateway: Gateway;
let http: { host: string; port: number };
let grpc: string;

beforeAll(async () => {
  gateway = createGateway({ node, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [] }], http: { port: 0 }, grpc: { port: 0 }, maxConnections: 2 });
  const a = await gateway.start();
  const url = new URL(a.http!);
  http = { host: url.hostname, port: Number(url.port) };
  grpc = a.grpc!;
});
afterAll(() => gateway.close());

/** Opens a connection and sends one request for `/v2/health/live` on it; resolves with the answer's text. */
function open(): { socket: Socket; answer: Promise<string>; closed: Promise<void> } {
  const socket = connect(http.port, http.host);
  let text = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (b: Buffer) => {
      text += b.toString();
      if (/\r\n\r\n[\s\S]*\}$/.test(text)) resolve(text);
    });
    socket.once('close', () => resolve(text));
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, answer, closed };
}

const ask = (c: { socket: Socket }): void => void c.socket.write(`GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n`);

describe('maxConnections', () => {
  it('HTTP: a connection past the bound has its request answered 503 OVERLOADED and is closed; a freed place serves again', async () => {
    const [a, b] = [open(), open()];
    ask(a);
    ask(b);
    expect(await a.answer).toMatch(/^HTTP\/1\.1 200/);
    expect(await b.answer).toMatch(/^HTTP\/1\.1 200/);
    const over = open();
    const silent = open(); // sends nothing: closed after a second
    ask(over);
    const refused = await over.answer;
    expect(refused).toMatch(/^HTTP\/1\.1 503/);
    expect(refused).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(refused).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4))).toEqual({ error: expect.stringMatching(/too many connections: .* at most 2 .*gateway\.maxConnections/), code: 'OVERLOADED' });
    await over.closed;
    await silent.closed;
    // The two served are still served on their connections, and a place freed is taken by the next.
    b.socket.destroy();
    await b.closed;
    // (The server hears of the close after the client: until then a new one is still past the bound, and retries.)
    let c = open();
    ask(c);
    while ((await c.answer).startsWith('HTTP/1.1 503')) {
      c = open();
      ask(c);
    }
    expect(await c.answer).toMatch(/^HTTP\/1\.1 200/);
    for (const x of [a, c]) x.socket.destroy();
  });

  it('gRPC: a call on a connection past the bound is refused UNAVAILABLE, epara-code OVERLOADED, and the connection closed', async () => {
    const sessions: ClientHttp2Session[] = [];
    const call = async (): Promise<{ headers: IncomingHttpHeaders; session: ClientHttp2Session }> => {
      const session = connectHttp2(`http://${grpc}`);
      session.on('error', () => undefined);
      sessions.push(session);
      const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ServerLive', 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => undefined);
      stream.end(Buffer.alloc(5)); // an empty message
      const headers = await new Promise<IncomingHttpHeaders>((resolve) => {
        let first: IncomingHttpHeaders = {};
        stream.on('response', (h) => (first = h));
        stream.on('trailers', (h) => resolve({ ...first, ...h }));
        stream.on('close', () => resolve(first));
        stream.resume();
      });
      return { headers, session };
    };
    const one = await call();
    const two = await call();
    expect([one.headers['grpc-status'], two.headers['grpc-status']]).toEqual(['0', '0']);
    const over = await call();
    expect(over.headers).toMatchObject({ 'grpc-status': '14', 'epara-code': 'OVERLOADED', 'retry-after': '1' });
    expect(decodeURIComponent(String(over.headers['grpc-message']))).toMatch(/too many connections: .* at most 2/);
    await new Promise<void>((resolve) => (over.session.closed ? resolve() : over.session.once('close', () => resolve())));
    one.session.destroy();
    await new Promise((r) => one.session.once('close', r));
    let again = await call();
    while (again.headers['epara-code'] === 'OVERLOADED') again = await call(); // until the server heard of the close
    expect(again.headers['grpc-status']).toBe('0');
    for (const s of sessions) s.destroy();
  });
});
