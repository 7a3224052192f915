import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, launchChromium, listenLocal, closeBrowserFixture } from './browser.js';
import type { BrowserContext, Page } from 'playwright-core';
import { createFakeExecutor, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { mountDashboard } from '@epara/dashboard';
import type { Dashboard } from '@epara/dashboard';

const TOKEN = 'dashboard-tabs-token-0123456789';
/** A service name a stranger may give: HTML that runs script if the page ever parses names as markup. */
const HOSTILE = '<img src=x onerror="window.__xss=1">';
/** More tabs than a browser opens connections to one HTTP/1.1 origin (six): each tab used to hold one. */
const TABS = 9;

/** What the page's functions read of the browser's globals (the tests compile without the DOM's types). */
interface PageGlobals {
  readonly document: { readonly body: { readonly dataset: Record<string, string | undefined> } };
  readonly __xss?: number;
}
const ticks = (page: Page): Promise<number> => page.evaluate(() => Number((globalThis as unknown as PageGlobals).document.body.dataset['ticks'] ?? '0'));
const waitTicks = (page: Page, n: number, timeout: number): Promise<unknown> =>
  page.waitForFunction((min) => Number((globalThis as unknown as PageGlobals).document.body.dataset['ticks'] ?? '0') >= min, n, { timeout, polling: 100 });

describe.skipIf(!HAVE_CHROMIUM)('dashboard: many tabs and hostile names in headless Chromium', () => {
  let node: MeshNode;
  let server: Server;
  let dashboard: Dashboard;
  let context: BrowserContext;
  let profile = '';
  let base = '';

  beforeAll(async () => {
    node = createNode({
      id: 'edge-<b>1</b>',
      transport: createMemoryTransport(),
      executor: createFakeExecutor({ services: { [HOSTILE]: { serviceTimeMs: 1, batchSize: 1 } } }),
      security: { insecure: true },
      placement: false,
    });
    await node.start();
    server = createServer((_req, res) => res.writeHead(404).end('host route'));
    dashboard = mountDashboard(server, {
      node,
      auth: { token: TOKEN },
      // Nine tabs each redraw their charts on every update: at 200 ms they kept a loaded CI machine's cores busy
      // enough that a tab missed two updates in 15 s. Two updates a second still show every tab live.
      intervalMs: 500,
      services: [{ id: HOSTILE, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 }, memory: { weightsBytes: 0, perItemBytes: 0 }, profiles: {} }],
    });
    base = await listenLocal(server);
    ({ context, profile } = await launchChromium('epara-dashboard-tabs-'));
  }, 60_000);

  afterAll(() => closeBrowserFixture({ context, dashboard: dashboard, server, node, profile }), 60_000);

  it(`keeps ${TABS} open tabs of one browser live, with no console error and no markup from names`, async () => {
    const errors: string[] = [];
    const pages: Page[] = [];
    // Sign in once: the session cookie is the browser's, as for a person opening tab after tab.
    const first = context.pages()[0] ?? (await context.newPage());
    for (let i = 0; i < TABS; i++) {
      const page = i === 0 ? first : await context.newPage();
      page.on('console', (m) => (m.type() === 'error' ? errors.push(`tab ${i}: ${m.text()}`) : undefined));
      page.on('pageerror', (e) => errors.push(`tab ${i}: ${e.message}`));
      // Each tab waits for its page to load and to show a live update before the next opens: the tab after the
      // sixth used to wait forever for a connection, the six before it holding theirs for their event streams.
      const response = await page.goto(i === 0 ? `${base}/dashboard?token=${TOKEN}` : `${base}/dashboard`, { timeout: 15_000 });
      expect(response?.status(), `tab ${i}`).toBe(200);
      await waitTicks(page, 1, 30_000);
      pages.push(page);
    }
    // Every tab keeps updating, not only the newest.
    for (const page of pages) {
      const t = await ticks(page);
      await waitTicks(page, t + 2, 30_000);
    }
    // The hostile names are shown as text, never as markup.
    const page = pages[pages.length - 1]!;
    await page.waitForSelector('[data-series]', { timeout: 10_000 });
    await expect(page.evaluate(() => (globalThis as unknown as PageGlobals).__xss)).resolves.toBeUndefined();
    await expect(page.locator('img').count()).resolves.toBe(0);
    await expect(page.locator('b', { hasText: '1' }).count()).resolves.toBe(0);
    await expect(page.locator('body').textContent()).resolves.toContain(HOSTILE);
    await expect(page.locator('body').textContent()).resolves.toContain('edge-<b>1</b>');
    // None: not even the host's 404 for /favicon.ico, which every tab used to log.
    expect(errors).toEqual([]);
    // The browser holds few live streams for all its tabs, and none once they are closed.
    expect(dashboard.clients).toBeLessThan(6);
    await Promise.all(pages.map((p) => p.close()));
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`${dashboard.clients} event streams still open after every tab closed`)), 15_000);
      const check = setInterval(() => {
        if (dashboard.clients > 0) return;
        clearInterval(check);
        clearTimeout(deadline);
        resolve();
      }, 50);
    });
  }, 300_000);
});
