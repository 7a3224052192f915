import { createManualClock, silentLogger } from '@epara/core';
import type { ClusterView } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { describe, expect, it } from 'vitest';
import { COORDINATOR_SERVICE, serverEntry } from '../testing/coordinator-fixture.js';
import { resolveCoordinatorOptions } from './coordinator-options.js';
import { PlacementCoordinator } from './placement-coordinator.js';
import type { PlacementDecision, PlacementPayload } from './placement-payload.js';

/*
 * The placement leader under one-way cuts, where a link looks alive but carries frames one way only and the view
 * (relayed by the other servers) still shows both sides alive. A decision the follower cannot hear is sent again
 * until acknowledged, so it lands once the cut heals — not at the next period (ten minutes here). A follower the
 * leader cannot hear (its reports and acknowledgements lost) is left out of the placements the leader makes
 * meanwhile: neither given instances nor drained, and planned for again once heard.
 */

const PERIOD = 600_000;

/**
 * Leader `a` and followers `b` and `c` (started with {@link pair}'s `join`), one CPU each but `a` when told, all alive
 * in every view; `cut` drops what goes one way between `a` and `b`.
 */
function pair(o: { readonly leaderDevice?: boolean } = {}) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const cut = { aToB: false, bToA: false };
  const runs: PlacementDecision[] = [];
  const applied: Record<string, PlacementDecision[]> = { a: [], b: [], c: [] };
  const members = new Set(['a', 'b']);
  const queue: { from: string; to: string; payload: PlacementPayload }[] = [];
  const view = (): ClusterView => ({ entries: Object.fromEntries([...members].map((id) => [id, serverEntry(id, true)])) });
  const nodes: Record<string, PlacementCoordinator> = {};
  for (const id of ['a', 'b', 'c']) {
    nodes[id] = new PlacementCoordinator({
      selfId: id,
      timers,
      periodMs: PERIOD,
      services: [COORDINATOR_SERVICE],
      devices: id === 'a' && o.leaderDevice === false ? [] : [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
      options: resolveCoordinatorOptions({ initialDelayMs: 100 }, { services: [COORDINATOR_SERVICE], syncPeriodMs: 100 }),
      hasSeeds: false,
      view,
      hosted: () => [],
      epoch: () => 1,
      send: (to, payload) => void (!((id === 'a' && to === 'b' && cut.aToB) || (id === 'b' && to === 'a' && cut.bToA)) && queue.push({ from: id, to, payload })),
      apply: (d) => void applied[id]!.push(d),
      logger: silentLogger,
      now: () => clock.now(),
      ran: (e) => void runs.push({ kind: 'placement', leader: id, leaderEpoch: 1, seq: e.seq, trigger: e.trigger, instances: e.instances, changes: [], goodputPerSec: e.goodputPerSec }),
    });
  }
  const a = nodes['a']!;
  const b = nodes['b']!;
  /** Delivers what was sent (and what that sends in turn) until nothing is left. */
  const deliver = (): void => {
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) nodes[m.to]!.onPayload(m.from, m.payload);
  };
  /** Moves time `ms` in steps of 10 ms, delivering at each. */
  const advance = (ms: number): void => {
    for (let t = 0; t < ms; t += 10) {
      timers.advance(10);
      deliver();
    }
  };
  a.start();
  b.start();
  b.onViewChanged(); // b reports its devices to its leader a
  deliver();
  /** `c` joins: in every view, started, reporting to `a`. */
  const join = (): void => {
    members.add('c');
    nodes['c']!.start();
    a.onViewChanged();
    nodes['c']!.onViewChanged();
    deliver();
  };
  return { a, b, cut, runs, applied, advance, deliver, queue, join };
}

const servers = (d: PlacementDecision | undefined): string[] => [...new Set(d?.instances.map((i) => i.serverId) ?? [])].sort();

describe('placement leader under one-way cuts', () => {
  it('a decision the follower cannot hear is sent again until acknowledged: it lands once the cut heals', () => {
    const { a, cut, applied, advance } = pair();
    advance(200); // the first placement, delivered and acknowledged
    expect(applied['b']!.map((d) => d.seq)).toEqual([1]);
    cut.aToB = true;
    expect(a.run('manual')?.seq).toBe(2);
    advance(5000);
    expect(applied['b']!.map((d) => d.seq)).toEqual([1]);
    cut.aToB = false;
    // Resent at a wait that doubled up to the period at most: within a few of them, not at the next period. (b went
    // unheard meanwhile — it could not answer what it never got — so a places once more with it, `joined`.)
    advance(10_000);
    expect(applied['b']!.map((d) => d.seq)).toContain(2);
    expect(applied['b']!.at(-1)!.seq).toBe(a.lastDecision!.seq);
  });

  it('once acknowledged, a decision is not sent again', () => {
    const { a, applied, advance, queue } = pair();
    advance(200);
    expect(applied['b']!.map((d) => d.seq)).toEqual([1]);
    a.run('manual');
    advance(100);
    expect(applied['b']!.map((d) => d.seq)).toEqual([1, 2]);
    // Nothing more goes between them until the period (its probes): no resend of an acknowledged decision.
    let sent = 0;
    for (let t = 0; t < 60_000; t += 10) {
      advance(10);
      sent += queue.length;
    }
    expect(sent).toBe(0);
    expect(applied['b']!.map((d) => d.seq)).toEqual([1, 2]);
  });

  it('a follower the leader cannot hear is left out of its placements, and planned for again once heard', () => {
    const { a, cut, runs, advance, join } = pair({ leaderDevice: false });
    advance(200);
    expect(servers(runs.at(-1))).toEqual(['b']); // the instance is on b, the only server with a device
    join();
    advance(200);
    expect(servers(runs.at(-1))).toEqual(['b']); // c joined: placed for, the instance stays on b
    cut.bToA = true;
    // A manual run goes out and is resent: b applies it and its acknowledgements are lost.
    a.run('manual');
    // Resends a second or more apart count (1.6, 3.2 and 6.4 s here): the first ones do not leave b out.
    advance(5000);
    expect(servers(a.run('manual'))).toEqual(['b']);
    advance(20_000);
    const left = a.run('manual');
    // Without b (its instance unseen), the service gets one on c; b's instance is not drained either.
    expect(servers(left)).toEqual(['c']);
    expect(left!.changes.filter((c) => c.serverId === 'b')).toEqual([]);
    // b is heard again (its acknowledgement of a resent decision): the leader re-places with it.
    cut.bToA = false;
    const before = runs.length;
    advance(PERIOD / 10);
    expect(runs.length).toBeGreaterThan(before);
    expect(runs.at(-1)!.trigger).toBe('joined');
    expect(servers(runs.at(-1))).toContain('b');
  });
});
