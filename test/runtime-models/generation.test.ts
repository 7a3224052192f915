import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { affineProfile, createManualClock } from '@epara/core';
import {
  buildTinyCausalLm,
  createDevice,
  createGenerationEngine,
  createGenerationService,
  type DeviceHandle,
  type GenerationEngine,
  type GenerationEngineOptions,
  type StepCompletedEvent,
} from '@epara/runtime';
import { rejection, values } from './helpers.js';

const lm = buildTinyCausalLm({ vocab: 64, dModel: 32, layers: 2, heads: 4, maxSeq: 40, seed: 21 });
const prompts = [[5, 9, 2], [17, 3, 3, 40, 8, 1, 12], [7], [33, 34, 35, 36, 37], [60, 2, 19, 19, 4, 11, 27, 0, 3]];
const limits = [12, 5, 9, 7, 10];
let device: DeviceHandle;
const engines: GenerationEngine[] = [];
const engine = (o: Partial<GenerationEngineOptions> = {}): GenerationEngine => {
  const e = createGenerationEngine({ device, model: { bytes: lm }, maxBatch: 3, maxSeq: 40, ...o });
  engines.push(e);
  return e;
};
let alone: number[][];

beforeAll(async () => {
  device = createDevice({ id: 'lm', threads: 1 });
  const solo = engine({ maxBatch: 1 });
  alone = [];
  for (const [i, p] of prompts.entries()) alone.push(await solo.generate({ tokens: p, maxNewTokens: limits[i]! }).collect());
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await device.close();
});

