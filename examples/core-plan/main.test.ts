import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { DEMAND, SERVICES } from './cluster.js';

describe('examples/core-plan', () => {
  const lines: string[] = [];
  const result = main({ log: (line) => lines.push(line) });

  it('categorizes every service as the design expects', () => {
    const cat = (id: string): string => {
      const c = result.allocations[id]!.category;
      return `${c.sensitivity}/${c.devices}${c.reason === undefined ? '' : `/${c.reason}`}`;
    };
    expect(cat('image-seg')).toBe('latency/single');
    expect(cat('video-seg')).toBe('frequency/multi/compute');
    expect(cat('llm-chat')).toBe('latency/multi/memory');
    expect(cat('hci-loop')).toBe('frequency/single');
    expect(cat('classifier')).toBe('latency/single');
    expect(cat('audio-vad')).toBe('frequency/single');
  });

  it('ranks plans by goodput per device and uses the right strategies', () => {
    for (const service of SERVICES) {
      const plans = result.allocations[service.id]!.plans;
      expect(plans.length).toBeGreaterThan(0);
      for (let i = 1; i < plans.length; i++) expect(plans[i - 1]!.goodputPerDevice).toBeGreaterThanOrEqual(plans[i]!.goodputPerDevice - 1e-9);
      const want = service.sensitivity === 'latency' ? 'batching' : 'multi-frame';
      expect(plans.every((p) => p.requestStrategy === want)).toBe(true);
    }
    expect(result.allocations['llm-chat']!.plans.every((p) => p.serviceStrategy === 'model-parallel' && p.devices >= 2)).toBe(true);
    expect(result.allocations['video-seg']!.plans.some((p) => p.serviceStrategy === 'data-parallel')).toBe(true);
  });

  it('places instances that serve demand, never more than the demand', () => {
    const total = DEMAND.reduce((s, d) => s + Object.values(d.ratePerServer).reduce((a, b) => a + b, 0) + (d.streams ?? []).reduce((a, b) => a + b.rateHz, 0), 0);
    expect(result.placement.instances.length).toBeGreaterThan(0);
    expect(result.placement.goodputPerSec).toBeGreaterThan(0);
    expect(result.placement.goodputPerSec).toBeLessThanOrEqual(total + 1e-6);
    for (const s of result.placement.services) expect(s.servedPerSec).toBeLessThanOrEqual(s.demandPerSec + 1e-6);
  });

  it('makes the routing decisions the walk-through describes', () => {
    const byTitle = (prefix: string) => result.routing.find((c) => c.title.startsWith(prefix))!.decision;
    expect(byTitle('image-seg, 150 ms, on a server that hosts it').action).toBe('local');
    expect(byTitle('image-seg, only 6 ms left')).toMatchObject({ action: 'reject', code: 'DEADLINE_INFEASIBLE' });
    const forwarded = byTitle('image-seg, 150 ms, on a server without');
    if (forwarded.action === 'forward') expect(result.view.entries[forwarded.serverId]!.instances.some((i) => i.serviceId === 'image-seg')).toBe(true);
    else expect(forwarded).toMatchObject({ action: 'reject' });
    const twice = result.routing.find((c) => c.title.includes('already forwarded twice'))!.decision;
    expect(twice.action).toBe('reject');
  });

  it('prints a table per service, the placement and the decisions', () => {
    const text = lines.join('\n');
    for (const s of SERVICES) expect(text).toContain(`${s.id}: `);
    expect(text).toContain('Placement: predicted goodput');
    expect(text).toContain('Routing decisions');
  });
});
