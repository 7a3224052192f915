import { describe, expect, it } from 'vitest';
import type { InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { createView } from '../view/merge-view.js';
import { routeRequest, type RouteDecision } from './route-request.js';

// Default options: guard 1 ms, 1 ms each way. An idle peer with runMs r would answer in 1 + r + 1 ms.
function inst(instanceId: string, runMs: number): InstanceInfo {
  return { instanceId, serviceId: 'seg', status: 'ready', requestStrategy: 'batching', serviceStrategy: 'single', batchSize: 1, capacityPerSec: 100, loadPerSec: 0, waitMs: 0, runMs };
}
function server(serverId: string, instances: InstanceInfo[]): ServerEntry {
  return { serverId, epoch: 1, version: 1, updatedAt: 0, alive: true, instances, load: 0.5, freeMemoryBytes: 0, arrivalRates: {} };
}
const reasonOf = (d: RouteDecision): string => (d.action === 'reject' ? d.reason : `not a rejection: ${d.action}`);

describe('routeRequest, DEADLINE_INFEASIBLE: the quickest idle peer', () => {
  it('quotes the quickest idle peer of several, wherever it comes in the view', () => {
    // Idle: a 302 ms, b 202 ms, c 252 ms — none within the 99 ms budget. The quickest, b, is neither first nor last.
    const view = createView([server('a', [inst('a/1', 300)]), server('b', [inst('b/1', 200)]), server('c', [inst('c/1', 250)])]);
    const d = routeRequest({ request: { serviceId: 'seg', deadline: 100 }, local: undefined, self: 'me', now: 0, view });
    expect(d).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
    expect(reasonOf(d)).toBe('no ready local instance; even an idle instance would take 202 ms, 103 ms past the 99 ms budget');
  });

  it("reads each instance of a peer: the quicker of a peer's two instances counts", () => {
    const view = createView([server('a', [inst('a/1', 300), inst('a/2', 150)]), server('b', [inst('b/1', 200)])]);
    const d = routeRequest({ request: { serviceId: 'seg', deadline: 100 }, local: undefined, self: 'me', now: 0, view });
    expect(reasonOf(d)).toBe('no ready local instance; even an idle instance would take 152 ms, 53 ms past the 99 ms budget');
  });
});
