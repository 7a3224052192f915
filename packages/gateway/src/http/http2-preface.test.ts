import { connect, constants } from 'node:http2';
import { describe, expect, it } from 'vitest';
import { echoGatewayForFile } from './raw-socket-fixture.js';

/*
 * An HTTP/2 client that connects to the HTTP/1.1 port with prior knowledge (`curl --http2-prior-knowledge`, a gRPC
 * client pointed at the REST port) sends the HTTP/2 preface. node:http cannot parse it, and the gateway answered
 * it with an HTTP/1.1 400, bytes an HTTP/2 client reads as a broken frame ("empty reply", "protocol error"). It
 * now answers in HTTP/2: a GOAWAY with HTTP_1_1_REQUIRED (RFC 9113 §7) whose debug data says what this port speaks.
 */

const fixture = echoGatewayForFile();

describe('the HTTP/2 preface on the HTTP/1.1 port', () => {
  it('is answered with GOAWAY HTTP_1_1_REQUIRED saying the port speaks HTTP/1.1, and the request fails', async () => {
    const session = connect(`http://127.0.0.1:${fixture.port}`);
    session.on('error', () => undefined);
    const goaway = new Promise<{ code: number; debug: string }>((resolve) => session.once('goaway', (code: number, _last: number, data?: Buffer) => resolve({ code, debug: data?.toString() ?? '' })));
    const req = session.request({ ':path': '/v2/health/ready' });
    const failed = new Promise<unknown>((resolve) => {
      req.once('error', resolve);
      req.once('close', () => resolve('closed'));
      req.once('response', () => resolve('answered'));
    });
    req.end();
    const g = await goaway;
    expect(g.code).toBe(constants.NGHTTP2_HTTP_1_1_REQUIRED);
    expect(g.debug).toMatch(/HTTP\/1\.1/);
    expect(await failed).not.toBe('answered');
    session.destroy();
  });
});
