import { describe, expect, it } from 'vitest';
import { Tally } from './tally.js';
import { summarize } from './report.js';
import { serviceTable } from './format.js';
import type { DemoServiceInfo } from './catalog.js';

const image = { id: 'image', title: 'images', slo: { kind: 'latency', deadlineMs: 300 }, traffic: 'request' } as unknown as DemoServiceInfo;

describe('Tally: losses by kind', () => {
  it('tells a drop before the SLO ran out (given up on an estimate) from one after it (expired) and from a late answer', () => {
    const t = new Tally([image], 0);
    t.offered('image', 5);
    t.completed('image', 120); // good
    t.completed('image', 340); // ran, answered past the SLO: late
    t.dropped('image', 'OVERLOADED', 1, 3); // refused at entry on the estimate, 3 ms after arrival
    t.dropped('image', 'DEADLINE_EXCEEDED', 1, 180); // dropped from a queue before its deadline: its estimate said it could not finish
    t.dropped('image', 'DEADLINE_EXCEEDED', 1, 301); // a queue timeout at the SLO: expired
    const s = t.services.image;
    expect(s).toMatchObject({ good: 1, late: 1, droppedEarly: 2, dropped: { OVERLOADED: 1, DEADLINE_EXCEEDED: 2 } });
    const report = summarize({ system: 'epara', catalog: [image], categories: { image: { sensitivity: 'latency', devices: 'single' } }, tally: t, offloads: {}, seconds: 1 });
    expect(report.services[0]).toMatchObject({ late: 1, droppedEarly: 2, expired: 1 });
    const [head, row] = serviceTable(report, [image]);
    const col = (name: string): string => row!.split(/\s{2,}/)[head!.split(/\s{2,}/).indexOf(name)]!;
    expect(col('late')).toBe('1');
    expect(col('est. drops')).toBe('2');
    expect(col('expired')).toBe('1');
  });

  it('counts a drop without a time (a stream refused whole, an aborted item) as neither', () => {
    const t = new Tally([image], 0);
    t.dropped('image', 'ABORTED');
    expect(t.services.image.droppedEarly).toBe(0);
  });
});

describe('lossTable', () => {
  it('sums each system\'s losses by kind over the trials', async () => {
    const { lossTable } = await import('./report-markdown.js');
    const svc = (late: number, droppedEarly: number, expired: number) => ({ serviceId: 'image', offered: 10, good: 10 - late - droppedEarly - expired, late, droppedEarly, expired });
    const pair = (e: ReturnType<typeof svc>, t: ReturnType<typeof svc>) => ({ epara: { report: { services: [e] } }, triton: { report: { services: [t] } } });
    const lines = lossTable([pair(svc(1, 2, 0), svc(3, 0, 1)), pair(svc(0, 1, 0), svc(2, 0, 2))] as never);
    expect(lines[1]!.split(/\s+/)).toEqual(['EPARA', 'image', '20', '16', '1', '3', '0']);
    expect(lines[2]!.split(/\s+/)).toEqual(['Triton-like', 'image', '20', '12', '5', '0', '3']);
  });
});
