import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SERVICES } from './src/catalog.js';
import { main, resultLine, type DemoResult } from './src/main.js';
import type { SystemReport } from './src/report.js';

type Counts = Record<string, number>;
const resources = (): Counts => process.getActiveResourcesInfo().reduce<Counts>((acc, k) => ((acc[k] = (acc[k] ?? 0) + 1), acc), {});
const exceeding = (now: Counts, base: Counts): string[] => Object.keys(now).filter((k) => now[k]! > (base[k] ?? 0));

/** Polls (bounded) until no resource type exceeds its baseline count: close timers of sockets take a moment. */
async function settledBack(base: Counts, limitMs = 5000): Promise<string[]> {
  const start = Date.now();
  while (exceeding(resources(), base).length > 0 && Date.now() - start < limitMs) await sleep(50);
  return exceeding(resources(), base);
}

describe('pnpm demo (quick mode)', () => {
  let result: DemoResult;
  let baseline: Counts;
  const lines: string[] = [];
  beforeAll(async () => {
    setMaxListeners(0); // as the CLI does: runtime streams add one abort listener per queued frame
    baseline = resources();
    result = await main({ quick: true, duration: 3, log: (l) => lines.push(l), tty: false });
  }, 60_000);

  it('accounts for every request and frame on both systems: good + late + dropped by code = offered', () => {
    const check = (r: SystemReport): void => {
      for (const s of r.services) {
        const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0);
        expect(s.good + s.late + dropped, `${r.system} ${s.serviceId}`).toBe(s.offered);
        expect(s.offered, `${r.system} ${s.serviceId} offered`).toBeGreaterThan(0);
        for (const code of Object.keys(s.dropped)) expect(code).toMatch(/^[A-Z_]+$/);
      }
      const offered = r.services.reduce((a, s) => a + s.offered, 0);
      expect(r.overall.offered).toBe(offered);
      expect(r.overall.attainment).toBeGreaterThanOrEqual(0);
      expect(r.overall.attainment).toBeLessThanOrEqual(1);
    };
    check(result.epara);
    check(result.tritonLike);
  });

  it('ran the same workload on both systems (same items offered per service)', () => {
    expect(result.epara.system).toBe('EPARA');
    expect(result.tritonLike.system).toBe('Triton-like');
    for (const s of DEMO_SERVICES) {
      const a = result.epara.services.find((x) => x.serviceId === s.id)!;
      const b = result.tritonLike.services.find((x) => x.serviceId === s.id)!;
      expect(a.offered, s.id).toBe(b.offered);
    }
    expect(result.mesh.submitted).toBe(result.epara.services.filter((s) => s.serviceId === 'image' || s.serviceId === 'chat').reduce((a, s) => a + s.offered, 0));
  });

  it('placed every service on the mesh and configured every model on the baseline', () => {
    expect(result.placement.length).toBeGreaterThan(0);
    for (const s of DEMO_SERVICES) {
      expect(result.placement.some((p) => p.serviceId === s.id), `${s.id} placed`).toBe(true);
      expect(result.triton.models.find((m) => m.serviceId === s.id)!.nodes.length, `${s.id} replicas`).toBeGreaterThan(0);
    }
    for (const p of result.placement) expect(['edge-0', 'edge-1', 'edge-2']).toContain(p.serverId);
  });

  it('reports ratios per category and overall, and ends with one JSON line', () => {
    expect(Object.keys(result.ratios)).toContain('overall');
    expect(Object.keys(result.ratios).filter((k) => k !== 'overall').sort()).toEqual(Object.keys(result.epara.categories).sort());
    const json = JSON.parse(resultLine(result)) as { ratios: Record<string, unknown>; epara: { goodputPerSec: number } };
    expect(json.ratios['overall']).toBeDefined();
    expect(json.epara.goodputPerSec).toBeCloseTo(result.epara.overall.goodputPerSec, 2);
    expect(lines.some((l) => l.includes('EPARA vs Triton-like'))).toBe(true);
  });

  it('leaves no sockets, workers or timers behind', async () => {
    expect(await settledBack(baseline)).toEqual([]);
  });
});
