import { Agent, request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { echoGatewayForFile } from './raw-socket-fixture.js';

/*
 * A path with an empty segment (repeated slashes: `//v2/health/ready`, `/v2/models/m/versions//ready`) names no
 * route. Neither Triton (its routes are regular expressions over the path as sent: no match, its no-route answer)
 * nor KServe's server (Starlette: 404) merges slashes, so the gateway does not either: every such path is a 404
 * `NOT_FOUND` whose message names the path without the empty segments, on a connection that stays usable. Before,
 * some were routes with an empty parameter (`/v2/models/m/versions//ready` answered as `/v2/models/m/ready`), and
 * `GET /v2/models/m/versions/` was a 405 saying GET is not allowed while `Allow` listed it.
 */

const fixture = echoGatewayForFile();
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
afterAll(() => agent.destroy());

function call(method: string, path: string, body = ''): Promise<{ status: number; allow: string | undefined; body: string; socket: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: fixture.port, method, path, agent, headers: { 'content-length': Buffer.byteLength(body), 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers['allow'], body: text, socket: req.socket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const INFER = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });

describe('a path with an empty segment', () => {
  const cases: [string, string, string][] = [
    ['GET', '//v2/health/ready', '/v2/health/ready'],
    ['GET', '/v2//health/live', '/v2/health/live'],
    ['GET', '/v2/models//m', '/v2/models/m'],
    ['GET', '/v2/models/m//ready', '/v2/models/m/ready'],
    ['GET', '/v2/models/m/versions//ready', '/v2/models/m/versions/ready'],
    ['GET', '/v2/models/m/versions//config?x=1', '/v2/models/m/versions/config'],
    ['HEAD', '//v2', '/v2'],
    ['OPTIONS', '/v2/models/m//infer', '/v2/models/m/infer'],
    ['POST', '//v2/models/m/infer', '/v2/models/m/infer'],
    ['POST', '/v2/models/m/versions//infer', '/v2/models/m/versions/infer'],
    ['POST', '/v2/repository//index', '/v2/repository/index'],
  ];
  it.each(cases)('%s %s is a 404 naming %s', async (method, path, merged) => {
    const a = await call(method, path, method === 'POST' ? INFER : '');
    expect(a.status, a.body).toBe(404);
    if (method === 'HEAD') return;
    const body = JSON.parse(a.body) as { error: string; code: string };
    expect(body.code).toBe('NOT_FOUND');
    expect(body.error).toContain('repeated slashes');
    expect(body.error).toContain(merged);
  });

  it('keeps the connection for the next request', async () => {
    const refused = await call('POST', '//v2/models/m/infer', INFER);
    const next = await call('POST', '/v2/models/m/infer', INFER);
    expect([refused.status, next.status]).toEqual([404, 200]);
    expect(next.socket).toBe(refused.socket);
  });

  it('a version segment left empty at the end is no route, not a 405 that allows the method it refuses', async () => {
    for (const method of ['GET', 'OPTIONS']) {
      const a = await call(method, '/v2/models/m/versions/');
      expect([method, a.status, a.allow]).toEqual([method, 404, undefined]);
    }
    expect((await call('GET', '/v2/models/m/versions/1/')).status).toBe(200);
  });
});
