import { afterEach, describe, expect, it } from 'vitest';
import type { MeshNode } from '@epara/mesh';
import { aliveIds, until } from './helpers.js';
import { completions, expectInvariants, FaultHarness, submitAll } from './fault-harness.js';

/*
 * The placement leader frozen (SIGSTOP) for longer than the failure timeout, then resumed (SIGCONT), in a cluster
 * of real processes: n1, n2 and n3 run placement with a CPU device each, and the observer n9 (this process, no
 * device) takes the requests. While n1 is frozen, n2 leads and places; when n1 resumes it comes back with its
 * stale view and its stale timers, must not be taken for the leader before it is alive again in the others'
 * views, and must rejoin and lead again. Every submit settles once, right or typed, and after n1's return the
 * service is never left without a ready instance.
 */

const h = new FaultHarness();
afterEach(() => h.close());

const inputs = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const readyHosts = (n: MeshNode): string[] =>
  Object.values(n.view().entries)
    .filter((e) => e.alive && e.instances.some((i) => i.serviceId === 'echo' && i.status === 'ready'))
    .map((e) => e.serverId);

describe('the placement leader frozen past the failure timeout, then resumed', () => {
  it('the survivors lead and serve meanwhile; the resumed leader rejoins, leads again, and its return costs no request', async () => {
    const n9 = await h.observer({ id: 'n9', placement: { initialDelayMs: 300 } });
    const done = completions(n9);
    const seed = n9.address!;
    const peers = new Map<string, Awaited<ReturnType<FaultHarness['peer']>>>();
    for (const [i, id] of ['n1', 'n2', 'n3'].entries()) peers.set(id, await h.peer({ id, seed, serviceTimeMs: 100, tag: i + 1, placement: true }));
    await until(() => readyHosts(n9).length > 0 && n9.stats().leader === 'n1', 'n9 sees the instance n1 placed', 30_000);

    const applied: { leader: string; seq: number; alive: string }[] = [];
    n9.on('placementApplied', (e) => applied.push({ leader: e.leader, seq: e.seq, alive: aliveIds(n9).join() }));
    const run = submitAll(n9, inputs(8), 8000);
    await until(() => run.offloaded() >= 8, 'n9 offloaded the eight requests');
    peers.get('n1')!.child.kill('SIGSTOP');
    await until(() => n9.view().entries['n1']?.alive === false && n9.stats().leader === 'n2', 'n9 sees n1 dead and n2 leading', 30_000);
    await until(() => readyHosts(n9).some((id) => id !== 'n1'), 'a survivor hosts echo', 30_000);
    expectInvariants(await run.settled, [1, 2, 3]);
    const meanwhile = await submitAll(n9, inputs(6, 20), 8000).settled;
    expectInvariants(meanwhile, [2, 3]);
    expect(meanwhile.every((o) => o.code === undefined)).toBe(true);

    // From n1's return on, the service must keep a ready instance in n9's view at every change.
    let empty = 0;
    const check = (): void => void (readyHosts(n9).length === 0 && (empty += 1));
    peers.get('n1')!.child.kill('SIGCONT');
    await until(() => n9.view().entries['n1']?.alive === true && n9.stats().leader === 'n1', 'n9 sees n1 back and leading', 30_000);
    n9.on('viewChanged', check);
    // n1 places from the view it rejoined with (its stale decision the basis): make-before-break on a fresh view.
    const runs = peers.get('n1')!.output().split('"placementComputed"').length - 1;
    peers.get('n1')!.placeNow();
    await peers.get('n1')!.printed('"placementComputed"', runs + 1);
    await until(() => readyHosts(n9).length > 0 && n9.view().entries['n1']?.alive === true, 'the placement of the resumed n1 applied', 30_000);
    const after = await submitAll(n9, inputs(6, 40), 8000).settled;
    expectInvariants(after, [1, 2, 3]);
    expect(after.every((o) => o.code === undefined)).toBe(true);
    // Every placement n9 applied came from the leader of the view it held then: none from n1 while n1 was dead to it.
    for (const a of applied) expect(a.alive.split(',').sort()[0]).toBe(a.leader);
    expect(empty).toBe(0);
    done.check();
  }, 90_000);
});
