import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierConfig, clsInput, startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

/*
 * Triton's repository load and unload on `epara serve` with the real classifier: unload drains and frees the
 * model's instance here (a single server then has none: not ready, requests 503), load brings it back on the
 * devices its service names. The readiness answers follow the node's view, refreshed on its sync period: the test
 * waits for each change by asking again (the test timeout bounds the wait).
 */

let serve: ServeProcess;
beforeAll(async () => {
  serve = await startServe(classifierConfig({ id: 'edge-repo' }));
}, 120_000);
afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

const post = (path: string): Promise<Response> => fetch(`${serve.http}${path}`, { method: 'POST' });
const infer = (): Promise<Response> => fetch(`${serve.http}/v2/models/cls/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192], data: [...clsInput()] }] }) });

async function readyBecomes(status: number): Promise<void> {
  while ((await fetch(`${serve.http}/v2/models/cls/ready`)).status !== status) await new Promise((r) => setTimeout(r, 50));
}

describe('repository load and unload on epara serve', () => {
  it('unload takes the model out of service here, load brings it back', async () => {
    expect((await infer()).status).toBe(200);
    const unload = await post('/v2/repository/models/cls/unload');
    expect({ status: unload.status, body: await unload.json() }).toEqual({ status: 200, body: {} });
    const refused = await infer();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    await readyBecomes(503);
    expect(await (await post('/v2/repository/index')).json()).toEqual([{ name: 'cls', version: '1', state: 'UNAVAILABLE', reason: 'no ready instance in the cluster' }]);
    expect((await post('/v2/repository/models/cls/load')).status).toBe(200);
    // A second load of a loaded model changes nothing.
    expect((await post('/v2/repository/models/cls/load')).status).toBe(200);
    await readyBecomes(200);
    expect((await infer()).status).toBe(200);
    expect(serve.output()).toMatch(/service cls unloaded here \(repository unload\)[^]*service cls loaded \(repository load\)/);
  }, 120_000);
});
