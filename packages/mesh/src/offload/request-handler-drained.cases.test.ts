import { describe, expect, it } from 'vitest';
import type { InstanceInfo, ServerEntry } from '@epara/core';
import { handlerFixture, peerEntry, x } from './request-handler-fixture.js';

// A server whose own queue misses a request's deadline hands it, at its entry, to a peer whose reported wait,
// drained over its entry's age at its reported load (ρ = load / capacity: `wait + age·(ρ − 1)`, never below 0),
// plus one item's time at its capacity per request sent to it since the entry, meets the deadline. Figures: the
// peer's entry is 100 ms old and reported 150 ms of wait, at a capacity of 100/s (10 ms an item); travel 5 ms each
// way and a 5 ms run; a deadline 100 ms away with a 1 ms guard: a drained wait up to about 84 ms fits.

const instance = (id: string, serviceId: string, waitMs: number, loadPerSec: number): InstanceInfo => ({
  ...peerEntry('b', { waitMs, loadPerSec }).instances[0]!,
  instanceId: id,
  serviceId,
});

function setup(o: { loadPerSec?: number; otherFirst?: boolean } = {}) {
  const own = instance('b/s', 's', 150, o.loadPerSec ?? 0);
  // Another service's instance listed first on the entry, idle: its figures are not the service's.
  const instances = o.otherFirst ? [instance('b/t', 't', 0, 0), own] : [own];
  const entry: ServerEntry = { ...peerEntry('b', { updatedAt: 900 }), instances };
  // The local instance takes 200 ms an item: a request due in 100 is not run here.
  const { clock, sent, handler } = handlerFixture({ now: 1000, entries: { b: entry }, hosted: true, serviceTimeMs: 200, config: { network: () => ({ delayMs: { b: 5 } }), guardMs: 1 } });
  /** Hands requests due in 100 ms on one after another (none answered); how many went to b before one was refused. */
  const handedBeforeRefusal = async (): Promise<number> => {
    for (let n = 0; n < 20; n++) {
      const before = sent.length;
      const p = handler.handle({ serviceId: 's', inputs: x, deadline: clock.now() + 100, hops: 0, visited: [] });
      if (sent.length === before) {
        await expect(p).rejects.toMatchObject({ code: 'OVERLOADED' });
        return n;
      }
      p.catch(() => undefined);
    }
    return Number.POSITIVE_INFINITY;
  };
  return { handedBeforeRefusal };
}

describe('RequestHandler: the drained wait of a peer it hands a request on to', () => {
  it('adds 10 ms (one item at its capacity) per request sent to it since its entry: 50, 60, 70, 80 ms fit, 90 does not', async () => {
    expect(await setup().handedBeforeRefusal()).toBe(4);
  });

  it('drains at 1 − ρ: at a fifth of its capacity 150 − 80 = 70 ms fits once; at half, 150 − 50 = 100 ms does not', async () => {
    expect(await setup({ loadPerSec: 20 }).handedBeforeRefusal()).toBe(2);
    expect(await setup({ loadPerSec: 50 }).handedBeforeRefusal()).toBe(0);
  });

  it("reads the service's own instance on the peer's entry, not the first one listed", async () => {
    expect(await setup({ otherFirst: true }).handedBeforeRefusal()).toBe(4);
  });
});
