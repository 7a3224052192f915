import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, testCard } from './main.js';
import type { HttpService } from './main.js';
import { decodeNetpbm } from './netpbm.js';

describe('examples/http-service (real PP-OCR detector, two nodes on loopback WebSockets)', () => {
  let service: HttpService;
  beforeAll(async () => {
    service = await main();
  }, 60_000);
  afterAll(async () => {
    await service?.close();
  });

  it('POST /v1/segment returns a PGM mask of the image size that marks the dark bars as text', async () => {
    const res = await fetch(`${service.url}/v1/segment`, { method: 'POST', body: testCard(96, 64) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/x-portable-graymap');
    const mask = decodeNetpbm(new Uint8Array(await res.arrayBuffer()));
    expect([mask.width, mask.height, mask.channels]).toEqual([96, 64, 1]);
    const text = mask.pixels.filter((v) => v === 255).length;
    expect(text).toBeGreaterThan(0);
    expect(text).toBeLessThan(mask.pixels.length);
    // The blank margins (no bars in the first 6 rows) carry no text.
    expect(mask.pixels.subarray(0, 96 * 3).every((v) => v === 0)).toBe(true);
  });

  it('answers JSON with Accept: application/json (odd sizes are padded for the model and cropped back)', async () => {
    const res = await fetch(`${service.url}/v1/segment?deadlineMs=5000`, { method: 'POST', body: testCard(70, 45), headers: { accept: 'application/json' } });
    const json = (await res.json()) as { width: number; height: number; positiveFraction: number; pgmBase64: string };
    expect(res.status).toBe(200);
    expect([json.width, json.height]).toEqual([70, 45]);
    expect(decodeNetpbm(Buffer.from(json.pgmBase64, 'base64')).pixels.length).toBe(70 * 45);
    expect(json.positiveFraction).toBeGreaterThan(0);
  });

  it('maps typed errors to HTTP codes: bad body → 400 INVALID_INPUT, unknown route → 404', async () => {
    const bad = await fetch(`${service.url}/v1/segment`, { method: 'POST', body: 'hello' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_INPUT');
    const truncated = await fetch(`${service.url}/v1/segment`, { method: 'POST', body: testCard().subarray(0, 100) });
    expect(truncated.status).toBe(400);
    const badDeadline = await fetch(`${service.url}/v1/segment?deadlineMs=-1`, { method: 'POST', body: testCard() });
    expect(badDeadline.status).toBe(400);
    expect((await fetch(`${service.url}/nope`)).status).toBe(404);
  });

  it('answers 504 with the deadline code when the budget cannot be met (1 ms for a ~10+ ms model)', async () => {
    const res = await fetch(`${service.url}/v1/segment?deadlineMs=1`, { method: 'POST', body: testCard() });
    expect(res.status).toBe(504);
    expect(['DEADLINE_INFEASIBLE', 'DEADLINE_EXCEEDED']).toContain(((await res.json()) as { error: { code: string } }).error.code);
  });

  it('GET /metrics serves Prometheus text with the runtime and mesh metrics', async () => {
    const res = await fetch(`${service.url}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(text).toMatch(/epara_inference_request_success_total\{node="local",model="segment"\} [1-9]/);
    expect(text).toMatch(/epara_offloads_total\{node="[^"]+",model="segment",peer="worker",retry="false"\} [1-9]/);
    expect(text).toMatch(/epara_goodput_requests_total\{node="local",model="segment",category="latency"\} [1-9]/);
    for (const name of ['epara_inference_compute_infer_duration_seconds_total', 'epara_inference_batch_size_bucket', 'epara_sync_lag_seconds', 'epara_device_utilization']) {
      expect(text).toContain(name);
    }
  });
});
