import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { models } from '../fixtures/models.js';
import { classifierConfig, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Models loaded and unloaded while `epara serve` runs (Triton's repository control), as a client library uses it:
 * `load_model` then `is_model_ready` at once, `unload_model` then the same. The answer used to come before the
 * node's view showed the change, so for up to a gossip period the model read not ready after a load and ready
 * after an unload. The model file going missing or corrupt between the start and a load is answered, typed, and
 * the server stays up.
 */

const running: ServeProcess[] = [];
afterAll(async () => {
  for (const p of running) p.kill();
  await Promise.all(running.map((p) => p.exited));
});

const post = (url: string): Promise<{ status: number; body: { error?: string; code?: string } }> =>
  fetch(url, { method: 'POST' }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: string; code?: string } }));
const status = (url: string): Promise<number> => fetch(url).then((r) => r.status);

describe('epara serve: repository load and unload', () => {
  it('answers a load once the model is ready and an unload once it is gone, and survives a missing or corrupt file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'epara-repo-'));
    const model = join(dir, 'cls.onnx');
    copyFileSync(models.ocrCls, model);
    // A long gossip period: a readiness read from a view not yet refreshed stays wrong that long.
    const config = classifierConfig()
      .replace(JSON.stringify(models.ocrCls), JSON.stringify(model))
      .replace('  listen: { host: 127.0.0.1, port: 0 }', '  listen: { host: 127.0.0.1, port: 0 }\n  syncPeriodMs: 2000');
    const serve = await startServe(config);
    running.push(serve);
    const api = `${serve.http}/v2/repository/models/cls`;
    await expectStatus(`${serve.http}/v2/models/cls/ready`, 200);

    expect((await post(`${api}/unload`)).status).toBe(200);
    expect(await status(`${serve.http}/v2/models/cls/ready`)).toBe(503);
    // Nothing is ready anywhere: the server is not ready either, and still live.
    expect(await status(`${serve.http}/v2/health/ready`)).toBe(503);
    expect(await status(`${serve.http}/v2/health/live`)).toBe(200);

    expect((await post(`${api}/load`)).status).toBe(200);
    expect(await status(`${serve.http}/v2/models/cls/ready`)).toBe(200);
    expect(await status(`${serve.http}/v2/health/ready`)).toBe(200);

    // The file removed, then corrupt: a load is refused with the reason; the server stays up.
    expect((await post(`${api}/unload`)).status).toBe(200);
    rmSync(model);
    const missing = await post(`${api}/load`);
    expect(missing.status).toBeGreaterThanOrEqual(400);
    expect(missing.body).toMatchObject({ code: 'LOAD_FAILED', error: expect.stringContaining(model) });
    writeFileSync(model, 'not a model\n');
    const corrupt = await post(`${api}/load`);
    expect(corrupt.body).toMatchObject({ code: 'LOAD_FAILED' });
    expect(await status(`${serve.http}/v2/models/cls/ready`)).toBe(503);
    expect(await status(`${serve.http}/v2/health/live`)).toBe(200);

    // Put back, it loads again and serves.
    copyFileSync(models.ocrCls, model);
    expect((await post(`${api}/load`)).status).toBe(200);
    expect(await status(`${serve.http}/v2/models/cls/ready`)).toBe(200);

    serve.child.kill('SIGTERM');
    await expect(serve.exited).resolves.toBe(0);
  }, 240_000);
});

/** Asks again after each answer until `url` answers `want` (the test's timeout is the hang guard). */
async function expectStatus(url: string, want: number): Promise<void> {
  while ((await status(url)) !== want) await new Promise((resolve) => setTimeout(resolve, 100));
}
