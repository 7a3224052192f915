import { describe, expect, it } from 'vitest';
import { createManualClock, isEparaError } from '@epara/core';
import type { NamedTensors } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createFakeExecutor } from './fake-executor.js';

const item = (v: number): NamedTensors => ({ x: { type: 'float32', dims: [1], data: Float32Array.of(v) } });
const value = (o: NamedTensors): number => (o['x']!.data as Float32Array)[0]!;

function setup(batchSize = 2) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 10, batchSize, maxQueue: 4 } }, hosted: ['s'], clock, timers, tag: 7 });
  return { clock, timers, executor };
}

describe('createFakeExecutor', () => {
  it('serves batches in deadline order with deterministic outputs and exact estimates', async () => {
    const { timers, executor } = setup();
    expect(executor.estimate('s')).toEqual({ completionAt: 10, ready: true });
    const done: number[] = [];
    const ps = [3, 1, 2].map((v, i) => executor.submit('s', item(v), { deadline: 100 - i }).then((o) => done.push(value(o))));
    // The first item started alone on the idle device; the other two form the next batch, earliest deadline first.
    expect(executor.estimate('s')!.completionAt).toBe(30);
    timers.advance(20);
    await Promise.all(ps);
    expect(done).toEqual([6, 4, 2]);
    expect(executor.stats().executed).toBe(3);
  });

  it('rejects OVERLOADED past maxQueue and drops an item whose deadline cannot be met', async () => {
    const { timers, executor } = setup(1);
    const late = executor.submit('s', item(0), { deadline: 5 }).catch((e: unknown) => e);
    const queued = Array.from({ length: 5 }, () => executor.submit('s', item(1), { deadline: 1000 }));
    const over = await executor.submit('s', item(1), { deadline: 1000 }).catch((e: unknown) => e);
    expect(isEparaError(over) && over.code).toBe('OVERLOADED');
    expect(isEparaError(await late) && (await late as { code: string }).code).toBe('DEADLINE_EXCEEDED');
    timers.advance(100);
    await Promise.all(queued);
  });

  it('aborts a queued item, and loads and unloads instances make-before-break', async () => {
    const { timers, executor } = setup(1);
    const c = new AbortController();
    const first = executor.submit('s', item(1), { deadline: 1000 });
    const second = executor.submit('s', item(2), { deadline: 1000, signal: c.signal });
    c.abort();
    await expect(second).rejects.toMatchObject({ code: 'ABORTED' });
    const loading = executor.load({ serviceId: 's' } as never, { instanceId: 'b' });
    expect(executor.instances().find((i) => i.instanceId === 'b')!.status).toBe('loading');
    const unloading = executor.unload('s#0');
    expect(executor.instances().find((i) => i.instanceId === 's#0')!.status).toBe('draining');
    timers.advance(10);
    await Promise.all([first, loading, unloading]);
    expect(executor.instances().find((i) => i.instanceId === 'b')!.status).toBe('ready');
    expect(executor.instances().map((i) => i.instanceId)).toEqual(['b']);
  });

  it('streams release results in push order and a frozen executor never answers', async () => {
    const { timers, executor } = setup(2);
    const stream = executor.openStream('s', { rateHz: 10, stalenessMs: 100 });
    [1, 2, 3].forEach((v) => stream.push(item(v)));
    timers.advance(30);
    const closing = stream.close();
    const seqs: number[] = [];
    for await (const r of stream) seqs.push(r.seq);
    expect(seqs).toEqual([0, 1, 2]);
    expect(await closing).toEqual({ pushed: 3, completed: 3, dropped: 0 });
    executor.freeze();
    let settled = false;
    void executor.submit('s', item(1)).finally(() => (settled = true));
    timers.advance(1000);
    await Promise.resolve();
    expect(settled).toBe(false);
  });
});
