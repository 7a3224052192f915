import { describe, expect, it } from 'vitest';
import { placementService } from '../testing/placement-fixture.js';
import { buildTemplates } from './candidates.js';
import { buildPlacementModel } from './model.js';
import { effectivePlacementOptions, resolvePlacementOptions, type PlacementOptions } from './options.js';
import { affinePlan } from './testing/random-instance.js';
import type { PlacementInput } from './types.js';

// The `arrivalSlack` order of a service's candidate servers (candidates.ts: slackFit), read from the templates
// buildTemplates makes: with locality, one template per server, in the order greedy tries servers that tie on gain
// per cost. The order is by the share of the service's demand whose slack on arrival covers the round trip to the
// server plus the plan's run (most first, in steps of `nearDemandTolerance`), then by server index. Every share is
// worked by hand from that rule; nearness (`nearDemandFirst`) is off so the slack alone decides.
//
// One service of a 100 ms SLO; its plan runs a batch of 8 in 5 + 1.25 × 8 = 15 ms. Four servers of one GPU, in
// index order D, A, B, C; demand enters at A and C. Round trips (ms): A–A 0, A–B 20, A–C 40, C–C 0, C–B 20, and D is
// 100 from both, beyond every SLO (an item needs at most 100 − 15 = 85 of round trip).

const GB = 1024 ** 3;
const svc = placementService('svc', { weightsGb: 1, deadlineMs: 100 });
const plan = affinePlan(svc, 'gpu', { fixedMs: 5, perItemMs: 1.25, batch: 8 });
const RTT: Record<string, Record<string, number>> = {
  A: { A: 0, B: 20, C: 40, D: 100 },
  C: { C: 0, B: 20, A: 40, D: 100 },
  B: { B: 0, A: 20, C: 20, D: 100 },
  D: { D: 0, A: 100, B: 100, C: 100 },
};

/** The servers of the service's templates, in the order buildTemplates lists them. */
function order(rates: { A: number; C: number }, slack: PlacementInput['arrivalSlackMs'], options: PlacementOptions = {}): string[] {
  const input: PlacementInput = {
    servers: ['D', 'A', 'B', 'C'].map((id) => ({ id, devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] })),
    services: [svc],
    plans: { svc: [plan] },
    demand: [{ serviceId: 'svc', ratePerServer: rates }],
    // One way is half the round trip.
    delaysMs: (from, to) => RTT[from]![to]! / 2,
    ...(slack === undefined ? {} : { arrivalSlackMs: slack }),
  };
  const effective = effectivePlacementOptions(resolvePlacementOptions({ multiTask: false, nearDemandFirst: false, arrivalSlack: true, ...options }), input);
  const resolved = { ...effective, multiTask: effective.multiTask === true };
  const model = buildPlacementModel(input, resolved);
  return buildTemplates(model, resolved).map((t) => model.servers[t.server]!.id);
}

describe('slackFit: which servers a service tries first', () => {
  it('orders servers by the share of the demand whose slack covers the way there and the run', () => {
    // A's items (40/s) arrive with 30 ms: they fit at A only (15); C's (60/s) with 40: at C (15) and B (35).
    // Shares: D 0, A 0.4, B 0.6, C 0.6 (B before C by index).
    expect(order({ A: 40, C: 60 }, { svc: { A: [30], C: [40] } })).toEqual(['B', 'C', 'A', 'D']);
  });

  it('counts an access server without slack given as arriving with its whole SLO', () => {
    // A's items with 30 ms: at A only. C's, none given (100 ms): at C, B and A (40 + 15 = 55), not D (115).
    // Shares: D 0, A 1, B 0.6, C 0.6.
    expect(order({ A: 40, C: 60 }, { svc: { A: [30] } })).toEqual(['A', 'B', 'C', 'D']);
  });

  it('keeps the index order when every item arrives with its whole SLO: the slack tells nothing', () => {
    // Counted, D would be last (no item reaches it); the rule leaves such a service to the objective's reach test.
    expect(order({ A: 40, C: 60 }, { svc: { A: [100], C: [100] } })).toEqual(['D', 'A', 'B', 'C']);
    expect(order({ A: 40, C: 60 }, undefined)).toEqual(['D', 'A', 'B', 'C']);
  });

  it('an item whose slack equals the round trip and the run exactly fits', () => {
    // 35 ms left: at B exactly 20 + 15. Shares: D 0, A 0.4, B 1, C 0.6. Counted as not fitting, B would be last but D.
    expect(order({ A: 40, C: 60 }, { svc: { A: [35], C: [35] } })).toEqual(['B', 'C', 'A', 'D']);
  });

  it('weights each slack value as an equal share of its access server’s items', () => {
    // A's items: half with 10 ms (fit nowhere), half with 35 (at A and B): 20/s each. C's with 35: at C and B.
    // Shares: D 0, A 0.2, B 0.2 + 0.6 = 0.8, C 0.6.
    expect(order({ A: 40, C: 60 }, { svc: { A: [10, 35], C: [35] } })).toEqual(['B', 'C', 'A', 'D']);
  });

  it('servers whose shares fall in the same step of nearDemandTolerance keep their index order', () => {
    // A's items with 35 ms (A, B), C's with 15 (C only). Shares: D 0, A 0.3, B 0.3, C 0.7 exactly.
    const slack = { svc: { A: [35], C: [15] } };
    expect(order({ A: 30, C: 70 }, slack, { nearDemandTolerance: 0 })).toEqual(['C', 'A', 'B', 'D']);
    // Rates A 60, C 70 (130/s): shares D 0, A 60/130 ≈ 0.46, B ≈ 0.46, C 70/130 ≈ 0.54. In steps of 0.3 A, B and C
    // are all in step 1 (0.3 to 0.6): index order. Exact (tolerance 0): C first.
    expect(order({ A: 60, C: 70 }, slack, { nearDemandTolerance: 0.3 })).toEqual(['A', 'B', 'C', 'D']);
    expect(order({ A: 60, C: 70 }, slack, { nearDemandTolerance: 0 })).toEqual(['C', 'A', 'B', 'D']);
  });
});
