import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { affineProfile, createManualClock, isEparaError, type StreamResult } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createExecutor, profileModel, type Executor, type ExecutorOptions } from '@epara/runtime';
import { models, seededFloats } from '../fixtures/models.js';

/*
 * The code blocks of docs/runtime.md are copies of the regions between `// snippet: name` and
 * `// end-snippet` below; this test runs them and checks that the guide's copies are identical.
 */

const image = (seed: number) => ({ x: { type: 'float32' as const, dims: [1, 3, 48, 192], data: seededFloats(3 * 48 * 192, seed) } });
const clsPath = models.ocrCls;
const vadPath = models.sileroVad;

/**
 * `createExecutor` on a manual clock that nothing moves, for the stream snippet, whose frames have a staleness
 * bound: it runs the same code, and what it prints does not depend on how fast a loaded machine runs the model (a
 * frame past its 200 ms came back `STALE_FRAME`). A profile measured at load is still timed on the monotonic clock.
 * The request snippets run on the real clock with a 1 s deadline: on the frozen clock, a loaded machine ran the quick
 * start's first request alone, and the last one waited for a batch partner until a wake-up that a clock which does
 * not move never brings (the test's 30 s ran out; advancing the clock settled it).
 */
const onManualClock = (o: ExecutorOptions): Executor => {
  const clock = createManualClock(Date.now());
  return createExecutor({ ...o, clock, timers: createManualTimers(clock) });
};

describe('docs/runtime.md examples', () => {
  it('quick start: batch requests on one device', async () => {
    // snippet: quick-start
    const executor = createExecutor({
      devices: [{ id: 'cpu0', threads: 1 }],
      services: [
        {
          id: 'cls',
          model: clsPath, // PP-OCR classifier: x f32[N,3,48,192] → softmax_0.tmp_0 f32[N,2]
          sensitivity: 'latency',
          slo: { kind: 'latency', deadlineMs: 1000 },
          sampleInputs: image(0), // no profile given: measured at load with this item
          maxBatch: 2, // batches of at most 2 (the profile may allow fewer)
          devices: ['cpu0'],
        },
      ],
    });
    await executor.start();
    const outputs = await Promise.all([1, 2, 3, 4].map((seed) => executor.submit('cls', image(seed))));
    console.log(outputs[0]!['softmax_0.tmp_0']!.dims); // [1, 2]
    console.log(executor.instances()[0]); // batch size, capacity, wait…
    await executor.close();
    // end-snippet
    expect(outputs.map((o) => o['softmax_0.tmp_0']!.dims)).toEqual([[1, 2], [1, 2], [1, 2], [1, 2]]);
  });

  it('write-once inputs: leases', async () => {
    const decodeInto = (pixels: Float32Array, seed: number): void => pixels.set(image(seed).x.data);
    // snippet: input-lease
    const executor = createExecutor({
      devices: [{ id: 'cpu0', threads: 1 }],
      services: [{ id: 'cls', model: clsPath, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, sampleInputs: image(0), devices: ['cpu0'] }],
    });
    await executor.start();
    const classify = async (seed: number) => {
      const lease = executor.allocateInput<Float32Array>('cls', 'x', [1, 3, 48, 192]);
      decodeInto(lease.data, seed); // write the item once, where its batch will run from
      return executor.submit('cls', { x: lease }); // the request owns the lease and releases it when it settles
    };
    const outputs = await Promise.all([1, 2, 3, 4].map(classify));
    console.log(outputs[0]!['softmax_0.tmp_0']!.dims); // [1, 2]
    console.log(executor.stats().services['cls']!.inputLeases); // { x: { leases: 4, slabBatches, inPlaceItems, … } }
    await executor.close();
    // end-snippet
    expect(outputs.map((o) => o['softmax_0.tmp_0']!.dims)).toEqual([[1, 2], [1, 2], [1, 2], [1, 2]]);
    // The same values as plain inputs (batches may differ: equal within float tolerance).
    const plain = createExecutor({ devices: [{ id: 'cpu0', threads: 1 }], services: [{ id: 'cls', model: clsPath, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 1000 }, sampleInputs: image(0), devices: ['cpu0'] }] });
    await plain.start();
    const expected = await Promise.all([1, 2, 3, 4].map((seed) => plain.submit('cls', image(seed))));
    await plain.close();
    outputs.forEach((o, i) => {
      const want = expected[i]!['softmax_0.tmp_0']!.data as Float32Array;
      (o['softmax_0.tmp_0']!.data as Float32Array).forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
    });
  });

  it('streams with per-stream state', async () => {
    const createExecutor = onManualClock;
    // snippet: stream
    const executor = createExecutor({
      devices: [{ id: 'cpu0' }],
      services: [
        {
          id: 'vad',
          model: vadPath, // Silero VAD: input f32[B,512], state f32[2,B,128], sr i64[] → output, stateN
          sensitivity: 'frequency',
          slo: { kind: 'frequency', rateHz: 31.25, stalenessMs: 200 },
          profile: affineProfile('cpu-1t', { fixedMs: 0.3, perItemMs: 0.1 }),
          stateful: { state: { state: 'stateN' } }, // the runtime feeds stateN back as state, per stream
          devices: ['cpu0'],
        },
      ],
    });
    await executor.start();
    const stream = executor.openStream('vad', { rateHz: 31.25 });
    const results: StreamResult[] = [];
    const reader = (async () => {
      for await (const r of stream) results.push(r); // in push order; dropped frames carry their error
    })();
    for (let k = 0; k < 4; k++) {
      stream.push({
        input: { type: 'float32', dims: [1, 512], data: seededFloats(512, k) },
        sr: { type: 'int64', dims: [], data: new BigInt64Array([16000n]) },
      });
    }
    console.log(await stream.close()); // { pushed: 4, completed: 4, dropped: 0 }
    await reader;
    await executor.close();
    // end-snippet
    expect(results.map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('errors carry codes', async () => {
    const executor = createExecutor({ devices: [{ id: 'cpu0' }] });
    let code = '';
    // snippet: errors
    try {
      await executor.submit('nope', image(1));
    } catch (err) {
      if (isEparaError(err)) code = err.code; // 'UNKNOWN_SERVICE'
    }
    // end-snippet
    await executor.close();
    expect(code).toBe('UNKNOWN_SERVICE');
  });

  it('profiles a model', async () => {
    // snippet: profile
    const profile = await profileModel({
      model: clsPath,
      batchSizes: [1, 2, 4],
      warmup: 1,
      repetitions: 3,
      inputs: (b) => ({ x: { type: 'float32', dims: [b, 3, 48, 192], data: seededFloats(b * 3 * 48 * 192) } }),
    });
    console.log(profile); // { deviceKind: 'cpu-1t', points: [{ batch: 1, ms: … }, …] }
    // end-snippet
    expect(profile.points.map((p) => p.batch)).toEqual([1, 2, 4]);
  });

  it('docs/runtime.md holds exact copies of the snippets', () => {
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    const doc = readFileSync(new URL('../../docs/runtime.md', import.meta.url), 'utf8');
    const re = /\/\/ snippet: ([\w-]+)\n([\s\S]*?)\n\s*\/\/ end-snippet/g;
    let count = 0;
    for (const m of source.matchAll(re)) {
      const lines = m[2]!.split('\n');
      const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
      const body = lines.map((l) => l.slice(indent)).join('\n');
      expect(doc, `snippet ${m[1]}`).toContain(`<!-- snippet: ${m[1]} -->\n\`\`\`ts\n${body}\n\`\`\``);
      count++;
    }
    expect(count).toBe(5);
  });
});
