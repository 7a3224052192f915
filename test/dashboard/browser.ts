import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';

/** Debian's Chromium (installed by `.ci/run`), or `EPARA_CHROMIUM`; no browser is downloaded. */
export const CHROMIUM = process.env['EPARA_CHROMIUM'] ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** The `http://127.0.0.1:<port>` base of a server listening on an ephemeral port of the loopback. */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

/** Headless Chromium on a fresh profile folder (`prefix` names it; the caller removes it). */
export async function launchChromium(prefix: string, viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; profile: string }> {
  const profile = mkdtempSync(join(tmpdir(), prefix));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ...(viewport ? { viewport } : {}),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { context, profile };
}

/**
 * Tears down what a browser test set up, in order: the browser, the dashboard (its event streams end, or the server
 * would wait for them), the HTTP server, the node, the profile folder. Each part may be missing (a set-up that failed
 * part way).
 */
export async function closeBrowserFixture(f: {
  readonly context?: BrowserContext | undefined;
  readonly dashboard?: { close(): void } | undefined;
  readonly server?: Server | undefined;
  readonly node?: { close(): Promise<void> } | undefined;
  readonly profile?: string | undefined;
}): Promise<void> {
  await f.context?.close();
  f.dashboard?.close();
  const server = f.server;
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await f.node?.close();
  if (f.profile) rmSync(f.profile, { recursive: true, force: true });
}
