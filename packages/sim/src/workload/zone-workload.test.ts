import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '@epara/core';
import { buildServers } from '../model/hardware.js';
import { compileWorkload } from './compile-workload.js';
import { nextArrivalMs, type ArrivalProcess, type RequestSource } from './workload.js';
import { zoneWorkload } from './zone-workload.js';

/** Gaps of `n` arrivals of a source (seeded). */
function gaps(source: RequestSource, n: number, seed: number): number[] {
  const rng = createSeededRandom(seed);
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    const next = nextArrivalMs(source, t, rng);
    out.push(next - t);
    t = next;
  }
  return out;
}

function meanAndCv2(xs: readonly number[]): { mean: number; cv2: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return { mean, cv2: variance / (mean * mean) };
}

describe('a zone share of a cluster-wide source', () => {
  // Thinning a renewal process of gap mean μ and squared variation c² by p gives gaps of mean μ/p and squared
  // variation p·c² + 1 − p: the zone's world must see exactly the process its zone sees in the cluster.
  const cases: [string, ArrivalProcess, number][] = [['poisson', { kind: 'poisson' }, 1], ['gamma cv 2', { kind: 'gamma', cv: 2 }, 4], ['gamma cv 0.5', { kind: 'gamma', cv: 0.5 }, 0.25]];
  for (const [name, process, c2] of cases) {
    for (const p of [1, 0.3, 0.05]) {
      it(`${name} thinned by ${p}: mean gap μ/p and squared variation p·c² + 1 − p`, () => {
        const source: RequestSource = { service: 0, meanGapMs: 10, process, zoneShare: { epochMs: Infinity, shares: Float64Array.of(p), max: p } };
        const { mean, cv2 } = meanAndCv2(gaps(source, 40_000, 3));
        expect(mean / (10 / p)).toBeCloseTo(1, 1);
        expect(cv2 / (p * c2 + 1 - p)).toBeGreaterThan(0.9);
        expect(cv2 / (p * c2 + 1 - p)).toBeLessThan(1.1);
      });
    }
  }

  it('follows the share of each epoch (kept with share ÷ the largest share)', () => {
    const source: RequestSource = { service: 0, meanGapMs: 1, process: { kind: 'gamma', cv: 2 }, zoneShare: { epochMs: 10_000, shares: Float64Array.of(0.4, 0.1, 0), max: 0.4 } };
    const rng = createSeededRandom(9);
    const counts = [0, 0, 0];
    for (let t = nextArrivalMs(source, 0, rng); t < 30_000; t = nextArrivalMs(source, t, rng)) counts[Math.floor(t / 10_000)]!++;
    expect(nextArrivalMs(source, 25_000, rng)).toBe(Infinity);
    expect(counts[0]! / 4000).toBeCloseTo(1, 1);
    expect(counts[1]! / 1000).toBeCloseTo(1, 1);
    expect(counts[2]).toBe(0);
  });
});

describe('zoneWorkload', () => {
  const servers = buildServers([{ preset: 'gpu-server', count: 10 }, { preset: 'jetson', count: 10 }], 10);
  const compiled = compileWorkload({
    workload: { origins: 'clients', requests: [{ service: 'classify', ratePerSec: 100 }], streams: [{ service: 'hci', concurrentStreams: 12 }], trace: [{ timeMs: 5, service: 'classify', origin: 13 }, { timeMs: 7, service: 'classify', origin: 2 }] },
    servers, durationMs: 60_000, seed: 4, earlyWindowMs: 10_000,
  });
  const zones = [servers.filter((s) => s.zone === 0).map((s) => s.index), servers.filter((s) => s.zone === 1).map((s) => s.index)];
  const parts = zones.map((m) => zoneWorkload(compiled, m));

  it('splits the origin weights into shares that add up to the whole', () => {
    expect(parts[0]!.sources[0]!.zoneShare!.shares[0]! + parts[1]!.sources[0]!.zoneShare!.shares[0]!).toBeCloseTo(1, 12);
  });

  it('keeps each session and trace row in the zone of its access server, numbered in the zone', () => {
    expect(parts[0]!.sessions.length + parts[1]!.sessions.length).toBe(compiled.sessions.length);
    parts.forEach((p, z) => p.sessions.forEach((s) => expect(zones[z]![s.origin]).toBe(compiled.sessions.find((c) => c.id === s.id)!.origin)));
    expect(parts.map((p) => Array.from(p.trace?.origins ?? []).map((o, i) => [zones[parts.indexOf(p)]![o], p.trace!.times[i]]))).toEqual([[[2, 7]], [[13, 5]]]);
  });

  it("gives each zone its servers' columns of the early-window demand", () => {
    parts.forEach((p, z) => expect(p.earlyWindowDemand[0]).toEqual(zones[z]!.map((s) => compiled.earlyWindowDemand[0]![s])));
  });
});
