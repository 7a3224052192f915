import { afterEach, describe, expect, it } from 'vitest';
import { affineProfile, createManualClock, isEparaError } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createExecutor, type Executor, type RequestDroppedEvent } from '@epara/runtime';
import { doubler, item } from './helpers.js';

describe('executor: a flood far above capacity', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('refuses at admission what cannot finish behind the queued work, typed and without stack frames; every request settles', async () => {
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    ex = createExecutor({
      backend: { kind: 'fake' },
      clock,
      timers,
      adaptLatency: false,
      devices: [{ id: 'd0' }],
      services: [
        {
          id: 's',
          model: doubler(),
          sensitivity: 'latency',
          slo: { kind: 'latency', deadlineMs: 10 },
          // 4 + 1·b ms: at best ~1.7 ms per item (b = 6 within 10 ms).
          profile: affineProfile('cpu-1t', { fixedMs: 4, perItemMs: 1, maxBatch: 32 }),
          devices: ['d0'],
        },
      ],
    });
    await ex.start();
    const dropped: RequestDroppedEvent[] = [];
    ex.on('requestDropped', (e) => dropped.push(e));
    // 300 requests at one instant, deadlines 10 and 25 ms: an ideal device finishes at most ~20 of them.
    const outcomes = Array.from({ length: 300 }, (_, i) =>
      ex!.submit('s', item(i), { deadline: i % 2 ? 10 : 25 }).then(
        () => 'served' as const,
        (e: unknown) => e,
      ),
    );
    const refusedAtOnce = dropped.filter((e) => e.atAdmission);
    expect(refusedAtOnce.length).toBeGreaterThan(250);
    expect(refusedAtOnce.some((e) => e.code === 'OVERLOADED')).toBe(true);
    // Only what could still make it was queued.
    expect(ex.stats().services['s']!.submitted).toBeLessThan(50);
    // Let every queued request run or expire.
    for (let t = 1; t <= 40; t++) {
      clock.set(t);
      timers.fire(t);
      await new Promise((r) => setTimeout(r, 5));
    }
    const settled = await Promise.all(outcomes);
    expect(settled).toHaveLength(300);
    const errors = settled.filter((o) => o !== 'served');
    expect(errors.length).toBeGreaterThan(250);
    for (const e of errors) {
      expect(isEparaError(e) && ['DEADLINE_EXCEEDED', 'OVERLOADED'].includes(e.code)).toBe(true);
      // A shed request's error carries no trace: formatting one per rejection swamped the host under overload.
      expect(String((e as Error).stack)).not.toMatch(/\n\s+at /);
    }
  });
});
