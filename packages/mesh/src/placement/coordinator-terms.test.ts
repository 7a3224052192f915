import type { ClusterView } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { createManualClock, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { COORDINATOR_SERVICE, serverEntry } from '../testing/coordinator-fixture.js';
import { resolveCoordinatorOptions } from './coordinator-options.js';
import { PlacementCoordinator } from './placement-coordinator.js';
import { parsePlacementPayload } from './placement-payload.js';
import type { PlacementDecision, PlacementPayload } from './placement-payload.js';

const noop = (): void => undefined;

/** Coordinators (three by default) over a network whose messages the test delivers (or holds back) one by one. */
function cluster(ids: readonly string[] = ['a', 'b', 'c']) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const alive = new Map<string, Set<string>>(ids.map((id) => [id, new Set(ids)]));
  const inbox: { from: string; to: string; payload: PlacementPayload }[] = [];
  const applied = new Map<string, PlacementDecision[]>(ids.map((id) => [id, []]));
  const nodes = new Map(
    ids.map((id) => {
      const view = (): ClusterView => ({ entries: Object.fromEntries(ids.map((s) => [s, serverEntry(s, alive.get(id)!.has(s))])) }) as unknown as ClusterView;
      const c = new PlacementCoordinator({
        selfId: id,
        timers,
        periodMs: 600_000,
        services: [COORDINATOR_SERVICE],
        devices: [{ id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 }],
        options: resolveCoordinatorOptions({ initialDelayMs: 100 }, { services: [COORDINATOR_SERVICE], syncPeriodMs: 100 }),
        hasSeeds: false,
        view,
        hosted: () => [],
        epoch: () => 1,
        send: (to, payload) => void inbox.push({ from: id, to, payload }),
        apply: (d) => void applied.get(id)!.push(d),
        logger: silentLogger,
        ran: noop,
      });
      return [id, c];
    }),
  );
  /** Delivers every message waiting that `keep` does not hold back; returns the held ones. */
  const deliver = (keep: (m: (typeof inbox)[number]) => boolean = () => false): typeof inbox => {
    const held: typeof inbox = [];
    while (inbox.length > 0) {
      const m = inbox.shift()!;
      if (keep(m)) held.push(m);
      else nodes.get(m.to)!.onPayload(m.from, m.payload);
    }
    return held;
  };
  const setAlive = (of: string, up: boolean): void => {
    for (const id of ids) if (id !== of) (up ? alive.get(id)!.add(of) : alive.get(id)!.delete(of));
    for (const id of ids) if (id !== of) nodes.get(id)!.onViewChanged();
  };
  /** Sets who `viewer` sees alive, and tells it its view changed. */
  const sees = (viewer: string, up: readonly string[]): void => {
    alive.set(viewer, new Set(up));
    nodes.get(viewer)!.onViewChanged();
  };
  return { nodes, deliver, setAlive, sees, applied, timers, inbox };
}

const byWhom = (ds: readonly PlacementDecision[]): string[] => ds.map((d) => `${d.leader}@${d.term}`);

describe('placement coordinator: leadership terms', () => {
  it("a failed-over leader's decision that arrives late is refused; the leader, back, leads under a new term", () => {
    const { nodes, deliver, setAlive, applied, timers, inbox } = cluster();
    for (const c of nodes.values()) (c.start(), c.onViewChanged());
    deliver(); // b and c report their devices to a
    expect(nodes.get('a')!.run('manual')).toMatchObject({ leader: 'a', term: 1 });
    // a's decision reaches b; the one to c is held on the way.
    const held = deliver((m) => m.to === 'c' && m.payload.kind === 'placement');
    expect(held).toHaveLength(1);
    // a is failed over: b leads under a newer term, and c applies its decision.
    setAlive('a', false);
    deliver();
    expect(nodes.get('b')!.run('failure')).toMatchObject({ leader: 'b', term: 2 });
    deliver();
    expect(byWhom(applied.get('c')!)).toEqual(['b@2']);
    // a is back (it never saw itself lose the lead), and the held decision arrives at last: refused.
    setAlive('a', true);
    for (const m of held) nodes.get(m.to)!.onPayload(m.from, m.payload);
    expect(byWhom(applied.get('c')!)).toEqual(['b@2']);
    // b and c report to a again with the term they saw: a leads under a newer one, re-placing soon on its own.
    deliver();
    timers.advance(100);
    const fresh = inbox.filter((m) => m.payload.kind === 'placement');
    expect(fresh.map((m) => (m.payload as PlacementDecision).term)).toEqual([3, 3]);
    deliver();
    expect(byWhom(applied.get('c')!)).toEqual(['b@2', 'a@3']);
    expect(byWhom(applied.get('b')!)).toEqual(['a@1', 'b@2', 'a@3']);
    for (const c of nodes.values()) c.stop();
  });

  it('two leaders of one term number (each side of a partition) are told apart: the stale one cannot undo the healed leader', () => {
    const { nodes, deliver, sees, applied } = cluster(['a', 'b', 'c', 'd']);
    for (const c of nodes.values()) (c.start(), c.onViewChanged());
    deliver();
    expect(nodes.get('a')!.run('manual')).toMatchObject({ leader: 'a', term: 1 });
    deliver();
    // a freezes and the rest split: b alone, c and d together. Each side leads from term 1 to the same number.
    sees('b', ['b']);
    sees('c', ['c', 'd']);
    sees('d', ['c', 'd']);
    deliver();
    expect(nodes.get('b')!.run('failure')).toMatchObject({ leader: 'b', term: 2 });
    expect(nodes.get('c')!.run('failure')).toMatchObject({ leader: 'c', term: 2 });
    deliver();
    // c decides once more while the cut heals; that decision is held on its way to d.
    expect(nodes.get('c')!.run('manual')).toMatchObject({ leader: 'c', term: 2 });
    const held = deliver((m) => m.payload.kind === 'placement');
    // The heal: d reports to b the term it applied (c's); b leads again under a term above it, and d applies that.
    for (const id of ['b', 'c', 'd']) sees(id, ['b', 'c', 'd']);
    deliver();
    const healed = nodes.get('b')!.run('manual');
    deliver();
    expect(healed!.term).toBe(3);
    expect(byWhom(applied.get('d')!)).toEqual(['a@1', 'c@2', 'b@3']);
    // b fails too: d now sees c lead, and c's decision from before the heal arrives at last: refused.
    sees('c', ['c', 'd']);
    sees('d', ['c', 'd']);
    for (const m of held) nodes.get(m.to)!.onPayload(m.from, m.payload);
    expect(byWhom(applied.get('d')!)).toEqual(['a@1', 'c@2', 'b@3']);
    for (const c of nodes.values()) c.stop();
  });

  it("a device report's term leader must be an id; a report without one (an older build) still parses", () => {
    const report = { kind: 'devices', serverId: 'b', devices: [], term: 2 };
    expect(parsePlacementPayload({ ...report, termLeader: 'c' })).toBeDefined();
    expect(parsePlacementPayload(report)).toBeDefined();
    expect(parsePlacementPayload({ ...report, termLeader: 7 })).toBeUndefined();
  });

  it('a decision of an older build (no term) is applied as before', () => {
    const { nodes, applied } = cluster();
    const c = nodes.get('c')!;
    c.start();
    const decision: PlacementDecision = { kind: 'placement', leader: 'a', leaderEpoch: 1, seq: 1, trigger: 'manual', instances: [], changes: [], goodputPerSec: 0 };
    c.onPayload('a', decision);
    expect(applied.get('c')).toEqual([decision]);
    c.stop();
  });
});
