import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { gpuBatchPlan, placementService } from '../testing/placement-fixture.js';
import type { ServiceSpec } from '../model/service.js';
import { effectivePlacementOptions, resolvePlacementOptions, type PlacementOptions } from './options.js';
import type { PlacedInstance, PlacementInput } from './types.js';
import { validatePlacementInput } from './validate-input.js';

// Every check of the placement input and options, one field at a time: the bad value is refused naming its
// field (INVALID_OPTIONS, or UNKNOWN_SERVICE for a reference), and the edge of the allowed range is accepted.

/** The code and field of the EparaError `f` throws, or `accepted` when it returns. */
function outcome(f: () => unknown): { code: string; field: unknown } | 'accepted' {
  try {
    f();
  } catch (err) {
    if (isEparaError(err)) return { code: err.code, field: err.details['field'] };
    throw err;
  }
  return 'accepted';
}
const invalid = (field: string) => ({ code: 'INVALID_OPTIONS', field });
const unknown = (field: string) => ({ code: 'UNKNOWN_SERVICE', field });

const service: ServiceSpec = placementService('a', { memory: { weightsBytes: 400, perItemBytes: 10 }, loadTimeMs: 1000 });
const plan = gpuBatchPlan('a');
const instance: PlacedInstance = { instanceId: 'i', serviceId: 'a', plan, serverId: 's0', deviceIds: ['g0'] };
const base: PlacementInput = {
  servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 1000 }] }],
  services: [service],
  plans: { a: [plan] },
  demand: [{ serviceId: 'a', ratePerServer: { s0: 10 } }],
  current: [instance],
};
const check = (over: Record<string, unknown>) => outcome(() => validatePlacementInput({ ...base, ...over } as PlacementInput));
const withServer = (over: Record<string, unknown>) => check({ servers: [{ ...base.servers[0]!, ...over }] });
const withDevice = (over: Record<string, unknown>) => withServer({ devices: [{ ...base.servers[0]!.devices[0]!, ...over }] });
const withService = (over: Record<string, unknown>) => check({ services: [{ ...service, ...over }] });
const withPlan = (over: Record<string, unknown>) => check({ plans: { a: [{ ...plan, ...over }] }, current: [] });
const withDemand = (over: Record<string, unknown>) => check({ demand: [{ ...base.demand[0]!, ...over }] });
const withCurrent = (over: Record<string, unknown>) => check({ current: [{ ...instance, ...over }] });

