import { connect } from 'node:net';
import { expect, it } from 'vitest';
import { echoGatewayForFile } from './raw-socket-fixture.js';

/*
 * A request whose Transfer-Encoding does not end in `chunked` has no length a server can read (RFC 9112 §6.3:
 * it MUST answer 400 and close the connection). It was read until the client closed, so the client, waiting for
 * its answer, waited for idleTimeoutMs (5 minutes by default) instead.
 */

const gateway = echoGatewayForFile();

/** Sends `bytes` (without closing its side) and resolves with what the server wrote once it closed the connection. */
function exchange(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(gateway.port, '127.0.0.1');
    let got = '';
    socket.on('data', (b: Buffer) => (got += b.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(got));
    socket.write(bytes);
  });
}

const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });

it.each([
  ['POST /v2/models/m/infer', 'gzip'],
  ['POST /v2/models/m/infer', 'xchunked'],
  ['POST /v2/repository/index', 'foo'],
  ['GET /v2/health/ready', 'identity'],
])('%s with Transfer-Encoding: %s is a 400 at once, and the connection closes', async (line, te) => {
  const got = await exchange(`${line} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\n\r\n${body}`);
  expect(got).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  expect(got).toMatch(/\r\nconnection: close\r\n/i);
  const json = JSON.parse(got.slice(got.indexOf('\r\n\r\n') + 4)) as { error: string; code: string };
  expect(json).toEqual({ error: `Transfer-Encoding "${te}" does not end in chunked: the request body has no length to read (RFC 9112, section 6.3)`, code: 'INVALID_INPUT' });
});

it('still reads a chunked body, with other codings before chunked', async () => {
  const got = await exchange(`POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
  expect(got).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
});
