import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboard, mountDashboard, resolveDashboardOptions } from '@epara/dashboard';
import type { Dashboard, TickMessage } from '@epara/dashboard';
import { closeAll, input, startCluster, until } from '../mesh/helpers.js';
import type { ClusterNode } from '../mesh/helpers.js';
import { readEvents } from './sse.js';

const TOKEN = 'a-dashboard-token-of-some-length';

let cluster: ClusterNode[] = [];
let server: Server | undefined;
let dashboard: Dashboard | undefined;
afterEach(async () => {
  dashboard?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await closeAll(cluster);
  cluster = [];
  server = undefined;
  dashboard = undefined;
});

async function serve(d: Dashboard): Promise<string> {
  dashboard = d;
  server = createServer((req, res) => {
    if (!d.handle(req, res)) res.writeHead(404).end('host');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const a = server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

describe('dashboard options', () => {
  it('requires credentials for a node that authenticates its peers, and names bad fields', async () => {
    cluster = await startCluster({ size: 1, kind: 'memory', hosted: [] });
    const node = cluster[0]!.node;
    expect(() => resolveDashboardOptions({ node })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'auth' }) }));
    expect(resolveDashboardOptions({ node, auth: false }).auth).toBe(false);
    expect(() => resolveDashboardOptions({ node, auth: { token: 'short' } })).toThrow(/auth\.token/);
    expect(() => resolveDashboardOptions({ node, auth: { username: 'ops', password: 'x' } })).toThrow(/auth\.password/);
    expect(() => resolveDashboardOptions({ node, auth: false, prefix: 'dash/' })).toThrow(/prefix/);
    expect(() => resolveDashboardOptions({ node, auth: false, intervalMs: 5000 })).toThrow(/intervalMs/);
    expect(() => resolveDashboardOptions({ node: {} as never })).toThrow(/node/);
  });
});

