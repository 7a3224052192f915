import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createExecutor, hrClock, type Executor } from '@epara/runtime';
import { doubler, flat, item, values } from './helpers.js';

/*
 * Callers give deadlines on the wall clock (`Date.now() + budget`: the mesh node's and the gateway's default
 * clock). The executor's default clock must read the same time after the wall clock steps (NTP, a VM resumed,
 * an operator setting the date), or every deadline lands in its past (a step back) or far in its future (a
 * step forward) for as long as the process lives.
 */

const STEP_MS = 60_000;

describe('the executor default clock after a wall-clock step', () => {
  let ex: Executor;
  beforeAll(async () => {
    ex = createExecutor({
      backend: { kind: 'fake' },
      devices: [{ id: 'd0' }],
      services: [{ id: 'dbl', model: doubler(), sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 5000 }, profile: flat(1), devices: ['d0'] }],
    });
    await ex.start();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await ex?.close();
  });

  it.each([
    ['back', -STEP_MS],
    ['forward', STEP_MS],
  ])('reads the wall clock within a millisecond after a step %s, with sub-millisecond resolution', (_, step) => {
    const real = Date.now.bind(Date);
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() + step);
    try {
      const a = hrClock.now();
      expect(Math.abs(a - Date.now())).toBeLessThan(2);
      const b = hrClock.now();
      expect(b).toBeGreaterThanOrEqual(a);
      expect(Number.isInteger(a) && Number.isInteger(b)).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });

  it('serves a request whose deadline is a wall-clock budget, after the wall clock stepped back', async () => {
    const real = Date.now.bind(Date);
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() - STEP_MS);
    try {
      // A minute back: `Date.now() + 2000` was a minute in the executor's past, refused DEADLINE_EXCEEDED.
      expect(values(await ex.submit('dbl', item(3), { deadline: Date.now() + 2000 }))).toEqual([7, 1]);
    } finally {
      spy.mockRestore();
    }
  });
});
