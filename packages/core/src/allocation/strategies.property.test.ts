import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createProfile, latencyAt, type LatencyProfile } from '../profiles/latency-profile.js';
import type { ServiceSpec } from '../model/service.js';
import { planBatching } from './batching.js';
import { planMultiFrame } from './multi-frame.js';
import { planDataParallel } from './data-parallel.js';
import { planModelParallel } from './model-parallel.js';
import { checkMultiTask } from './multi-task.js';
import { allocate, comparePlans } from './allocate.js';
import { classify } from '../categories/classify.js';
import { batchCap, DEFAULT_STRATEGY_OPTIONS } from './strategy-options.js';

// Fixed seed: the suite is deterministic; explore with FC_SEED / FC_RUNS.
const RUNS = { numRuns: Number(process.env.FC_RUNS ?? 200), seed: Number(process.env.FC_SEED ?? 20251126) };
const EPS = 1e-6;
const usable = (memoryBytes: number): number => memoryBytes * (1 - DEFAULT_STRATEGY_OPTIONS.reserveFraction);

/** Random monotone profiles: affine ones and measured-looking ones with bends (including per-item slowdowns). */
const profileArb = (kind: string): fc.Arbitrary<LatencyProfile> =>
  fc.oneof(
    fc.record({ fixed: fc.double({ min: 0.2, max: 60, noNaN: true }), per: fc.double({ min: 0.02, max: 25, noNaN: true }) }).map(({ fixed, per }) =>
      createProfile(kind, [1, 2, 4, 8, 16, 32, 64].map((b) => ({ batch: b, ms: fixed + per * b }))),
    ),
    fc.array(fc.double({ min: 0, max: 40, noNaN: true }), { minLength: 2, maxLength: 7 }).map((steps) => {
      let ms = 0.5;
      return createProfile(kind, steps.map((s, i) => ({ batch: 2 ** i, ms: (ms += s) })));
    }),
  );

const memoryArb = fc.record({ weightsBytes: fc.double({ min: 0, max: 3e9, noNaN: true }), perItemBytes: fc.double({ min: 0, max: 2e8, noNaN: true }) });
const deviceArb = fc.record({ kind: fc.constant('k'), memoryBytes: fc.double({ min: 1e8, max: 2.4e10, noNaN: true }) });

const latencyServiceArb: fc.Arbitrary<ServiceSpec> = fc
  .record({ profile: profileArb('k'), memory: memoryArb, deadlineMs: fc.double({ min: 1, max: 3000, noNaN: true }), netFrac: fc.double({ min: 0, max: 0.5, noNaN: true }) })
  .map(({ profile, memory, deadlineMs, netFrac }) => ({
    id: 'svc', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs }, memory, networkBudgetMs: deadlineMs * netFrac, profiles: { k: profile },
  }));

const frequencyServiceArb: fc.Arbitrary<ServiceSpec> = fc
  .record({ profile: profileArb('k'), memory: memoryArb, rateHz: fc.double({ min: 1, max: 120, noNaN: true }), stalenessMs: fc.double({ min: 2, max: 3000, noNaN: true }) })
  .map(({ profile, memory, rateHz, stalenessMs }) => ({
    id: 'svc', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz, stalenessMs }, memory, profiles: { k: profile },
  }));

const D = (s: ServiceSpec): number => (s.slo.kind === 'latency' ? s.slo.deadlineMs : s.slo.stalenessMs) - (s.networkBudgetMs ?? 0);
const L = (s: ServiceSpec, b: number): number => latencyAt(s.profiles['k']!, b);