describe('validatePlacementInput', () => {
  it('accepts the base input, and instances on servers or devices it does not know (failed ones)', () => {
    expect(check({})).toBe('accepted');
    expect(withCurrent({ serverId: 'gone' })).toBe('accepted');
    expect(withCurrent({ deviceIds: ['g9'] })).toBe('accepted');
  });

  it('refuses an input that is not an object', () => {
    expect(outcome(() => validatePlacementInput(null as unknown as PlacementInput))).toEqual(invalid('input'));
    expect(outcome(() => validatePlacementInput(5 as unknown as PlacementInput))).toEqual(invalid('input'));
  });

  it('refuses top-level lists and maps of the wrong type', () => {
    expect(check({ servers: {} })).toEqual(invalid('servers'));
    expect(check({ services: 'a' })).toEqual(invalid('services'));
    expect(check({ demand: {} })).toEqual(invalid('demand'));
    expect(check({ plans: null })).toEqual(invalid('plans'));
    expect(check({ plans: 'a' })).toEqual(invalid('plans'));
    expect(check({ current: {} })).toEqual(invalid('current'));
  });

  it('checks servers and their devices', () => {
    expect(withServer({ id: '' })).toEqual(invalid('servers[0].id'));
    expect(withServer({ id: 5 })).toEqual(invalid('servers[0].id'));
    expect(check({ servers: [base.servers[0], base.servers[0]] })).toEqual(invalid('servers[1].id'));
    expect(withServer({ devices: 'g0' })).toEqual(invalid('servers[0].devices'));
    expect(withDevice({ id: '' })).toEqual(invalid('servers[0].devices[0].id'));
    expect(withDevice({ id: 7 })).toEqual(invalid('servers[0].devices[0].id'));
    const g = base.servers[0]!.devices[0]!;
    expect(withServer({ devices: [g, g] })).toEqual(invalid('servers[0].devices[1].id'));
    // The same device id on two servers is two devices.
    expect(check({ servers: [base.servers[0], { ...base.servers[0], id: 's1' }] })).toBe('accepted');
    expect(withDevice({ kind: 1 })).toEqual(invalid('servers[0].devices[0].kind'));
    for (const memoryBytes of [-1, Number.NaN, Number.POSITIVE_INFINITY, '1000']) {
      expect(withDevice({ memoryBytes })).toEqual(invalid('servers[0].devices[0].memoryBytes'));
    }
    expect(withDevice({ memoryBytes: 0 })).toBe('accepted');
  });

  it('checks services: ids, the SLO and every optional figure', () => {
    expect(withService({ id: '' })).toEqual(invalid('services[0].id'));
    expect(withService({ id: null })).toEqual(invalid('services[0].id'));
    expect(check({ services: [service, service] })).toEqual(invalid('services[1].id'));
    expect(withService({ slo: { kind: 'latency', deadlineMs: 0 } })).toEqual(invalid('services[0].slo.deadlineMs'));
    expect(withService({ slo: { kind: 'latency', deadlineMs: 0.001 } })).toBe('accepted');
    expect(withService({ slo: { kind: 'frequency', stalenessMs: 0 } })).toEqual(invalid('services[0].slo.stalenessMs'));
    expect(withService({ slo: { kind: 'frequency', stalenessMs: 50 } })).toBe('accepted');
    expect(withService({ slo: { kind: 'throughput' } })).toEqual(invalid('services[0].slo'));
    expect(withService({ slo: undefined })).toEqual(invalid('services[0].slo'));
    for (const field of ['loadTimeMs', 'networkBudgetMs', 'weight', 'colocationSlowdown']) {
      expect(withService({ [field]: -1 })).toEqual(invalid(`services[0].${field}`));
      expect(withService({ [field]: Number.POSITIVE_INFINITY })).toEqual(invalid(`services[0].${field}`));
      expect(withService({ [field]: 0 })).toBe('accepted');
    }
  });

  it('checks plans: their owner, shape and every figure', () => {
    expect(check({ plans: { a: [plan], zzz: [] } })).toEqual(unknown('plans.zzz'));
    expect(check({ plans: { a: plan } })).toEqual(invalid('plans.a'));
    expect(withPlan({ serviceId: 'b' })).toEqual(invalid('plans.a[0].serviceId'));
    expect(check({ plans: { a: [null] }, current: [] })).toEqual(invalid('plans.a[0]'));
    expect(check({ plans: { a: [plan, { ...plan, runMs: 0 }] }, current: [] })).toEqual(invalid('plans.a[1].runMs'));
    for (const devices of [0, 1.5, '1']) expect(withPlan({ devices, serviceStrategy: 'data-parallel' })).toEqual(invalid('plans.a[0].devices'));
    expect(withPlan({ devices: 2, serviceStrategy: 'data-parallel' })).toBe('accepted');
    expect(withPlan({ devices: 2 })).toEqual(invalid('plans.a[0].devices'));
    for (const batchSize of [0.5, 0, Number.POSITIVE_INFINITY, Number.NaN]) expect(withPlan({ batchSize })).toEqual(invalid('plans.a[0].batchSize'));
    expect(withPlan({ batchSize: 1 })).toBe('accepted');
    for (const field of ['capacityPerSec', 'runMs']) {
      expect(withPlan({ [field]: 0 })).toEqual(invalid(`plans.a[0].${field}`));
      expect(withPlan({ [field]: Number.POSITIVE_INFINITY })).toEqual(invalid(`plans.a[0].${field}`));
      expect(withPlan({ [field]: 1e-6 })).toBe('accepted');
    }
    for (const field of ['memoryPerDeviceBytes', 'expectedLatencyMs']) {
      expect(withPlan({ [field]: -1 })).toEqual(invalid(`plans.a[0].${field}`));
      expect(withPlan({ [field]: 0 })).toBe('accepted');
    }
  });

  it('checks demand: known services, one entry each, rates and streams', () => {
    expect(withDemand({ serviceId: 'zzz' })).toEqual(unknown('demand[0].serviceId'));
    expect(check({ demand: [base.demand[0], base.demand[0]] })).toEqual(invalid('demand[1].serviceId'));
    expect(withDemand({ ratePerServer: null })).toEqual(invalid('demand[0].ratePerServer'));
    expect(withDemand({ ratePerServer: 10 })).toEqual(invalid('demand[0].ratePerServer'));
    expect(withDemand({ ratePerServer: { s0: 1, s1: -1 } })).toEqual(invalid('demand[0].ratePerServer.s1'));
    expect(withDemand({ ratePerServer: { s0: 0 } })).toBe('accepted');
    expect(withDemand({ streams: [{ accessServer: 's0', rateHz: 0 }] })).toBe('accepted');
    expect(withDemand({ streams: [{ accessServer: 's0', rateHz: 5 }, { accessServer: 3, rateHz: 5 }] })).toEqual(invalid('demand[0].streams[1].accessServer'));
    expect(withDemand({ streams: [{ accessServer: 's0', rateHz: -5 }] })).toEqual(invalid('demand[0].streams[0].rateHz'));
  });

  it('checks the current placement', () => {
    expect(withCurrent({ instanceId: '' })).toEqual(invalid('current[0].instanceId'));
    expect(withCurrent({ instanceId: 4 })).toEqual(invalid('current[0].instanceId'));
    expect(check({ current: [instance, instance] })).toEqual(invalid('current[1].instanceId'));
    expect(check({ current: [instance, { ...instance, instanceId: 'j' }] })).toBe('accepted');
    expect(withCurrent({ serviceId: 'zzz' })).toEqual(unknown('current[0].serviceId'));
    expect(withCurrent({ plan: { ...plan, capacityPerSec: -1 } })).toEqual(invalid('current[0].plan.capacityPerSec'));
    expect(withCurrent({ deviceIds: 'g0' })).toEqual(invalid('current[0].deviceIds'));
    expect(withCurrent({ deviceIds: [] })).toEqual(invalid('current[0].deviceIds'));
    const pair = { ...plan, devices: 2, serviceStrategy: 'data-parallel' };
    expect(withCurrent({ plan: pair, deviceIds: ['g0', 'g0'] })).toEqual(invalid('current[0].deviceIds'));
    expect(withCurrent({ plan: pair, deviceIds: ['g0', 'g1'] })).toBe('accepted');
    expect(withCurrent({ capacityPerSec: 0 })).toEqual(invalid('current[0].capacityPerSec'));
    expect(withCurrent({ capacityPerSec: 1 })).toBe('accepted');
    for (const field of ['measuredCapacityPerSec', 'backlogItems']) {
      expect(withCurrent({ [field]: -1 })).toEqual(invalid(`current[0].${field}`));
      expect(withCurrent({ [field]: 0 })).toBe('accepted');
    }
  });

  it('checks a delay matrix entry by entry (Infinity is unreachable), and takes a function as it is', () => {
    expect(check({ delaysMs: { s0: { s0: 0, s1: Number.POSITIVE_INFINITY } } })).toBe('accepted');
    expect(check({ delaysMs: { s0: { s0: 0, s1: -1 } } })).toEqual(invalid('delaysMs.s0.s1'));
    expect(check({ delaysMs: { s0: { s1: '5' } } })).toEqual(invalid('delaysMs.s0.s1'));
    expect(check({ delaysMs: { s0: { s1: Number.NaN } } })).toEqual(invalid('delaysMs.s0.s1'));
    expect(check({ delaysMs: 'near' })).toEqual(invalid('delaysMs'));
    expect(check({ delaysMs: null })).toEqual(invalid('delaysMs'));
    expect(check({ delaysMs: () => -1 })).toBe('accepted');
  });

  it('takes a demand headroom of at least 1 (the demand is the forecast × it)', () => {
    for (const ok of [1, 1.25, 3]) expect(check({ demandHeadroom: ok })).toBe('accepted');
    for (const bad of [0.99, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1.25', null]) expect(check({ demandHeadroom: bad }), String(bad)).toEqual(invalid('demandHeadroom'));
  });
});

describe('resolvePlacementOptions', () => {
  const resolve = (o: unknown) => outcome(() => resolvePlacementOptions(o as PlacementOptions));

  it('refuses options that are not an object', () => {
    expect(resolve(null)).toEqual(invalid('options'));
    expect(resolve('fast')).toEqual(invalid('options'));
  });

  it('fills the documented defaults', () => {
    expect(resolvePlacementOptions()).toEqual({
      switchWeight: 1,
      periodMs: 30_000,
      locality: true,
      reserveFraction: 0.1,
      epsilon: 1e-9,
      lazy: true,
      multiTask: true,
      shareLevels: [1, 0.5, 0.25, 0.125],
      costModel: 'resource',
      safeguard: true,
      batchVariants: 2,
      restarts: 'auto',
      valueWeighting: 'offered-load',
      headroomValue: 1,
      minServedShare: 0.5,
      floorBonus: 1e6,
      floorFairShare: true,
      colocationSlowdown: 0.1,
      nearDemandFirst: true,
      nearDemandTolerance: 0.02,
      arrivalSlack: false,
      serverSwap: false,
      slackReach: false,
      residualBlocking: true,
      shortage: false,
    });
  });

  it('keeps every value given', () => {
    const given = {
      switchWeight: 0,
      periodMs: 1,
      locality: false,
      reserveFraction: 0,
      epsilon: 0,
      lazy: false,
      multiTask: false,
      shareLevels: [0.75],
      costModel: 'unit',
      safeguard: false,
      batchVariants: 0,
      restarts: 0,
      valueWeighting: 'per-item',
      headroomValue: 0,
      minServedShare: 0,
      floorBonus: 0,
      floorFairShare: false,
      colocationSlowdown: 0,
      nearDemandFirst: true,
      nearDemandTolerance: 0,
      arrivalSlack: true,
      serverSwap: true,
      slackReach: true,
      residualBlocking: false,
      shortage: 'estimate',
    } as const;
    expect(resolvePlacementOptions(given)).toEqual(given);
    expect(resolvePlacementOptions({ reserveFraction: 0.99, minServedShare: 1, restarts: 3 })).toMatchObject({ reserveFraction: 0.99, minServedShare: 1, restarts: 3 });
  });

  it('refuses each number outside its range, naming it', () => {
    const bad: Record<string, unknown[]> = {
      switchWeight: [-1, Number.NaN, Number.POSITIVE_INFINITY],
      periodMs: [0, -1, Number.NaN, Number.POSITIVE_INFINITY],
      reserveFraction: [-0.01, 1, Number.NaN],
      epsilon: [-1, Number.NaN, Number.POSITIVE_INFINITY],
      batchVariants: [-1, 0.5, Number.NaN],
      restarts: [-1, 1.5, 'never'],
      costModel: ['free'],
      valueWeighting: ['per-request'],
      minServedShare: [-0.01, 1.01, Number.NaN, '0.5'],
      headroomValue: [-0.01, 1.01, Number.NaN, '0.5'],
      floorBonus: [-1, Number.NaN, Number.POSITIVE_INFINITY],
      colocationSlowdown: [-1, Number.NaN, Number.POSITIVE_INFINITY],
      nearDemandTolerance: [-1, Number.NaN, Number.POSITIVE_INFINITY],
    };
    for (const [field, values] of Object.entries(bad)) {
      for (const value of values) expect(resolve({ [field]: value }), `${field} = ${String(value)}`).toEqual(invalid(field));
    }
  });

  it('refuses a flag that is not a boolean', () => {
    for (const field of ['nearDemandFirst', 'floorFairShare', 'residualBlocking', 'locality', 'lazy', 'multiTask', 'safeguard']) {
      expect(resolve({ [field]: 'yes' })).toEqual(invalid(field));
      expect(resolve({ [field]: 1 })).toEqual(invalid(field));
    }
  });

  it('checks share levels, then sorts them largest first without repeats', () => {
    expect(resolve({ shareLevels: [] })).toEqual(invalid('shareLevels'));
    expect(resolve({ shareLevels: 0.5 })).toEqual(invalid('shareLevels'));
    expect(resolve({ shareLevels: [1, 0] })).toEqual(invalid('shareLevels[1]'));
    expect(resolve({ shareLevels: [1.01] })).toEqual(invalid('shareLevels[0]'));
    expect(resolve({ shareLevels: ['0.5'] })).toEqual(invalid('shareLevels[0]'));
    expect(resolvePlacementOptions({ shareLevels: [0.25, 1, 0.25, 0.5] }).shareLevels).toEqual([1, 0.5, 0.25]);
  });
});

describe('effectivePlacementOptions', () => {
  it('turns locality off without a delay model, and leaves everything else', () => {
    const on = resolvePlacementOptions({ switchWeight: 2 });
    expect(effectivePlacementOptions(on, {})).toEqual({ ...on, locality: false });
    expect(effectivePlacementOptions(on, { delaysMs: () => 0 })).toBe(on);
    const off = resolvePlacementOptions({ locality: false });
    expect(effectivePlacementOptions(off, { delaysMs: {} })).toBe(off);
    expect(effectivePlacementOptions(off, {})).toBe(off);
  });
});
