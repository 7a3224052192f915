import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { affineProfile, planBatching, planMultiFrame, type ServiceSpec } from '@epara/core';
import { createExecutor, type Executor, type ExecutorServiceOptions } from '@epara/runtime';
import { doubler } from './helpers.js';

/**
 * The runtime sizes each instance's batches (latency services) and packs (frequency services) itself when no
 * plan gives the size. It must be the allocator's rule: for random profiles and SLOs, the batch size an
 * executor reports for an instance equals core's `planBatching` / `planMultiFrame` for the same service on
 * the same profile — including the network budget, the `2·L(b) ≤ D` wait factor and the batch cap.
 */

const KIND = 'cpu-1t';
const MEMORY = { weightsBytes: 1e6, perItemBytes: 1e3 };
const CAPS = [4, 8, 16, 32] as const;

interface Case {
  readonly frequency: boolean;
  readonly fixedMs: number;
  readonly perItemMs: number;
  readonly maxBatch: number;
  /** Deadline (latency) or staleness bound (frequency), ms. */
  readonly budgetMs: number;
  readonly networkBudgetMs: number;
  /** Frequency services: the rate as a multiple of one-item throughput (above 1, packs must grow). */
  readonly load: number;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  frequency: fc.boolean(),
  fixedMs: fc.double({ min: 0.5, max: 20, noNaN: true }),
  perItemMs: fc.double({ min: 0.05, max: 5, noNaN: true }),
  maxBatch: fc.constantFrom(...CAPS),
  // Above the largest network budget: core rejects a budget that leaves no time to run.
  budgetMs: fc.double({ min: 12, max: 400, noNaN: true }),
  networkBudgetMs: fc.constantFrom(0, 2, 10),
  load: fc.double({ min: 1.2, max: 4, noNaN: true }),
});

/** The service as core's allocator sees it: the profile capped at the runtime's `maxBatch`. */
function coreService(id: string, c: Case): ServiceSpec {
  const profile = affineProfile(KIND, { fixedMs: c.fixedMs, perItemMs: c.perItemMs, maxBatch: c.maxBatch });
  const rateHz = (c.load * 1000) / (c.fixedMs + c.perItemMs);
  const slo = c.frequency ? ({ kind: 'frequency', rateHz, stalenessMs: c.budgetMs } as const) : ({ kind: 'latency', deadlineMs: c.budgetMs } as const);
  return { id, sensitivity: c.frequency ? 'frequency' : 'latency', slo, memory: MEMORY, networkBudgetMs: c.networkBudgetMs, profiles: { [KIND]: profile } };
}

/** The size core plans, or undefined when core finds no feasible plan on one device. */
function corePlan(s: ServiceSpec): number | undefined {
  const device = { kind: KIND, memoryBytes: 1e12 };
  const out = s.sensitivity === 'frequency' ? planMultiFrame({ service: s, device }) : planBatching({ service: s, device });
  return out.feasible ? out.plan.batchSize : undefined;
}

/**
 * Written from the rule, not from core's search: a pack of `n` frames at rate `F` is fresh when the first frame
 * waits for the other `n − 1` and the run, `(n − 1)/F + L(n) ≤ S − network budget`. With an affine profile
 * `n / L(n)` grows with `n`, so the best-throughput fresh pack is the largest fresh one (1 when none is).
 */
function freshestFallback(s: ServiceSpec, c: Case): number {
  if (s.slo.kind !== 'frequency') throw new Error('frequency services only');
  const budget = s.slo.stalenessMs - c.networkBudgetMs;
  let best = 1;
  for (let n = 1; n <= c.maxBatch; n++) if (((n - 1) * 1000) / s.slo.rateHz + c.fixedMs + c.perItemMs * n <= budget) best = n;
  return best;
}

describe('runtime instance sizing follows core plans (property)', () => {
  let ex: Executor | undefined;
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
  });

  it('an executor without a plan batch size reports the batch or pack size core plans for the same service', async () => {
    let compared = 0;
    let packs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(caseArb, { minLength: 8, maxLength: 8 }), async (cases) => {
        const specs = cases.map((c, i) => coreService(`s${i}`, c));
        const services: ExecutorServiceOptions[] = specs.map((s, i) => ({
          id: s.id,
          model: doubler(),
          sensitivity: s.sensitivity,
          slo: s.slo,
          profile: s.profiles[KIND]!,
          maxBatch: cases[i]!.maxBatch,
          networkBudgetMs: cases[i]!.networkBudgetMs,
          devices: ['d0'],
        }));
        ex = createExecutor({ backend: { kind: 'fake' }, devices: [{ id: 'd0' }], services });
        try {
          await ex.start();
          const infos = new Map(ex.instances().map((i) => [i.serviceId, i]));
          specs.forEach((s, i) => {
            const info = infos.get(s.id)!;
            const want = corePlan(s);
            const c = cases[i]!;
            if (want !== undefined) {
              compared++;
              if (c.frequency && want > 1) packs++;
              expect({ service: s.id, case: c, batchSize: info.batchSize }).toEqual({ service: s.id, case: c, batchSize: want });
            } else if (c.frequency) {
              // No pack keeps up: the documented fallback is the best-throughput pack that is still fresh.
              expect({ service: s.id, case: c, batchSize: info.batchSize }).toEqual({ service: s.id, case: c, batchSize: freshestFallback(s, c) });
            } else {
              expect(info.batchSize).toBe(1);
            }
          });
        } finally {
          await ex.close();
          ex = undefined;
        }
      }),
      // Each run starts an executor with eight services: a few runs cover many cases.
      // No shrinking: each step restarts an executor; the failing case is printed as generated.
      { numRuns: Number(process.env['FC_RUNS'] ?? 6), endOnFailure: true },
    );
    // The comparison is the point: most generated services have a feasible plan.
    expect(compared).toBeGreaterThan(8);
    expect(packs).toBeGreaterThan(3);
  }, 180_000);
});