describe('strategy plans satisfy their inequalities (property)', () => {
  it('batching: 2·L(b) ≤ D, memory fits, capacity = b/L(b), no feasible batch serves more', () => {
    fc.assert(
      fc.property(latencyServiceArb, deviceArb, (service, device) => {
        const out = planBatching({ service, device });
        const fitsOne = service.memory.weightsBytes + service.memory.perItemBytes <= usable(device.memoryBytes);
        if (!out.feasible) return !fitsOne || 2 * L(service, 1) > D(service);
        const { batchSize: b, capacityPerSec, memoryPerDeviceBytes, expectedLatencyMs } = out.plan;
        expect(Number.isInteger(b) && b >= 1 && b <= DEFAULT_STRATEGY_OPTIONS.maxBatch).toBe(true);
        expect(2 * L(service, b)).toBeLessThanOrEqual(D(service) + EPS);
        expect(expectedLatencyMs).toBeLessThanOrEqual(D(service) + EPS);
        expect(memoryPerDeviceBytes).toBeLessThanOrEqual(usable(device.memoryBytes) + 1);
        expect(capacityPerSec).toBeCloseTo((b * 1000) / L(service, b), 6);
        for (const other of [1, b + 1, b * 2, Math.max(1, b - 1)]) {
          const ok = other <= batchCap(service.profiles['k']!, DEFAULT_STRATEGY_OPTIONS) && 2 * L(service, other) <= D(service) && service.memory.weightsBytes + other * service.memory.perItemBytes <= usable(device.memoryBytes);
          if (ok) expect((other * 1000) / L(service, other)).toBeLessThanOrEqual(capacityPerSec * (1 + 1e-9));
        }
        return true;
      }),
      RUNS,
    );
  });

  it('multi-frame: keeps up (n/L(n) ≥ F), not stale ((n−1)/F + L(n) ≤ S), smallest such n, memory fits', () => {
    fc.assert(
      fc.property(frequencyServiceArb, deviceArb, fc.double({ min: 1, max: 500, noNaN: true }), (service, device, F) => {
        const out = planMultiFrame({ service, device, rateHz: F });
        if (!out.feasible) return true;
        const n = out.plan.batchSize;
        const S = D(service);
        expect((n * 1000) / L(service, n)).toBeGreaterThanOrEqual(F - EPS);
        expect(((n - 1) * 1000) / F + L(service, n)).toBeLessThanOrEqual(S + EPS);
        expect(out.plan.memoryPerDeviceBytes).toBeLessThanOrEqual(usable(device.memoryBytes) + 1);
        for (let m = 1; m < n; m++) expect((m * 1000) / L(service, m)).toBeLessThan(F);
        return true;
      }),
      RUNS,
    );
  });

  it('data parallel: replicas cover the demand and each replica satisfies its own plan', () => {
    fc.assert(
      fc.property(fc.oneof(latencyServiceArb, frequencyServiceArb), deviceArb, fc.double({ min: 0, max: 5000, noNaN: true }), (service, device, demand) => {
        const out = planDataParallel({ service, device, demandPerSec: demand });
        if (!out.feasible) return true;
        const p = out.plan;
        // the replicas cover the demand, or the group is as large as allowed and serves part of it
        if (p.devices < DEFAULT_STRATEGY_OPTIONS.maxReplicas) expect(p.capacityPerSec).toBeGreaterThanOrEqual(demand - EPS);
        expect(p.devices).toBeLessThanOrEqual(DEFAULT_STRATEGY_OPTIONS.maxReplicas);
        expect(p.memoryPerDeviceBytes).toBeLessThanOrEqual(usable(device.memoryBytes) + 1);
        expect(p.expectedLatencyMs).toBeLessThanOrEqual(D(service) + EPS);
        return true;
      }),
      RUNS,
    );
  });

  it('model parallel: stages ≥ d_min, each stage fits, the pipeline worst case meets the SLO', () => {
    fc.assert(
      fc.property(latencyServiceArb, deviceArb, (service, device) => {
        const out = planModelParallel({ service, device });
        if (!out.feasible) return true;
        const p = out.plan;
        const need = service.memory.weightsBytes + service.memory.perItemBytes;
        expect(p.devices).toBe(p.stages);
        expect(p.devices).toBeGreaterThanOrEqual(Math.ceil(need / usable(device.memoryBytes)));
        expect(p.memoryPerDeviceBytes).toBeLessThanOrEqual(usable(device.memoryBytes) + 1);
        expect(p.expectedLatencyMs).toBeLessThanOrEqual(D(service) + EPS);
        return true;
      }),
      RUNS,
    );
  });

  it('multi-task: the verdict is feasible exactly when every stated constraint holds', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(latencyServiceArb, frequencyServiceArb), fc.integer({ min: 1, max: 16 }), fc.double({ min: 0, max: 200, noNaN: true })), { minLength: 1, maxLength: 4 }), deviceArb, (rows, device) => {
        const members = rows.map(([service, batchSize, ratePerSec], i) => ({ service: { ...service, id: `s${i}` }, batchSize, ratePerSec }));
        const v = checkMultiTask({ device, members });
        const C = members.reduce((s, m) => s + L(m.service, m.batchSize), 0);
        const mem = members.reduce((s, m) => s + m.service.memory.weightsBytes + m.batchSize * m.service.memory.perItemBytes, 0);
        const ok = mem <= usable(device.memoryBytes) && members.every((m) => {
          const fill = m.service.sensitivity === 'frequency' && m.ratePerSec > 0 ? ((m.batchSize - 1) * 1000) / m.ratePerSec : 0;
          return fill + C + L(m.service, m.batchSize) <= D(m.service) && (m.batchSize * 1000) / C >= m.ratePerSec;
        });
        expect(v.cycleMs).toBeCloseTo(C, 6);
        return v.feasible === ok;
      }),
      RUNS,
    );
  });
});