describe('generation with iteration-level batching', () => {
  it('batched generation gives exactly the tokens of generating each sequence alone; sequences join and leave between steps', async () => {
    const e = engine({ maxBatch: 3 });
    const steps: StepCompletedEvent[] = [];
    const joinedAt: number[] = [];
    const left: string[] = [];
    e.on('stepCompleted', (s) => steps.push(s));
    e.on('sequenceJoined', (s) => joinedAt.push(s.step));
    e.on('sequenceLeft', (s) => left.push(s.reason));
    const batched = await Promise.all(prompts.map((p, i) => e.generate({ tokens: Int32Array.from(p), maxNewTokens: limits[i]! }).collect()));
    expect(batched).toEqual(alone);
    expect(batched.map((t) => t.length)).toEqual(limits);
    // Different prompt lengths shared steps, a waiting sequence joined after step 1, membership changed.
    expect(Math.max(...steps.map((s) => s.batch))).toBe(3);
    expect(joinedAt.some((step) => step > 1)).toBe(true);
    expect(steps.some((s, i) => i > 0 && s.ids.join() !== steps[i - 1]!.ids.join() && s.batch > 1)).toBe(true);
    expect(left).toEqual(Array(5).fill('length'));
    expect(e.stats()).toMatchObject({ completed: 5, active: 0, waiting: 0, tokensGenerated: limits.reduce((a, b) => a + b), maxBatchSeen: 3 });
  });

  it('streams tokens one by one and stops at the EOS token (which is streamed)', async () => {
    const eos = alone[0]![3]!;
    const e = engine({ eosToken: eos });
    const streamed: number[] = [];
    for await (const t of e.generate({ tokens: prompts[0]!, maxNewTokens: limits[0]! })) streamed.push(t);
    expect(streamed).toEqual(alone[0]!.slice(0, alone[0]!.indexOf(eos) + 1));
  });

  it('aborting mid-generation frees the slot for a waiting sequence', async () => {
    const e = engine({ maxBatch: 1 });
    const controller = new AbortController();
    const first = e.generate({ tokens: prompts[0]!, maxNewTokens: 30, signal: controller.signal });
    const second = e.generate({ tokens: prompts[1]!, maxNewTokens: limits[1]! });
    const got: number[] = [];
    const err = await (async () => {
      try {
        for await (const t of first) {
          got.push(t);
          if (got.length === 2) controller.abort();
        }
      } catch (error) {
        return error as { code?: string };
      }
      return undefined;
    })();
    expect(err?.code).toBe('ABORTED');
    expect(got).toEqual(alone[0]!.slice(0, 2));
    expect(await second.collect()).toEqual(alone[1]);
    expect(e.stats()).toMatchObject({ aborted: 1, completed: 1, active: 0 });
  });

  it('a consumer that stops iterating frees its slot too', async () => {
    const e = engine({ maxBatch: 1 });
    const first = e.generate({ tokens: prompts[2]!, maxNewTokens: 30 });
    const second = e.generate({ tokens: prompts[3]!, maxNewTokens: limits[3]! });
    for await (const t of first) if (t >= 0) break;
    expect(await second.collect()).toEqual(alone[3]);
    expect(e.stats().aborted).toBe(1);
  });

  it('admission refuses what cannot fit: TPOT, TTFT, waiting room; bad input is INVALID_INPUT', async () => {
    const slow = affineProfile('cpu', { fixedMs: 50, perItemMs: 0 });
    const e = engine({ maxBatch: 1, maxWaiting: 1, stepProfile: slow });
    expect((await rejection(e.generate({ tokens: [1], maxNewTokens: 3, tpotMs: 10 }).collect())).code).toBe('DEADLINE_INFEASIBLE');
    expect((await rejection(e.generate({ tokens: [1], maxNewTokens: 3, ttftDeadline: Date.now() + 10 }).collect())).code).toBe('DEADLINE_INFEASIBLE');
    expect((await rejection(e.generate({ tokens: [1], maxNewTokens: 3, deadline: Date.now() + 80 }).collect())).code).toBe('DEADLINE_INFEASIBLE');
    const a = e.generate({ tokens: [1], maxNewTokens: 3 });
    const b = e.generate({ tokens: [2], maxNewTokens: 3 });
    const c = e.generate({ tokens: [3], maxNewTokens: 3 });
    expect((await rejection(c.collect())).code).toBe('OVERLOADED');
    expect((await a.collect()).length).toBe(3);
    expect((await b.collect()).length).toBe(3);
    expect((await rejection(e.generate({ tokens: [1, 2], maxNewTokens: 39 }).collect())).code).toBe('INVALID_INPUT');
    expect((await rejection(e.generate({ tokens: [64], maxNewTokens: 2 }).collect())).code).toBe('INVALID_INPUT');
    expect((await rejection(e.generate({ tokens: [1.5], maxNewTokens: 2 }).collect())).code).toBe('INVALID_INPUT');
  });

  it('drops a waiting request whose first token can no longer be on time (DEADLINE_EXCEEDED)', async () => {
    const clock = createManualClock(0);
    const e = engine({ maxBatch: 1, clock, stepProfile: affineProfile('cpu', { fixedMs: 10, perItemMs: 0 }) });
    e.on('stepCompleted', () => clock.advance(100)); // each step "takes" 100 ms of engine time
    const long = e.generate({ tokens: [1], maxNewTokens: 8 });
    await new Promise((r) => e.once('sequenceJoined', r));
    const waiting = e.generate({ tokens: [2], maxNewTokens: 2, ttftDeadline: 300 });
    expect((await rejection(waiting.collect())).code).toBe('DEADLINE_EXCEEDED');
    expect((await long.collect()).length).toBe(8);
  });

  it('a model that does not load fails every request with LOAD_FAILED', async () => {
    const bad = engine({ model: { bytes: new Uint8Array([1, 2, 3]) } });
    expect((await rejection(bad.generate({ tokens: [1], maxNewTokens: 2 }).collect())).code).toBe('LOAD_FAILED');
    expect((await rejection(bad.start())).code).toBe('LOAD_FAILED');
  });

  it('runs as a ServiceEngine: submit returns the generated tokens as int64 [1, n]', async () => {
    const service = createGenerationService(engine(), { maxNewTokens: limits[1]! });
    const out = await service.submit(
      { input_ids: { type: 'int64', dims: [1, prompts[1]!.length], data: BigInt64Array.from(prompts[1]!, BigInt) } },
      { deadline: Date.now() + 30_000, priority: 0 },
    );
    expect(out['tokens']!.dims).toEqual([1, limits[1]]);
    expect(values(out['tokens']!)).toEqual(alone[1]);
    expect(service.estimate(1000)).toBeGreaterThanOrEqual(1000);
    await service.close();
    expect((await rejection(service.submit({ input_ids: { type: 'int32', dims: [2], data: Int32Array.from([1, 2]) } }, { deadline: Infinity, priority: 0 }))).code).toBe('CLOSED');
  });
});
