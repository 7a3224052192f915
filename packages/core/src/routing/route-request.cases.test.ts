import { describe, expect, it } from 'vitest';
import type { InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { createView } from '../view/merge-view.js';
import { invalidField } from '../testing/invalid-field.js';
import { routeRequest, type RouteRequestInput } from './route-request.js';

// Default options throughout: guard 1 ms, 1 ms each way, three candidates. A peer with waitMs w and runMs r
// is estimated at now + 1 + w + r + 1.
function inst(instanceId: string, extra: Partial<InstanceInfo> = {}): InstanceInfo {
  return { instanceId, serviceId: 'seg', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs: 8, ...extra };
}
function server(serverId: string, instances: InstanceInfo[], extra: Partial<ServerEntry> = {}): ServerEntry {
  return { serverId, epoch: 1, version: 1, updatedAt: 0, alive: true, instances, load: 0.5, freeMemoryBytes: 0, arrivalRates: {}, ...extra };
}
const route = (input: Partial<RouteRequestInput> & Pick<RouteRequestInput, 'view'>) =>
  routeRequest({ request: { serviceId: 'seg', deadline: 100 }, local: undefined, self: 'me', now: 0, ...input });

describe('routeRequest, the deadline boundary of a forward', () => {
  it('forwards to a peer whose estimate lands exactly at deadline − guard', () => {
    // 1 + 0 + 8 + 1 = 10 = 11 − 1.
    const view = createView([server('p', [inst('p/1')])]);
    expect(route({ view, request: { serviceId: 'seg', deadline: 11 } })).toMatchObject({ action: 'forward', serverId: 'p', estimateAt: 10 });
    expect(route({ view, request: { serviceId: 'seg', deadline: 10.5 } })).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
  });
});

describe('routeRequest, requests sent since a report', () => {
  it('a count of zero or below adds no wait to the peer', () => {
    const view = createView([server('p', [inst('p/1', { waitMs: 5 })])]);
    for (const sent of [0, -2]) {
      const d = route({ view, sentSinceReport: { p: sent } });
      expect(d).toMatchObject({ action: 'forward', estimateAt: 15 });
      if (d.action === 'forward') expect(d.candidates[0]!.inflatedWaitMs).toBe(5);
    }
  });
});

describe('routeRequest, the short list', () => {
  it('lists every peer once with its own figures when a peer\'s better instance replaced its first one', () => {
    // A first decision leaves spare slots behind (four feasible peers, three listed).
    const wide = createView(['w1', 'w2', 'w3', 'w4'].map((id, i) => server(id, [inst(`${id}/1`, { waitMs: i })])));
    expect(route({ view: wide })).toMatchObject({ action: 'forward', serverId: 'w1' });
    // p's second instance beats its first; q and r come after it.
    const view = createView([
      server('p', [inst('p/slow', { waitMs: 20 }), inst('p/fast', { waitMs: 0 })]),
      server('q', [inst('q/1', { waitMs: 3 })]),
      server('r', [inst('r/1', { waitMs: 6 })]),
    ]);
    const d = route({ view });
    if (d.action !== 'forward') throw new Error(`expected a forward, got ${d.action}`);
    expect(d.candidates.map((c) => [c.serverId, c.instanceId, c.estimateAt])).toEqual([
      ['p', 'p/fast', 10],
      ['q', 'q/1', 13],
      ['r', 'r/1', 16],
    ]);
  });

  it('of a peer\'s equally good instances names the later one, whether or not the list is already full', () => {
    // p's two instances estimate the same; with one candidate allowed the list is full when the second comes.
    const view = createView([server('p', [inst('p/1'), inst('p/2')])]);
    for (const maxCandidates of [1, 3]) {
      const d = route({ view, options: { maxCandidates } });
      if (d.action !== 'forward') throw new Error(`expected a forward, got ${d.action}`);
      expect(d.candidates.map((c) => c.instanceId)).toEqual(['p/2']);
    }
  });
});

describe('routeRequest, the idle-local test of a rejection', () => {
  it('reads only this service\'s ready instances in its own entry: DEADLINE_INFEASIBLE when that one could not finish idle', () => {
    // No peer. Here: the service's ready instance runs 50 ms (an idle run misses 30 − 1); a loading instance of it
    // and a ready instance of another service would run in 1 ms, and say nothing about this service now.
    const view = createView([
      server('me', [inst('me/seg', { runMs: 50 }), inst('me/seg-loading', { runMs: 1, status: 'loading' }), inst('me/cls', { runMs: 1, serviceId: 'cls' })]),
    ]);
    const local = { completionAt: 60, ready: true };
    expect(route({ view, local, request: { serviceId: 'seg', deadline: 30 } })).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
    // The same instance running 20 ms would finish idle in time: the queue is what is too long.
    const fits = createView([server('me', [inst('me/seg', { runMs: 20 })])]);
    expect(route({ view: fits, local, request: { serviceId: 'seg', deadline: 30 } })).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
  });
});

describe('routeRequest, the reasons of its rejections', () => {
  // The reason is what a rejected caller reads (the request handler makes it the error's message): it quotes the
  // figures the rejection was decided on.
  const reasonOf = (d: ReturnType<typeof routeRequest>): string => (d.action === 'reject' ? d.reason : `not a rejection: ${d.action}`);

  it('HOP_LIMIT quotes the local estimate against the budget, and the hops against the limit', () => {
    const view = createView([server('p', [inst('p/1')])]);
    const d = route({ view, local: { completionAt: 150, ready: true }, request: { serviceId: 'seg', deadline: 100, hops: 2 } });
    expect(d).toMatchObject({ action: 'reject', code: 'HOP_LIMIT' });
    expect(reasonOf(d)).toBe('local estimate 150 ms, 51 ms past the 99 ms budget; 2 hops taken, limit 2');
  });

  it('NO_INSTANCE names the service', () => {
    expect(reasonOf(route({ view: createView([]), request: { serviceId: 'ghost', deadline: 100 } }))).toBe('no ready instance of ghost here or in the view');
  });

  it('OVERLOADED says there is no ready local instance, and that no peer meets the budget at its wait', () => {
    const view = createView([server('p', [inst('p/1', { waitMs: 500 })])]);
    const d = route({ view });
    expect(d).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
    expect(reasonOf(d)).toBe('no ready local instance; no unvisited peer meets the 99 ms budget at its current wait');
  });

  it('DEADLINE_INFEASIBLE quotes how long even the quickest idle instance would take, and by how much that is late', () => {
    // Here idle: 500 ms; p idle: 1 + 500 + 1 = 502 ms. The quicker one is quoted.
    const view = createView([server('me', [inst('me/1', { runMs: 500 })]), server('p', [inst('p/1', { runMs: 500 })])]);
    const d = route({ view, local: { completionAt: 700, ready: true } });
    expect(d).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
    expect(reasonOf(d)).toBe('local estimate 700 ms, 601 ms past the 99 ms budget; even an idle instance would take 500 ms, 401 ms past it');
  });

  it('DEADLINE_INFEASIBLE with only visited peers hosting the service says that no unvisited one does', () => {
    const view = createView([server('p', [inst('p/1')])]);
    const d = route({ view, request: { serviceId: 'seg', deadline: 100, visited: ['p'] } });
    expect(d).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
    expect(reasonOf(d)).toBe('no ready local instance; no unvisited peer hosts a ready instance');
  });
});

describe('routeRequest, the reasons on an epoch clock', () => {
  // Hosts route on Date.now(): the figures a reason quotes are durations from now (ms of budget, ms late), never
  // the absolute times they were computed from, which no reader can compare with anything.
  const T = 1_765_000_000_000;
  const reasonOf = (d: ReturnType<typeof routeRequest>): string => (d.action === 'reject' ? d.reason : `not a rejection: ${d.action}`);
  const at = (input: Partial<RouteRequestInput> & Pick<RouteRequestInput, 'view'>) =>
    routeRequest({ request: { serviceId: 'seg', deadline: T + 40 }, local: undefined, self: 'me', now: T, ...input });

  it('quotes the local estimate and the budget relative to now, fractions to a tenth of a ms', () => {
    const view = createView([server('me', [inst('me/1', { runMs: 20 })], { updatedAt: T }), server('p', [inst('p/1', { waitMs: 500 })], { updatedAt: T })]);
    const d = at({ view, local: { completionAt: T + 62.25, ready: true } });
    expect(d).toMatchObject({ action: 'reject', code: 'OVERLOADED' });
    expect(reasonOf(d)).toBe('local estimate 62.3 ms, 23.3 ms past the 39 ms budget; no unvisited peer meets it at its current wait');
    expect(reasonOf(d)).not.toMatch(/\d{10}/);
  });

  it('says how long ago a budget already spent ran out', () => {
    const view = createView([server('me', [inst('me/1')], { updatedAt: T }), server('p', [inst('p/1')], { updatedAt: T })]);
    const d = at({ view, local: { completionAt: T + 8, ready: true }, request: { serviceId: 'seg', deadline: T - 4 } });
    expect(d).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
    expect(reasonOf(d)).toBe('local estimate 8 ms, 13 ms past a budget spent 5 ms ago; even an idle instance would take 8 ms, 13 ms past it');
  });
});

describe('routeRequest, the request refused by field', () => {
  const view = createView([server('p', [inst('p/1')])]);
  const withRequest = (request: unknown) => () => route({ view, request: request as RouteRequestInput['request'] });

  it('names the request itself, its service id and its deadline', () => {
    expect(invalidField(withRequest(null))).toBe('request');
    expect(invalidField(withRequest('seg'))).toBe('request');
    expect(invalidField(withRequest({ serviceId: 5, deadline: 100 }))).toBe('request.serviceId');
    expect(invalidField(withRequest({ serviceId: 'seg', deadline: '100' }))).toBe('request.deadline');
    expect(invalidField(withRequest({ serviceId: 'seg', deadline: Number.NaN }))).toBe('request.deadline');
  });

  it('takes zero payload and response bytes, and refuses negative ones', () => {
    expect(invalidField(withRequest({ serviceId: 'seg', deadline: 100, payloadBytes: 0, responseBytes: 0 }))).toBeUndefined();
    expect(invalidField(withRequest({ serviceId: 'seg', deadline: 100, payloadBytes: -1 }))).toBe('request.payloadBytes');
    expect(invalidField(withRequest({ serviceId: 'seg', deadline: 100, responseBytes: -1 }))).toBe('request.responseBytes');
  });
});
