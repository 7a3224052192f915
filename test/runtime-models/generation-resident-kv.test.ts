import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyCausalLm, createDevice, createGenerationEngine, type DeviceHandle, type GenerationEngine } from '@epara/runtime';
import { rejection } from './helpers.js';

/*
 * KV caches resident in the device worker: the tokens equal those of decoding without any cache, the host
 * never runs the model with cache tensors, released caches are gone from the worker, and a crashed worker's
 * caches are lost with typed failures.
 */
const shape = { vocab: 64, dModel: 32, layers: 2, heads: 4, maxSeq: 48, seed: 33 };
const withCache = buildTinyCausalLm({ ...shape, kvCache: true });
const withoutCache = buildTinyCausalLm({ ...shape, kvCache: false });
const prompts = [[5, 9, 2], [17, 3, 3, 40, 8, 1, 12], [7], [33, 34, 35, 36, 37], [60, 2, 19, 19, 4, 11, 27, 0, 3], [1, 1, 1, 1]];
const limits = [14, 6, 11, 8, 12, 9];

interface KvPort {
  kvStep(key: string, store: string, layout: unknown, request: unknown): Promise<number[]>;
  kvRelease(key: string, store: string, seqs?: readonly number[]): Promise<void>;
}

const devices: DeviceHandle[] = [];
const engines: GenerationEngine[] = [];
const device = (id: string, workerUrl?: URL): DeviceHandle => {
  const d = createDevice({ id, threads: 1, ...(workerUrl ? { workerUrl } : {}) });
  devices.push(d);
  return d;
};
const engine = (d: DeviceHandle, model: Uint8Array, maxBatch: number): GenerationEngine => {
  const e = createGenerationEngine({ device: d, model: { bytes: model }, maxBatch, maxSeq: 48 });
  engines.push(e);
  return e;
};
const generateAll = (e: GenerationEngine): Promise<number[][]> => Promise.all(prompts.map((p, i) => e.generate({ tokens: p, maxNewTokens: limits[i]! }).collect()));

/** The device, with every `run` call counted (bound to the real device: private fields stay reachable). */
function counting(d: DeviceHandle): { device: DeviceHandle; runs: () => number } {
  let runs = 0;
  const proxy = new Proxy(d, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      if (prop === 'run' || prop === 'runTimed') return (...args: unknown[]) => (runs++, (v as (...a: unknown[]) => unknown).apply(target, args));
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { device: proxy, runs: () => runs };
}

let recomputed: number[][];

beforeAll(async () => {
  recomputed = [];
  const solo = engine(device('lm-recompute'), withoutCache, 1);
  for (const [i, p] of prompts.entries()) recomputed.push(await solo.generate({ tokens: p, maxNewTokens: limits[i]! }).collect());
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(devices.map((d) => d.close()));
});

describe('resident KV caches', () => {
  it('batched KV decoding in the worker gives token for token what decoding without a cache gives', async () => {
    const counted = counting(device('lm-resident'));
    const e = engine(counted.device, withCache, 4);
    await e.start();
    const calibrationRuns = counted.runs();
    expect(await generateAll(e)).toEqual(recomputed);
    expect(counted.runs()).toBe(calibrationRuns); // every step went through the worker's caches, none through run()
  });

  it('a device without resident caches (host-side caches) gives the same tokens', async () => {
    const real = device('lm-host-kv');
    const plain: DeviceHandle = new Proxy(real, {
      get(target, prop) {
        if (prop === 'kvStep' || prop === 'kvRelease') return undefined;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    expect(await generateAll(engine(plain, withCache, 3))).toEqual(recomputed);
  });

  it('releasing a sequence frees its cache inside the worker', async () => {
    const d = device('lm-release');
    const port = d as unknown as KvPort;
    const layout = { pairs: [0, 1].map((l) => ({ past: `past_key_${l}`, present: `present_key_${l}` })).flatMap((p) => [p, { past: p.past.replace('key', 'value'), present: p.present.replace('key', 'value') }]), heads: 4, headDim: 8 };
    const info = await d.loadModel('lm', { bytes: withCache });
    expect(info.inputs.filter((i) => i.name.startsWith('past_')).map((i) => i.name).sort()).toEqual(layout.pairs.map((p) => p.past).sort());
    const [first] = await port.kvStep('lm', 's', layout, { prefill: true, seqs: [1], tokens: [prompts[0]], cached: [0], padToken: 0 });
    expect(first).toBe(recomputed[0]![0]);
    const [second] = await port.kvStep('lm', 's', layout, { prefill: false, seqs: [1], tokens: [[first]], cached: [3], padToken: 0 });
    expect(second).toBe(recomputed[0]![1]);
    // A wrong view of the cache's length is refused, typed.
    expect(await rejection(port.kvStep('lm', 's', layout, { prefill: false, seqs: [1], tokens: [[second]], cached: [3], padToken: 0 }))).toMatchObject({ code: 'INTERNAL' });
    await port.kvRelease('lm', 's', [1]);
    expect(await rejection(port.kvStep('lm', 's', layout, { prefill: false, seqs: [1], tokens: [[second]], cached: [4], padToken: 0 }))).toMatchObject({ code: 'WORKER_CRASHED' });
  });

  it('a crashed worker loses its caches: in-flight sequences fail WORKER_CRASHED, later ones run on the restarted worker', async () => {
    const d = device('lm-crash', new URL('./fixtures/crashing-device-worker.mjs', import.meta.url));
    const e = engine(d, withCache, 4);
    await e.start();
    const running = [0, 1].map((i) => e.generate({ tokens: prompts[i]!, maxNewTokens: 40 }).collect());
    await new Promise((r) => setTimeout(r, 5));
    const crashing = e.generate({ tokens: [4, 63, 2], maxNewTokens: 4 }).collect();
    const codes = await Promise.all([...running, crashing].map(async (p) => (await rejection(p)).code));
    expect(codes).toEqual(['WORKER_CRASHED', 'WORKER_CRASHED', 'WORKER_CRASHED']);
    expect(await e.generate({ tokens: prompts[3]!, maxNewTokens: limits[3]! }).collect()).toEqual(recomputed[3]);
  });
});
