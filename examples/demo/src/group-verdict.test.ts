import { describe, expect, it } from 'vitest';
import type { DemoServiceInfo } from './catalog.js';
import type { DecisionCount } from './entry-decisions.js';
import { forwardsLine, groupVerdictLines, routesOf } from './group-verdict.js';
import type { ServiceTally } from './tally.js';

const image: DemoServiceInfo = { id: 'image', title: 'images', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 300 }, traffic: 'request' } as DemoServiceInfo;
const vad: DemoServiceInfo = { id: 'vad', title: 'audio', sensitivity: 'frequency', slo: { kind: 'frequency', stalenessMs: 100, rateHz: 31.25 }, traffic: 'stream' } as unknown as DemoServiceInfo;

const tally = (t: Partial<ServiceTally>): ServiceTally => ({ offered: 0, good: 0, late: 0, dropped: {}, droppedEarly: 0, latencies: [], offloads: 0, servedAt: {}, servedOutcome: {}, ...t });
const decision = (d: Partial<DecisionCount>): DecisionCount => ({ n: 0, good: 0, late: 0, dropped: {}, latenciesMs: [], estimateMs: [], ...d });

describe('routesOf', () => {
  it("splits an EPARA entry's requests by its decisions: local, forwarded (a peer's refusal and expiry apart), refused", () => {
    const run = {
      byEntry: [{ image: tally({ offered: 10 }) }],
      decisions: [
        {
          image: {
            local: decision({ n: 4, good: 3, dropped: { DEADLINE_EXCEEDED: 1 } }),
            'forward edge-1': decision({ n: 5, good: 1, late: 1, dropped: { OVERLOADED: 2, DEADLINE_EXCEEDED: 1 } }),
            'reject OVERLOADED': decision({ n: 1, dropped: { OVERLOADED: 1 } }),
          },
        },
      ],
    };
    const r = routesOf([run], image, new Set([0]));
    expect(r.here).toEqual({ items: 4, good: 3, late: 0, refused: 0, expired: 1, other: 0 });
    expect(r.elsewhere).toEqual({ items: 5, good: 1, late: 1, refused: 2, expired: 1, other: 0 });
    expect(r['refused at entry']).toEqual({ items: 1, good: 0, late: 0, refused: 1, expired: 0, other: 0 });
  });

  it("puts the baseline's requests at their entry's route: served there where it hosts the model, forwarded elsewhere", () => {
    const run = { byEntry: [{ image: tally({ offered: 6, good: 4, late: 1, dropped: { DEADLINE_EXCEEDED: 1 } }) }, { image: tally({ offered: 3, good: 1, dropped: { DEADLINE_EXCEEDED: 2 } }) }] };
    const r = routesOf([run, run], image, new Set([0]));
    expect(r.here).toMatchObject({ items: 12, good: 8, late: 2, expired: 2 });
    expect(r.elsewhere).toMatchObject({ items: 6, good: 2, expired: 4 });
  });

  it('counts stream frames by where their stream was served, and the frames of streams refused whole at the entry', () => {
    const run = {
      byEntry: [
        {
          vad: tally({
            offered: 20,
            dropped: { STALE_FRAME: 3, OVERLOADED: 5 },
            servedOutcome: { 0: { good: 6, late: 1, dropped: 1, latencies: [] }, 1: { good: 4, late: 0, dropped: 2, latencies: [] } },
          }),
        },
      ],
    };
    const r = routesOf([run], vad, new Set());
    expect(r.here).toMatchObject({ items: 8, good: 6, late: 1, expired: 1 });
    expect(r.elsewhere).toMatchObject({ items: 6, good: 4, expired: 2 });
    expect(r['refused at entry']).toMatchObject({ items: 6, refused: 5, other: 1 });
  });

  it("counts the baseline's frames of a model its entry site does not host as forwarded, whatever site the client names", () => {
    const run = { byEntry: [{ vad: tally({ offered: 5, servedOutcome: { 0: { good: 4, late: 0, dropped: 1, latencies: [] } } }) }, { vad: tally({ offered: 3, servedOutcome: { 1: { good: 3, late: 0, dropped: 0, latencies: [] } } }) }] };
    const r = routesOf([run], vad, new Set([1]));
    expect(r.here).toMatchObject({ items: 3, good: 3 });
    expect(r.elsewhere).toMatchObject({ items: 5, good: 4, expired: 1 });
  });
});

describe('groupVerdictLines', () => {
  it('names a lost group, both systems\' hosts and the route on which each lost most', () => {
    const epara = {
      byEntry: [{ image: tally({ offered: 10 }) }],
      decisions: [{ image: { local: decision({ n: 4, good: 4 }), 'forward edge-1': decision({ n: 6, good: 1, dropped: { OVERLOADED: 5 } }) } }],
    };
    const triton = { byEntry: [{ image: tally({ offered: 10, good: 8, dropped: { DEADLINE_EXCEEDED: 2 } }) }] };
    const lines = groupVerdictLines({
      ratios: { latency: { median: 0.62, min: 0.62, max: 0.62, values: [0.62] } },
      runs: { epara: [epara], triton: [triton] },
      services: [image, vad],
      placement: [{ serverId: 'edge-0', serviceId: 'image' }, { serverId: 'edge-1', serviceId: 'image' }] as never,
      triton: { models: [{ serviceId: 'image', maxBatch: 4, nodes: [0] }], maxQueueDelayMs: 5 } as never,
      ids: ['edge-0', 'edge-1'],
    });
    const text = lines.join('\n');
    expect(lines[0]).toContain('latency: EPARA 0.62x');
    expect(lines[0]).toContain('lost');
    expect(text).toMatch(/image\s+EPARA\s+edge-0,edge-1\s+sent to a peer\s+6\s+1\s+0\s+5/);
    expect(text).toMatch(/image\s+Triton-like\s+edge-0\s+served at entry\s+10\s+8\s+0\s+0\s+2/);
    expect(text).toContain('image: EPARA 3 fewer good items; EPARA lost 5, most sent to a peer (5); the baseline lost 2, most served at entry (2)');
    // No ratio for the frequency group: no section for it.
    expect(text).not.toContain('frequency:');
  });
});

describe('forwardsLine', () => {
  it("sums each kind of forward over the runs' counters, and says nothing when there was none", () => {
    const runs: Record<string, number>[] = [{ 'forwards:image:first': 5, 'forwards:image:retry': 2 }, { 'forwards:image:first': 1, 'forwards:image:onward': 1, 'forwards:chat:first': 9 }];
    expect(forwardsLine('image', runs)).toBe("EPARA's forwards of image: 9 (6 first, 2 again after a refusal or failure, 1 onward by the peer that received one)");
    expect(forwardsLine('vad', runs)).toBeUndefined();
  });
});
