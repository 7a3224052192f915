import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger, toEparaError } from '@epara/core';
import type { ClusterView, ServerEntry, ServerId } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createFakeExecutor } from '../testing/fake-executor.js';
import type { OffloadMessage } from './offload-messages.js';
import { RequestHandler } from './request-handler.js';
import { flush, x } from './request-handler-fixture.js';

/*
 * A virtual-time model of the demo's image path (counts, not timings): three servers on the demo's links (0↔1 and
 * 1↔2 5 ms, 0↔2 20 ms one way), two of them hosting the image service (an earliest-deadline queue in batches of 2,
 * 40 ms a batch: 50 images/s each), each server's view entry written every 500 ms (the ring's period, staggered)
 * and seen by the others a link's delay later; 10 s of seeded arrivals with a 300 ms budget, entering by a skewed
 * hot spot that moves at 5 s, with a burst of 4× the mean for 1 s. The same workload runs through the request
 * handlers with a peer's `OVERLOADED` refusal read as its queue until it reports again (`refusalView`, the default)
 * and without (the rule before). The links carry the handlers' own messages: forwards, answers, refusals.
 *
 * What it counted (images good, before → with; forwards refused by a peer; answered late), 2 seeds × 2 loads:
 *   60/s: good 455 → 464 and 462 → 465; refused by a peer 56 → 39 and 73 → 58; late 32 → 23 and 25 → 21
 *   75/s: good 571 → 579 and 540 → 553; refused by a peer 132 → 87 and 126 → 114; late 29 → 21 and 36 → 24
 * A forward refused and sent on again spends its budget on the way: fewer of them end late. The refusals at the
 * entry (no server with room: 96–198 a run) do not change — in a burst past both servers' rate, nothing can take them.
 */

const DELAY: Record<string, number> = { 'e0>e1': 5, 'e1>e0': 5, 'e1>e2': 5, 'e2>e1': 5, 'e0>e2': 20, 'e2>e0': 20 };
const NODES = ['e0', 'e1', 'e2'] as const;
const HOSTS = new Set<ServerId>(['e0', 'e2']);
const SYNC_MS = 500;
const BUDGET_MS = 300;
const RUN_MS = 10_000;

/** Arrival times and entries: Poisson at `meanPerSec` (4× for the second from 3 s, lower elsewhere to keep the mean). */
function workload(seed: number, meanPerSec: number): { at: number; entry: ServerId }[] {
  // Core's seeded generator, so both variants replay the same arrivals.
  const random = createSeededRandom(seed);
  const r = (): number => random.next();
  const burstRate = 4 * meanPerSec;
  const baseRate = (meanPerSec * RUN_MS - burstRate * 1000) / (RUN_MS - 1000);
  const shares: [ServerId, number][][] = [
    [['e0', 0.52], ['e1', 0.3], ['e2', 0.18]],
    [['e2', 0.52], ['e1', 0.3], ['e0', 0.18]],
  ];
  const out: { at: number; entry: ServerId }[] = [];
  for (let t = 0; ; ) {
    const rate = t >= 3000 && t < 4000 ? burstRate : baseRate;
    t += (-Math.log(1 - r()) / rate) * 1000;
    if (t >= RUN_MS) break;
    let u = r();
    const phase = shares[t < RUN_MS / 2 ? 0 : 1]!;
    let entry = phase[phase.length - 1]![0];
    for (const [id, share] of phase) {
      if (u < share) {
        entry = id;
        break;
      }
      u -= share;
    }
    out.push({ at: t, entry });
  }
  return out;
}

interface Outcome {
  offered: number;
  good: number;
  late: number;
  failed: Record<string, number>;
  forwards: number;
  refusedByPeer: number;
}

