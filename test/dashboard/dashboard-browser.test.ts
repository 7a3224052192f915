import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, HAVE_CHROMIUM, launchChromium, listenLocal } from './browser.js';
import type { BrowserContext, Page } from 'playwright-core';
import { mountDashboard } from '@epara/dashboard';
import type { Dashboard } from '@epara/dashboard';
import { SERVICES, startWsCluster, tensor, until } from './cluster.js';
import type { TestNode } from './cluster.js';

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const DOCS_IMAGE = fileURLToPath(new URL('../../docs/images/dashboard.png', import.meta.url));
const TOKEN = 'dashboard-test-token-0123456789';

if (!HAVE_CHROMIUM) {
  console.warn(`[dashboard] SKIPPED the browser test: Chromium is not installed at ${CHROMIUM} (apt-get install chromium, or set EPARA_CHROMIUM)`);
}

/** Offered load at every node: mostly feasible requests, a few with impossible deadlines (they show as drops). */
function startLoad(nodes: readonly TestNode[]): () => Promise<void> {
  let stopped = false;
  const inFlight = new Set<Promise<unknown>>();
  let n = 0;
  const timer = setInterval(() => {
    if (stopped) return;
    for (const [i, c] of nodes.entries()) {
      for (const serviceId of i === 1 ? ['detect'] : i === 0 ? ['classify', 'detect'] : ['detect', 'classify']) {
        n += 1;
        const budget = n % 23 === 0 ? 1 : serviceId === 'detect' ? 150 : 80;
        const p = c.node.submit(serviceId, tensor(n), { deadline: Date.now() + budget }).catch(() => undefined);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
    }
  }, 40);
  // A 15 Hz video stream entering at n0, the node whose page is open (pinned wherever placement put video).
  const video = nodes[0]!.node.openStream('video', { rateHz: 15 });
  const frames = setInterval(() => void video.then((s) => s.push(tensor(1))).catch(() => undefined), 66);
  const drained = video.then(async (s) => {
    for await (const _ of s) if (stopped) break;
  }).catch(() => undefined);
  // Stops submitting; the returned promise settles once every submit has (a frozen node's only when it closes).
  return () => {
    stopped = true;
    clearInterval(timer);
    clearInterval(frames);
    const closed = video.then((s) => s.close()).catch(() => undefined);
    return Promise.allSettled([...inFlight, closed, drained]).then(() => undefined);
  };
}

describe.skipIf(!HAVE_CHROMIUM)('dashboard in headless Chromium', () => {
  let nodes: TestNode[] = [];
  let server: Server;
  let dashboard: Dashboard;
  let context: BrowserContext;
  let page: Page;
  let stopLoad: () => Promise<void> = async () => undefined;
  let profile = '';
  let base = '';

  beforeAll(async () => {
    nodes = await startWsCluster(3);
    server = createServer((_req, res) => res.writeHead(404).end('host route'));
    dashboard = mountDashboard(server, { node: nodes[0]!.node, auth: { token: TOKEN }, services: SERVICES });
    base = await listenLocal(server);
    ({ context, profile } = await launchChromium('epara-dashboard-chromium-', { width: 1440, height: 900 }));
    page = context.pages()[0] ?? (await context.newPage());
    // Self-contained: any request that leaves the host server is a failure.
    await page.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
  }, 60_000);

  afterAll(async () => {
    const settled = stopLoad();
    await context?.close();
    dashboard?.close();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await Promise.all(nodes.map((c) => c.node.close()));
    await settled;
    if (profile) rmSync(profile, { recursive: true, force: true });
  }, 60_000);

  it('shows the three nodes and their placed instances live, then a killed node as suspected or dead', async () => {
    const external: string[] = [];
    page.on('requestfailed', (r) => (r.url().startsWith(base) ? undefined : external.push(r.url())));

    // Without the token the page asks for it and shows nothing of the cluster.
    const denied = await page.goto(`${base}/dashboard`);
    expect(denied?.status()).toBe(401);
    expect(await page.content()).not.toContain('n1');

    await until(() => placedEverywhere(nodes), 'placement made every service ready', 20_000);
    stopLoad = startLoad(nodes);
    await page.goto(`${base}/dashboard?token=${TOKEN}`);
    expect(page.url()).toBe(`${base}/dashboard`);

    // Live: the tick counter keeps rising without a reload.
    await waitTicks(page, 2, 10_000);
    const t0 = await ticks(page);
    await waitTicks(page, t0 + 2, 5_000);

    for (const id of ['n0', 'n1', 'n2']) await expect(page.locator(`[data-node="${id}"][data-health="alive"]`).count()).resolves.toBe(1);
    const placed = nodes.flatMap((c) => c.executor.instances().filter((i) => i.status === 'ready').map((i) => ({ node: c.id, id: i.instanceId, serviceId: i.serviceId })));
    expect(placed.length).toBeGreaterThan(0);
    for (const p of placed) await page.waitForSelector(`[data-node="${p.node}"] [data-instance="${p.id}"]`, { timeout: 5_000 });
    for (const p of placed) await expect(page.locator(`[data-node="${p.node}"] [data-instance="${p.id}"]`).textContent()).resolves.toContain(p.serviceId);
    await expect(page.locator('[data-series="detect"] canvas').count()).resolves.toBeGreaterThan(0);
    // Where placement left a node without a service it receives, its requests are offloaded and the flow matrix
    // shows a non-zero rate. (Whether it does depends on the placement objective: valued by offered load, every
    // node here may host both services, and then nothing needs offloading at this load.)
    await page.waitForSelector('.matrix', { timeout: 10_000 });
    // The matrix is this dashboard's node's (n0's) flows, averaged over its last intervals: when n0 sends or
    // receives a request within two updates of the page under load, the matrix shows it. (Counting every node's
    // offloads since the start, an offload between n1 and n2 alone asked n0's matrix for a flow it never saw.)
    const n0 = (): number => nodes[0]!.node.stats().offloaded + nodes[0]!.node.stats().received;
    const flowsBefore = n0();
    await waitTicks(page, (await ticks(page)) + 2, 10_000);
    if (n0() > flowsBefore) await page.waitForSelector('.matrix td.hot', { timeout: 10_000 });

    // Let the charts fill, then keep a picture of the live cluster.
    await waitTicks(page, t0 + 12, 30_000);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live.png'), fullPage: true });

    // Kill n1 (it hosts an instance) the way a machine dies: its executor stops answering, its sockets go away.
    // The page shows it within 5 s (the wait's bound; no duration is asserted besides).
    nodes[1]!.executor.freeze();
    await nodes[1]!.transport.close();
    await page.waitForSelector('[data-node="n1"]:is([data-health="suspected"], [data-health="dead"])', { timeout: 5_000 });
    await waitTicks(page, (await ticks(page)) + 3, 10_000);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-failure.png'), fullPage: true });
    if (process.env['EPARA_UPDATE_DOCS_SCREENSHOT'] === '1') {
      mkdirSync(join(DOCS_IMAGE, '..'), { recursive: true });
      await page.screenshot({ path: DOCS_IMAGE, fullPage: true });
    }
    expect(external).toEqual([]);
  }, 90_000);
});

/** The little of the browser's globals the test touches (the test itself is compiled without DOM types). */
interface PageGlobals {
  readonly document: { readonly body: { readonly dataset: Record<string, string | undefined> } };
}

/** Updates the page received so far (the script counts them on `<body data-ticks>`); the test runs no DOM code of its own. */
async function ticks(page: Page): Promise<number> {
  return Number(await page.getAttribute('body', 'data-ticks'));
}

async function waitTicks(page: Page, atLeast: number, timeout: number): Promise<void> {
  // A function, not a string: the page's Content-Security-Policy forbids evaluating strings.
  await page.waitForFunction((n) => Number((globalThis as unknown as PageGlobals).document.body.dataset['ticks'] ?? 0) >= n, atLeast, { timeout });
}

function placedEverywhere(nodes: readonly TestNode[]): boolean {
  const view = nodes[0]!.node.view();
  const ready = Object.values(view.entries).flatMap((e) => e.instances.filter((i) => i.status === 'ready').map((i) => i.serviceId));
  return ['detect', 'classify', 'video'].every((s) => ready.includes(s));
}
