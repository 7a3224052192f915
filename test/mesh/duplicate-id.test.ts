import { afterEach, describe, expect, it } from 'vitest';
import { until } from './helpers.js';
import { completions, expectInvariants, FaultHarness, submitAll } from './fault-harness.js';

/*
 * Two live processes claiming one server id (a host configured with another's id), both running and both
 * hosting `echo`, in a cluster of real processes: the observer n0 (this process, hosting nothing) and n2 (a
 * process hosting nothing, which relays tokens). The later process announces the larger epoch: it takes the
 * id's view entry and links everywhere, the earlier one is refused, and the view never points back at it.
 * Every submit settles once with its own right answer, from either process, or a typed error.
 */

const h = new FaultHarness();
afterEach(() => h.close());

describe('two live processes claiming one server id', () => {
  it('the later run takes the id everywhere and keeps it; every request is answered right or typed', async () => {
    const n0 = await h.observer();
    const done = completions(n0);
    const seed = n0.address!;
    await h.peer({ id: 'n2', seed, serviceTimeMs: 20, tag: 9, hosted: false });
    const first = await h.peer({ id: 'n1', seed, serviceTimeMs: 20, tag: 1 });
    const firstAddress = await first.address;
    await until(() => n0.view().entries['n1']?.address === firstAddress && n0.view().entries['n1']!.instances.length > 0, 'n0 sees the first n1');
    const before = submitAll(n0, [1, 2, 3, 4], 5000);

    const second = await h.peer({ id: 'n1', seed, serviceTimeMs: 20, tag: 2 });
    const secondAddress = await second.address;
    // From the moment n0 sees the second run, its view must never point at the first one again.
    const seen: string[] = [];
    const record = (): void => void seen.push(n0.view().entries['n1']?.address ?? '');
    n0.on('viewChanged', record);
    await until(() => n0.view().entries['n1']?.address === secondAddress, 'n0 sees the second n1', 30_000);
    expectInvariants(await before.settled, [1, 2]);
    const during = await submitAll(n0, [10, 11, 12, 13], 5000).settled;
    expectInvariants(during, [1, 2]);

    // Twenty more sync rounds on n0 (two seconds at 100 ms), the first run still running and redialing all along.
    const rounds = n0.stats().syncRounds;
    await until(() => n0.stats().syncRounds >= rounds + 20, 'twenty more sync rounds on n0', 30_000);
    n0.off('viewChanged', record);
    const firstAgain = seen.slice(seen.indexOf(secondAddress)).filter((a) => a === firstAddress);
    expect(firstAgain).toEqual([]);
    expect(n0.view().entries['n1']).toMatchObject({ address: secondAddress, alive: true });
    const after = await submitAll(n0, [20, 21, 22, 23], 5000).settled;
    expectInvariants(after, [2]);
    expect(after.every((o) => o.code === undefined)).toBe(true);
    done.check();
  }, 90_000); // a hang guard only
});
