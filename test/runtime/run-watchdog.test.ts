import { beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '@epara/runtime';
import { codeOf, nextEvent } from './helpers.js';
import { first, HANG, inStuckRun, item, manualWatchdogExecutor, OVERDUE_GRACE_MS } from '../runtime-faults/helpers.js';

/*
 * The run watchdog: a run that holds its device long past its requests' deadlines (a model computing a huge output,
 * a stuck backend) had its requests given up on, but kept the device — and the work queued behind it — for as long
 * as it ran. Once every request of the batch is given up on, the device's worker is terminated and restarted as
 * after a crash (not counted toward maxRestarts), and the device serves again. The clock is manual: no test waits
 * out the grace.
 */
describe('a run held past its give-up time (onnxruntime-node, faulty worker)', () => {
  const { clock, timers, pumped, ex: executor } = manualWatchdogExecutor();
  let ex: Executor;
  beforeAll(() => {
    ex = executor();
  });

  it('fails the stuck request DEADLINE_EXCEEDED, restarts the worker, and serves the requests queued behind it', async () => {
    // Dispatched is not yet running: on a loaded machine the watchdog could fire before the worker took the batch,
    // which then (never started) runs again on the new worker and holds it too. Wait for the worker to say it is in.
    const inRun = inStuckRun();
    const dispatched = nextEvent(ex, 'batchDispatched');
    const stuck = codeOf(ex.submit('add', item(HANG), { deadline: clock.now() + 100 }));
    await dispatched;
    await inRun; // the worker is inside the run that never ends
    // Sent ahead to the worker, behind the stuck run (a device holds two batches), and queued in the executor.
    const ahead = ex.submit('add', item(1), { deadline: clock.now() + 60_000 });
    const queued = ex.submit('add', item(2), { deadline: clock.now() + 60_000 });
    const crashed = nextEvent<{ reason: string; failedCalls: number }>(ex, 'workerCrashed');
    const restarted = nextEvent<{ restarts: number }>(ex, 'workerRestarted');
    timers.advance(100 + OVERDUE_GRACE_MS);
    expect(await pumped(stuck)).toBe('DEADLINE_EXCEEDED');
    expect((await pumped(crashed)).reason).toMatch(/terminated: a batch was not answered/);
    await pumped(restarted);
    // The batch sent ahead never started: it runs again on the new worker; the queued one runs after it.
    expect(first(await pumped(ahead))).toBe(2);
    expect(first(await pumped(queued))).toBe(3);
    const stats = ex.stats().devices['cpu0']!;
    expect(stats.restarts).toBe(1);
    expect(stats.failed).toBe(false);
    // The slab lent to the terminated worker is written off and replaced.
    expect(stats.inputSlabs?.lost).toBeGreaterThanOrEqual(1);
    expect(first(await pumped(ex.submit('add', item(5), { deadline: clock.now() + 60_000 })))).toBe(6);
  }, 60_000);
});
