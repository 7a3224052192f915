import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierConfig, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

// `epara serve` mounts the live dashboard on its HTTP port; with a PSK on the node it is served only behind the
// token named by dashboard.tokenEnv (here the test's PSK variable, 24 characters).
describe('epara serve: the dashboard on the gateway', () => {
  let serve: ServeProcess;
  const token = 'test-psk-0123456789abcdef';
  beforeAll(async () => {
    serve = await startServe(classifierConfig({ extra: 'dashboard: { tokenEnv: EPARA_TEST_PSK }' }));
  }, 90_000);
  afterAll(() => serve?.kill());

  it('refuses the page and its data without the token', async () => {
    expect((await fetch(`${serve.http}/dashboard`)).status).toBe(401);
    expect((await fetch(`${serve.http}/dashboard/snapshot.json`)).status).toBe(401);
  });

  it('serves the page and a snapshot of this node with the token, beside the protocol routes', async () => {
    const page = await fetch(`${serve.http}/dashboard`, { headers: { authorization: `Bearer ${token}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const snapshot = await fetch(`${serve.http}/dashboard/snapshot.json`, { headers: { authorization: `Bearer ${token}` } });
    expect(snapshot.status).toBe(200);
    expect(JSON.stringify(await snapshot.json())).toContain('edge-1');
    expect((await fetch(`${serve.http}/v2/health/live`)).status).toBe(200);
  });

  it('answers a request target that is no URL (GET //[) and stays up: it used to crash the process', async () => {
    const { connect } = await import('node:net');
    const url = new URL(serve.http);
    const socket = connect(Number(url.port), url.hostname);
    let got = '';
    socket.on('data', (b: Buffer) => (got += b.toString()));
    socket.on('error', () => undefined);
    socket.write('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await new Promise<void>((r) => socket.once('close', () => r()));
    expect(got).toMatch(/^HTTP\/1\.1 404 [^]*"code":"NOT_FOUND"/);
    expect((await fetch(`${serve.http}/v2/health/live`)).status).toBe(200);
    expect(serve.output()).not.toMatch(/Invalid URL/);
  });

  it('drains and exits on SIGTERM while a browser keeps the live event stream open', async () => {
    // The event stream never ends by itself: before, the HTTP server waited for it and SIGTERM never finished.
    const ended = new Promise<void>((resolve, reject) => {
      const req = get(`${serve.http}/dashboard/events`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', () => serve.child.kill('SIGTERM'));
        res.on('error', () => resolve());
        res.on('close', () => resolve());
        res.resume();
      });
      req.on('error', reject);
    });
    await ended;
    expect(await serve.exited).toBe(0);
    expect(serve.output()).toContain('"event":"stopped"');
  }, 60_000);
});
