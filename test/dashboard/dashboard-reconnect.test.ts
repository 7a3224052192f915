import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, launchChromium, listenLocal, closeBrowserFixture } from './browser.js';
import type { BrowserContext, Page } from 'playwright-core';
import { createFakeExecutor, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { createDashboard } from '@epara/dashboard';
import type { Dashboard } from '@epara/dashboard';

/*
 * An open dashboard page while the server behind it restarts. `epara serve` closes its dashboard first on the
 * way down (its event streams end, or the HTTP server would wait for them): the page reconnects at once, and the
 * closed dashboard answers 503 until the server stops listening. A browser's EventSource gives up for good on any
 * answer but 200, so the page stayed "reconnecting…" for ever once the server was back — as it did after a 503
 * for too many streams. And a server back with another token answered 401 to a page that kept waiting.
 */

const TOKEN = 'dashboard-reconnect-token-0123';

interface PageGlobals {
  readonly document: { readonly body: { readonly dataset: Record<string, string | undefined> } };
}
const ticks = (page: Page): Promise<number> => page.evaluate(() => Number((globalThis as unknown as PageGlobals).document.body.dataset['ticks'] ?? '0'));
const waitTicks = (page: Page, n: number): Promise<unknown> =>
  page.waitForFunction((min) => Number((globalThis as unknown as PageGlobals).document.body.dataset['ticks'] ?? '0') >= min, n, { timeout: 30_000, polling: 100 });

describe.skipIf(!HAVE_CHROMIUM)('dashboard: the page while its server restarts', () => {
  let node: MeshNode;
  let server: Server;
  let current: Dashboard;
  let context: BrowserContext;
  let profile = '';
  let base = '';
  /** Answers of the event stream other than 200, by status. */
  const refused = new Map<number, number>();
  let notify: (() => void) | undefined;

  const open = (token: string): Dashboard => createDashboard({ node, auth: { token }, intervalMs: 200 });

  beforeAll(async () => {
    node = createNode({ id: 'edge-r', transport: createMemoryTransport(), executor: createFakeExecutor({ services: {} }), security: { insecure: true }, placement: false });
    await node.start();
    current = open(TOKEN);
    server = createServer((req, res) => {
      if (req.url?.endsWith('/events')) {
        res.once('finish', () => {
          if (res.statusCode === 200) return;
          refused.set(res.statusCode, (refused.get(res.statusCode) ?? 0) + 1);
          notify?.();
        });
      }
      if (!current.handle(req, res)) res.writeHead(404).end('host route');
    });
    base = await listenLocal(server);
    ({ context, profile } = await launchChromium('epara-dashboard-reconnect-'));
  }, 60_000);

  afterAll(() => closeBrowserFixture({ context, dashboard: current, server, node, profile }), 60_000);

  /** Resolves once the event stream was answered `status` (checked on each refusal, never by a timer). */
  const refusedWith = (status: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const check = (): void => {
        if ((refused.get(status) ?? 0) === 0) return;
        notify = undefined;
        resolve();
      };
      notify = check;
      check();
    });

  it('goes live again after the stream was refused with 503, and shows the sign-in form once the token changed', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    expect((await page.goto(`${base}/dashboard?token=${TOKEN}`))?.status()).toBe(200);
    await waitTicks(page, 1);

    // The server goes down as `epara serve` does: the dashboard closes first, the HTTP port still answers.
    const closing = current;
    closing.close();
    await refusedWith(503);
    await page.waitForSelector('#status.down', { timeout: 30_000 });
    // Back up (a new dashboard, the same token: the session cookie still holds).
    current = open(TOKEN);
    const before = await ticks(page);
    await waitTicks(page, before + 2);
    expect(await page.getAttribute('#status', 'class')).toMatch(/live/);

    // Back up with another token: the page's cookie no longer opens it; it shows the sign-in form, not a page
    // that waits for ever.
    const old = current;
    current = open('another-token-0123456789abcdef');
    old.close();
    await refusedWith(401);
    await page.waitForSelector('input[name="token"]', { timeout: 30_000 });
  }, 180_000);
});