describe('capacity is monotone in the SLO (property)', () => {
  it('batching and classify capacity never drop when the deadline grows', () => {
    fc.assert(
      fc.property(latencyServiceArb, deviceArb, fc.double({ min: 1, max: 3, noNaN: true }), (service, device, grow) => {
        const slo = service.slo as { deadlineMs: number };
        const looser = { ...service, slo: { kind: 'latency', deadlineMs: slo.deadlineMs * grow } } as const;
        const cap = (s: ServiceSpec): number => {
          const out = planBatching({ service: s, device });
          return out.feasible ? out.plan.capacityPerSec : 0;
        };
        expect(cap(looser)).toBeGreaterThanOrEqual(cap(service) * (1 - 1e-12));
        const best = (s: ServiceSpec): number => classify({ service: s, demandPerSec: 0, deviceKinds: [device] }).bestCapacityPerSec;
        expect(best(looser)).toBeGreaterThanOrEqual(best(service) * (1 - 1e-12));
        return true;
      }),
      RUNS,
    );
  });

  it('multi-frame capacity and best single-device rate never drop when the staleness limit grows', () => {
    fc.assert(
      fc.property(frequencyServiceArb, deviceArb, fc.double({ min: 1, max: 3, noNaN: true }), fc.double({ min: 1, max: 300, noNaN: true }), (service, device, grow, F) => {
        const slo = service.slo as { rateHz: number; stalenessMs: number };
        const looser = { ...service, slo: { ...slo, kind: 'frequency', stalenessMs: slo.stalenessMs * grow } } as const;
        const cap = (s: ServiceSpec): number => {
          const out = planMultiFrame({ service: s, device, rateHz: F });
          return out.feasible ? out.plan.capacityPerSec : 0;
        };
        expect(cap(looser)).toBeGreaterThanOrEqual(cap(service) * (1 - 1e-12));
        const best = (s: ServiceSpec): number => classify({ service: s, demandPerSec: 0, deviceKinds: [device] }).bestCapacityPerSec;
        expect(best(looser)).toBeGreaterThanOrEqual(best(service) * (1 - 1e-12));
        return true;
      }),
      RUNS,
    );
  });
});

describe('allocate (property)', () => {
  it('no plan exceeds device memory or the devices per server, plans are ranked, each plan meets its SLO bound', () => {
    const kindsArb = fc.uniqueArray(
      fc.record({ kind: fc.constantFrom('k', 'other'), memoryBytes: fc.double({ min: 1e8, max: 2.4e10, noNaN: true }), maxPerServer: fc.integer({ min: 1, max: 8 }) }),
      { minLength: 1, maxLength: 3, selector: (d) => `${d.kind}/${d.memoryBytes}` },
    );
    fc.assert(
      fc.property(fc.oneof(latencyServiceArb, frequencyServiceArb), kindsArb, fc.double({ min: 0, max: 3000, noNaN: true }), fc.boolean(), (service, kinds, demand, always) => {
        const result = allocate({ service, demand, deviceKinds: kinds, options: { modelParallelCandidates: always ? 'always' : 'memory-bound' } });
        for (const p of result.plans) {
          const device = kinds.find((k) => k.kind === p.deviceKind && p.memoryPerDeviceBytes <= usable(k.memoryBytes) + 1 && p.devices <= k.maxPerServer);
          expect(device).toBeDefined();
          expect(p.expectedLatencyMs).toBeLessThanOrEqual(D(service) + EPS);
          expect(p.capacityPerSec).toBeGreaterThan(0);
          // a whole-streams plan counts only the streams it admits; every other plan min(demand, capacity)
          if (p.notes[0]?.startsWith('serves ')) expect(p.goodputPerDevice).toBeLessThanOrEqual(Math.min(demand, p.capacityPerSec) + EPS);
          else expect(p.goodputPerDevice).toBeCloseTo(Math.min(demand, p.capacityPerSec) / p.devices, 6);
          expect(p.utilization).toBeGreaterThanOrEqual(0);
          expect(p.utilization).toBeLessThanOrEqual(1);
        }
        for (let i = 1; i < result.plans.length; i++) expect(comparePlans(result.plans[i - 1]!, result.plans[i]!)).toBeLessThanOrEqual(0);
        expect(result.category.sensitivity).toBe(service.sensitivity);
        return result.plans.length > 0 || result.infeasible.length > 0;
      }),
      RUNS,
    );
  });
});