describe('dashboard over HTTP', () => {
  it('with a token: nothing without it, a session cookie after ?token=, bearer works, read-only', async () => {
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [1] });
    const base = await serve(createDashboard({ node: cluster[0]!.node, auth: { token: TOKEN }, intervalMs: 200 }));

    const page = await fetch(`${base}/dashboard`);
    expect(page.status).toBe(401);
    const body = await page.text();
    expect(body).toContain('token');
    expect(body).not.toMatch(/n0|n1|echo/);
    expect((await fetch(`${base}/dashboard/events`)).status).toBe(401);
    expect((await fetch(`${base}/dashboard/snapshot.json`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    // Static assets carry no cluster data and are public (the sign-in page uses the styles).
    expect((await fetch(`${base}/dashboard/app.css`)).status).toBe(200);

    const signIn = await fetch(`${base}/dashboard?token=${TOKEN}`, { redirect: 'manual' });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe('/dashboard');
    const cookie = signIn.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).not.toContain(TOKEN);
    const withCookie = await fetch(`${base}/dashboard`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(withCookie.status).toBe(200);
    expect(withCookie.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await withCookie.text()).not.toMatch(/https?:\/\//);

    const snap = await fetch(`${base}/dashboard/snapshot.json`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(snap.status).toBe(200);
    const json = (await snap.json()) as { tick: TickMessage };
    expect(json.tick.nodes.map((n) => n.id)).toEqual(['n0', 'n1']);

    expect((await fetch(`${base}/dashboard/events`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
    expect((await fetch(`${base}/dashboard/nope`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    expect((await fetch(`${base}/dashboardx`)).status).toBe(404);
    expect(await (await fetch(`${base}/elsewhere`)).text()).toBe('host');
  });

  it('with basic auth: challenges, then streams history and live ticks with completions, drops and instances', async () => {
    cluster = await startCluster({ size: 2, kind: 'memory', hosted: [1] });
    const base = await serve(createDashboard({ node: cluster[0]!.node, auth: { username: 'ops', password: 'correct horse' }, intervalMs: 200 }));
    const denied = await fetch(`${base}/dashboard/events`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await fetch(`${base}/dashboard`, { headers: { authorization: `Basic ${btoa('ops:wrong password')}` } })).status).toBe(401);

    await until(() => Object.values(cluster[0]!.node.view().entries).some((e) => e.instances.length > 0), 'n0 sees the instance on n1');
    for (let i = 0; i < 5; i++) await cluster[0]!.node.submit('echo', input([i]), { deadline: Date.now() + 1000 });
    await expect(cluster[0]!.node.submit('echo', input([1]), { deadline: Date.now() })).rejects.toMatchObject({ code: 'DEADLINE_INFEASIBLE' });

    const res = await fetch(`${base}/dashboard/events`, { headers: { authorization: `Basic ${btoa('ops:correct horse')}` } });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = await readEvents(res, (ev) => ev.filter((e) => e.event === 'tick').length >= 2);
    expect(events[0]!.event).toBe('history');
    const ticks = events.filter((e) => e.event === 'tick').map((e) => e.data as TickMessage);
    const all = [...(events[0]!.data as { points: TickMessage['point'][] }).points, ...ticks.map((t) => t.point)];
    const echo = all.map((p) => p.values['echo']).filter((v) => v !== undefined);
    const sum = (f: (v: NonNullable<(typeof echo)[number]>) => number): number => echo.reduce((s, v) => s + f(v!), 0);
    // Five good requests and one infeasible one, as rates over ~200 ms intervals (exact arithmetic: collect.test.ts).
    expect(sum((v) => v.goodput)).toBeGreaterThan(0);
    expect(sum((v) => v.drops['DEADLINE_INFEASIBLE'] ?? 0)).toBeGreaterThan(0);
    expect(sum((v) => v.drops['DEADLINE_INFEASIBLE'] ?? 0)).toBeLessThan(sum((v) => v.goodput));
    const last = ticks[ticks.length - 1]!;
    expect(last.nodes.find((n) => n.id === 'n1')!.devices.flatMap((d) => d.instances.map((i) => i.serviceId))).toEqual(['echo']);
    expect(last.series.map((s) => s.key)).toContain('echo');
    expect(dashboard!.clients).toBeLessThanOrEqual(1);
  });

  it('mountDashboard serves the dashboard beside the host routes and close() restores them', async () => {
    cluster = await startCluster({ size: 1, kind: 'memory', hosted: [0] });
    server = createServer((_req, res) => res.writeHead(200).end('host route'));
    const d = mountDashboard(server, { node: cluster[0]!.node, auth: { token: TOKEN }, prefix: '/ops/dash' });
    dashboard = d;
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const a = server.address();
    const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    expect(d.prefix).toBe('/ops/dash');
    expect(await (await fetch(`${base}/api`)).text()).toBe('host route');
    expect((await fetch(`${base}/ops/dash`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    d.close();
    expect(await (await fetch(`${base}/ops/dash`)).text()).toBe('host route');
  });

  it('leaves a request target that is not a URL (//[) to the host rather than throwing out of handle()', async () => {
    cluster = await startCluster({ size: 1, kind: 'memory', hosted: [] });
    const d = createDashboard({ node: cluster[0]!.node, auth: false });
    dashboard = d;
    // What node:http hands over for `GET //[ HTTP/1.1`: not a path the URL parser reads against a base.
    for (const url of ['//[', '//[/dashboard', 'http://[']) {
      const req = { url, method: 'GET', headers: {} } as unknown as Parameters<Dashboard['handle']>[0];
      const res = { writeHead: () => res, end: () => res, headersSent: false } as unknown as Parameters<Dashboard['handle']>[1];
      expect(d.handle(req, res), url).toBe(false);
    }
    // Over a socket, the host answers it.
    const base = await serve(d);
    const { connect } = await import('node:net');
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    let got = '';
    socket.on('data', (b: Buffer) => (got += b.toString()));
    socket.write('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await new Promise<void>((r) => socket.once('close', () => r()));
    expect(got).toMatch(/^HTTP\/1\.1 404 [^]*\r\nhost\r\n/);
  });
});