async function run(seed: number, meanPerSec: number, refusalView: boolean): Promise<Outcome> {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const views: Record<ServerId, ClusterView> = { e0: { entries: {} }, e1: { entries: {} }, e2: { entries: {} } };
  const executors = Object.fromEntries(
    NODES.map((id) => [id, createFakeExecutor({ services: { img: { serviceTimeMs: 40, batchSize: 2 } }, hosted: HOSTS.has(id) ? ['img'] : [], clock, timers })]),
  );
  const out: Outcome = { offered: 0, good: 0, late: 0, failed: {}, forwards: 0, refusedByPeer: 0 };
  const handlers: Record<ServerId, RequestHandler> = {};
  let ids = 1;
  const after = (from: ServerId, to: ServerId, fn: () => void): void => void timers.setTimeout(fn, DELAY[`${from}>${to}`]!);
  const deliver = (from: ServerId, to: ServerId, m: OffloadMessage): void => {
    if (m.type !== 'submit') return;
    after(from, to, () => {
      const deadline = clock.now() + m.budgetMs;
      handlers[to]!.handle({ serviceId: m.serviceId, inputs: m.inputs, deadline, hops: m.hops, visited: m.visited }).then(
        (outputs) => after(to, from, () => handlers[from]!.onResponse(to, { type: 'result', requestId: m.requestId, outputs })),
        (err: unknown) => {
          const error = toEparaError(err);
          if (error.code === 'OVERLOADED') out.refusedByPeer++;
          after(to, from, () => handlers[from]!.onResponse(to, { type: 'error', requestId: m.requestId, error }));
        },
      );
    });
  };
  for (const id of NODES) {
    const delayMs = Object.fromEntries(NODES.filter((p) => p !== id).map((p) => [p, DELAY[`${id}>${p}`]!]));
    handlers[id] = new RequestHandler({
      selfId: id,
      clock,
      timers,
      executor: executors[id]!,
      view: () => views[id]!,
      network: () => ({ delayMs }),
      hopLimit: 2,
      guardMs: 1,
      hopDelayMs: 5,
      responseGraceMs: 100,
      nextId: () => ids++,
      logger: silentLogger,
      refusalView,
      send: (to, m) => deliver(id, to, m),
      hooks: { offloaded: () => void out.forwards++, rejected: () => undefined, ranLocally: () => undefined, resentUnanswered: () => undefined },
    });
  }
  // Each server writes its entry every sync period (staggered); the others see it a link's delay later.
  NODES.forEach((id, k) => {
    let version = 0;
    const write = (): void => {
      const entry: ServerEntry = { serverId: id, epoch: 1, version: ++version, updatedAt: clock.now(), alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {}, instances: executors[id]!.instances() };
      views[id] = { entries: { ...views[id]!.entries, [id]: entry } };
      for (const q of NODES) if (q !== id) after(id, q, () => void (views[q] = { entries: { ...views[q]!.entries, [id]: entry } }));
      timers.setTimeout(write, SYNC_MS);
    };
    timers.setTimeout(write, (k * SYNC_MS) / NODES.length);
  });
  // Each arrival schedules the next (one timer pending, not the whole run's: the manual timers scan them all).
  const arrivals = workload(seed, meanPerSec);
  const arrive = (i: number): void => {
    const a = arrivals[i];
    if (a === undefined) return;
    timers.at(SYNC_MS + a.at, () => {
      arrive(i + 1);
      out.offered++;
      const deadline = clock.now() + BUDGET_MS;
      handlers[a.entry]!.handle({ serviceId: 'img', inputs: x, deadline, hops: 0, visited: [] }).then(
        () => void (clock.now() <= deadline ? out.good++ : out.late++),
        (err: unknown) => {
          const code = toEparaError(err).code;
          out.failed[code] = (out.failed[code] ?? 0) + 1;
        },
      );
    });
  };
  arrive(0);
  for (let t = 0; t < SYNC_MS + RUN_MS + 2000; t++) {
    timers.advance(1);
    await flush();
  }
  return out;
}

describe('a refused forward read as the peer\'s queue: the demo\'s image path in virtual time', () => {
  it('refuses fewer forwards at the peers and serves no fewer images in time, on every seed and load', async () => {
    for (const meanPerSec of [60, 75]) {
      for (const seed of [1, 2]) {
        const before = await run(seed, meanPerSec, false);
        const after = await run(seed, meanPerSec, true);
        expect(after.offered).toBe(before.offered);
        expect(after.refusedByPeer).toBeLessThan(before.refusedByPeer);
        expect(after.good).toBeGreaterThanOrEqual(before.good);
      }
    }
  }, 120_000);
});
