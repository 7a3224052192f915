import { beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '@epara/runtime';
import { first, HANG, inStuckRun, item, manualWatchdogExecutor, OVERDUE_GRACE_MS } from './helpers.js';

/** Resolves with the next `name` event of the executor. */
function next<T>(ex: Executor, name: string): Promise<T> {
  return new Promise<T>((resolve) => (ex as unknown as { once(n: string, f: (e: T) => void): void }).once(name, resolve));
}

/** The error code a promise settles with, or 'ok'. */
const codeOf = (p: Promise<unknown>): Promise<string> => p.then(
  () => 'ok',
  (err: { code?: string }) => err.code ?? 'untyped',
);

/*
 * The run watchdog restarts a worker once every request of a batch it holds is given up on. The batch it gave up on
 * may not have started (it was sent ahead, behind the run the worker was stuck in): such a batch runs again on the
 * new worker — and, a batch that never ends, holds that one as well. Its requests are settled already; the watchdog
 * must still see that the device holds it, or nothing queued behind it ever runs again. The clock is manual.
 */
describe('the run watchdog and a batch that runs again on the restarted worker (faulty worker)', () => {
  const { clock, timers, pumped, ex: executor } = manualWatchdogExecutor();
  let ex: Executor;
  beforeAll(() => {
    ex = executor();
  });

  it('restarts the worker again when the batch it re-ran holds it past another grace; every request settles typed and the device serves', async () => {
    const inFirst = inStuckRun();
    const twoSent = new Promise<void>((resolve) => {
      let n = 0;
      ex.on('batchDispatched', () => {
        if (++n === 2) resolve();
      });
    });
    // The worker is stuck in the first batch; the second (which would hang too) is sent ahead behind it.
    const running = codeOf(ex.submit('add', item(HANG), { deadline: clock.now() + 600_000 }));
    await inFirst;
    const sentAhead = codeOf(ex.submit('add', item(HANG), { deadline: clock.now() + 100 }));
    await twoSent;
    const queued = ex.submit('add', item(2), { deadline: clock.now() + 600_000 }).then(first, (err: { code?: string }) => err.code);
    // The sent-ahead batch's request is given up on: the watchdog restarts the worker. The batch never started, so it
    // runs again on the new worker — which it holds in turn.
    const crashed = next<{ reason: string }>(ex, 'workerCrashed');
    const inAgain = inStuckRun();
    timers.advance(100 + OVERDUE_GRACE_MS);
    expect(await pumped(sentAhead)).toBe('DEADLINE_EXCEEDED');
    expect((await pumped(crashed)).reason).toMatch(/terminated: a batch was not answered/);
    expect(await pumped(running)).toBe('WORKER_CRASHED');
    await pumped(inAgain);
    // Another grace with the device held by a batch whose every request is settled: restarted again.
    const crashedAgain = next<{ reason: string }>(ex, 'workerCrashed');
    timers.advance(OVERDUE_GRACE_MS);
    expect((await pumped(crashedAgain)).reason).toMatch(/terminated: a batch was not answered/);
    expect(await pumped(queued)).toBe(3);
    expect(first(await pumped(ex.submit('add', item(5), { deadline: clock.now() + 600_000 })))).toBe(6);
    expect(ex.stats().devices['cpu0']).toMatchObject({ restarts: 2, failed: false });
  }, 60_000);
});
