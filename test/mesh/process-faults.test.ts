import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { aliveIds, input, ready, serverOf, until, untilReady } from './helpers.js';
import { expectInvariants, FaultHarness, submitAll, TYPED } from './fault-harness.js';

/*
 * Faults in a running cluster of real processes on 127.0.0.1 (the fault harness): peers stopped (SIGSTOP: the
 * sockets stay open and nothing answers), killed (SIGKILL) or restarted under the same id while requests are
 * offloaded to them. The node under test runs in this process and hosts nothing, so every request it takes goes
 * to a peer. Every submit must settle — the right answer or a typed error — by its deadline plus the response
 * grace plus a bound, the view must converge afterwards, and the closed node must leave nothing behind.
 */

const h = new FaultHarness();
afterEach(() => h.close());

const inputs = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('faults in a cluster of real processes', () => {
  it('a peer that hangs (stopped, its sockets open) mid-offload: every submit settles typed, and it rejoins when it resumes', async () => {
    const n0 = await h.observer();
    // A second per request: n1 still holds most of them when it stops, however loaded this machine is.
    const p1 = await h.peer({ id: 'n1', seed: n0.address!, serviceTimeMs: 1000, tag: 1 });
    await untilReady(n0, 'n1');
    const run = submitAll(n0, inputs(6), 8000);
    await until(() => run.offloaded() >= 6, 'all six offloaded to n1');
    p1.child.kill('SIGSTOP');
    const results = await run.settled;
    expectInvariants(results, [1]);
    expect(results.some((r) => r.code !== undefined)).toBe(true);
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 marks the hung n1 dead', 30_000);
    // While n1 hangs, a new request is refused at once (nobody else hosts echo), not left waiting.
    const refused = await n0.submit('echo', input([1]), { deadline: Date.now() + 2000 }).catch((e: unknown) => e);
    expect(isEparaError(refused) && TYPED.includes(refused.code)).toBe(true);
    p1.child.kill('SIGCONT');
    await untilReady(n0, 'n1');
    // n1 still works through the requests it held when it stopped (their senders gave up): a generous deadline.
    const out = await n0.submit('echo', input([21]), { deadline: Date.now() + 30_000 });
    expect((out['x']!.data as Float32Array)[0]).toBe(42);
    expect(await h.closeLeavingNothing()).toEqual([]);
  });

  it('a peer killed mid-offload: its requests are retried on the other peer or typed; the view drops it', async () => {
    const n0 = await h.observer();
    // Only n1 hosts echo while the requests are sent, so every one goes there; n2 loads its instance before n1
    // dies. n1 takes a second per request, so it still holds most of them when it is killed.
    const p1 = await h.peer({ id: 'n1', seed: n0.address!, serviceTimeMs: 1000, tag: 1 });
    const p2 = await h.peer({ id: 'n2', seed: n0.address!, serviceTimeMs: 20, tag: 2, loadOnSignal: true });
    await until(() => ready(n0, 'n1') && n0.view().entries['n2']?.alive === true, 'n0 sees the instance of n1, and n2');
    const run = submitAll(n0, inputs(12), 20_000);
    await until(() => run.offloaded() >= 12, 'n1 holds the forwarded requests');
    p2.loadNow();
    await untilReady(n0, 'n2');
    p1.child.kill('SIGKILL');
    expectInvariants(await run.settled, [1, 2]);
    expect(n0.stats().retried).toBeGreaterThan(0);
    await until(() => n0.view().entries['n1']?.alive === false && aliveIds(n0).join() === 'n0,n2', 'n0 sees n1 dead and n2 alive');
    expect(await h.closeLeavingNothing()).toEqual([]);
  });

  it('the server placement gave the only instance killed mid-offload: requests settle, and placement moves the service to the survivor', async () => {
    // The observer takes the highest id, so the placement leader (lowest alive id) is a process: n1, then n2 if n1
    // dies. It runs placement too, with no device: it reports that, and the leader places once everyone reported.
    const n9 = await h.observer({ id: 'n9', placement: { initialDelayMs: 300 } });
    const peers = new Map([
      ['n1', await h.peer({ id: 'n1', seed: n9.address!, serviceTimeMs: 300, tag: 1, placement: true })],
      ['n2', await h.peer({ id: 'n2', seed: n9.address!, serviceTimeMs: 300, tag: 2, placement: true })],
    ]);
    // The leader places one instance (the demand floor) on n1 or n2.
    await until(() => ready(n9, 'n1') || ready(n9, 'n2'), 'n9 sees the instance the leader placed', 30_000);
    const [victim, survivor] = ready(n9, 'n1') ? ['n1', 'n2'] : ['n2', 'n1'];
    const run = submitAll(n9, inputs(8), 10_000);
    await until(() => run.offloaded() >= 8, 'n9 offloaded the eight requests');
    peers.get(victim)!.child.kill('SIGKILL');
    expectInvariants(await run.settled, [1, 2]);
    // Losing a server triggers a placement at once (by the survivor itself when the leader died).
    await until(() => n9.view().entries[victim]?.alive === false && ready(n9, survivor), `n9 sees ${victim} dead and an instance on ${survivor}`, 30_000);
    const out = await n9.submit('echo', input([5]), { deadline: Date.now() + 10_000 });
    expect([serverOf(out), (out['x']!.data as Float32Array)[0]]).toEqual([Number(survivor.slice(1)), 10]);
  }, 90_000);

  it('a peer restarted under the same id rejoins with a new epoch and serves again', async () => {
    const n0 = await h.observer();
    const first = await h.peer({ id: 'n1', seed: n0.address!, serviceTimeMs: 20, tag: 1 });
    await untilReady(n0, 'n1');
    const epoch = n0.view().entries['n1']!.epoch;
    const address = n0.view().entries['n1']!.address;
    first.child.kill('SIGKILL');
    await until(() => n0.view().entries['n1']?.alive === false, 'n0 sees n1 dead');
    await h.peer({ id: 'n1', seed: n0.address!, serviceTimeMs: 20, tag: 2 });
    await until(() => ready(n0, 'n1') && n0.view().entries['n1']!.epoch > epoch, 'n1 back with a newer epoch', 30_000);
    expect(n0.view().entries['n1']!.address).not.toBe(address);
    const out = await n0.submit('echo', input([4]), { deadline: Date.now() + 5000 });
    expect(serverOf(out)).toBe(2);
    expect((out['x']!.data as Float32Array)[0]).toBe(8);
  });
});
