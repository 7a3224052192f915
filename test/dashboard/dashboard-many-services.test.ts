import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createFakeExecutor, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { mountDashboard } from '@epara/dashboard';
import type { Dashboard } from '@epara/dashboard';
import { HAVE_CHROMIUM, launchChromium, listenLocal, closeBrowserFixture } from './browser.js';

/*
 * A node with hundreds of services: the page drew four charts per service on every update (300 services: 1 204
 * charts a second), stopped answering (a script call waited over a minute) and the browser closed it. It now
 * draws the charts of the cards in sight, and a card's charts as it is scrolled into sight; and a page scrolled
 * down stays there (each update moved every card, and the page jumped back near its top).
 */

const SERVICES = 120;

/** What the page's functions read of the browser's globals (the tests compile without the DOM's types). */
interface PageDocument {
  readonly body: { readonly dataset: Record<string, string | undefined> };
  querySelectorAll(selector: string): { readonly length: number };
  querySelector(selector: string): { scrollIntoView(): void; querySelectorAll(selector: string): { readonly length: number } } | null;
}
const ticks = (page: Page): Promise<number> => page.evaluate(() => Number((globalThis as unknown as { document: PageDocument }).document.body.dataset['ticks'] ?? '0'));

describe.skipIf(!HAVE_CHROMIUM)(`dashboard: ${SERVICES} services in headless Chromium`, () => {
  let node: MeshNode;
  let server: Server;
  let dashboard: Dashboard;
  let context: BrowserContext;
  let profile = '';
  let base = '';

  beforeAll(async () => {
    const ids = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
    node = createNode({ id: 'edge-many', transport: createMemoryTransport(), executor: createFakeExecutor({ services: {} }), security: { insecure: true }, placement: false });
    await node.start();
    server = createServer((_req, res) => res.writeHead(404).end());
    dashboard = mountDashboard(server, {
      node,
      auth: false,
      windowMs: 10_000,
      services: ids.map((id) => ({ id, sensitivity: 'latency' as const, slo: { kind: 'latency' as const, deadlineMs: 100 }, memory: { weightsBytes: 0, perItemBytes: 0 }, profiles: {} })),
    });
    base = await listenLocal(server);
    ({ context, profile } = await launchChromium('epara-dashboard-many-', { width: 1280, height: 800 }));
  }, 60_000);

  afterAll(() => closeBrowserFixture({ context, dashboard: dashboard, server, node, profile }), 60_000);

  it('lists every service and keeps updating, drawing the charts of the cards in sight only', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => void errors.push(e.message));
    await page.goto(`${base}/dashboard`);
    await page.waitForFunction((n) => (globalThis as unknown as { document: PageDocument }).document.querySelectorAll('[data-series]').length >= n, SERVICES, { timeout: 60_000, polling: 100 });
    const first = await ticks(page);
    await page.waitForFunction((n) => Number((globalThis as unknown as { document: PageDocument }).document.body.dataset['ticks'] ?? '0') >= n, first + 3, { timeout: 60_000, polling: 100 });

    // Every card has its figures; charts only near the viewport (a few cards of four charts, not 1 200).
    const charts = await page.evaluate(() => (globalThis as unknown as { document: PageDocument }).document.querySelectorAll('.uplot').length);
    expect(charts).toBeGreaterThan(0);
    expect(charts).toBeLessThan(4 * 40);
    expect(await page.evaluate(() => (globalThis as unknown as { document: PageDocument }).document.querySelectorAll('[data-series] .figure').length)).toBeGreaterThanOrEqual(SERVICES * 5);

    // The last card draws its charts once it is scrolled into sight, and the page stays where it was scrolled to
    // (each update moved every card, and a page scrolled down jumped back near its top).
    const last = `[data-series="svc-${String(SERVICES - 1).padStart(3, '0')}"]`;
    expect(await page.evaluate((sel) => (globalThis as unknown as { document: PageDocument }).document.querySelector(sel)!.querySelectorAll('.uplot').length, last)).toBe(0);
    const scrolledTo = await page.evaluate((sel) => {
      (globalThis as unknown as { document: PageDocument }).document.querySelector(sel)!.scrollIntoView();
      return (globalThis as unknown as { scrollY: number }).scrollY;
    }, last);
    await page.waitForFunction((sel) => (globalThis as unknown as { document: PageDocument }).document.querySelector(sel)!.querySelectorAll('.uplot').length === 4, last, { timeout: 30_000, polling: 100 });
    const after = await ticks(page);
    await page.waitForFunction((n) => Number((globalThis as unknown as { document: PageDocument }).document.body.dataset['ticks'] ?? '0') >= n, after + 2, { timeout: 60_000, polling: 100 });
    expect(await page.evaluate(() => (globalThis as unknown as { scrollY: number }).scrollY)).toBeGreaterThanOrEqual(scrolledTo);
    expect(errors).toEqual([]);
  }, 120_000);
});
