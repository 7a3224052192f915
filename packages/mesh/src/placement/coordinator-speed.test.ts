import { createManualClock, createProfile, latencyAt, silentLogger } from '@epara/core';
import type { ServiceSpec } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { describe, expect, it } from 'vitest';
import { serverEntry } from '../testing/coordinator-fixture.js';
import { resolveCoordinatorOptions, type CoordinatorOptions } from './coordinator-options.js';
import { PlacementCoordinator } from './placement-coordinator.js';

/*
 * One server with four CPUs and a stream service whose frames must be fresh within 100 ms: a pack of 4 runs 32 ms
 * on its profile. 110 frames/s of streams are forecast. On the profile one device serves them (a pack of 4: 125
 * frames/s); the host measured the service's batches at 2.3× the profile, where a device serves 48.
 */
const video: ServiceSpec = {
  id: 'video',
  sensitivity: 'frequency',
  slo: { kind: 'frequency', rateHz: 10, stalenessMs: 100 },
  memory: { weightsBytes: 1e6, perItemBytes: 1e5 },
  profiles: { cpu: createProfile('cpu', [{ batch: 1, ms: 10 }, { batch: 2, ms: 18 }, { batch: 4, ms: 32 }, { batch: 8, ms: 60 }]) },
};

function decide(options: CoordinatorOptions) {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const services = [video];
  const coordinator = new PlacementCoordinator({
    selfId: 'a',
    timers,
    periodMs: 600_000,
    services,
    devices: [0, 1, 2, 3].map((k) => ({ id: `cpu${k}`, kind: 'cpu', memoryBytes: 1e9 })),
    options: resolveCoordinatorOptions({ demand: [{ serviceId: 'video', ratePerServer: { a: 110 } }], ...options }, { services, syncPeriodMs: 100 }),
    hasSeeds: false,
    view: () => ({ entries: { a: serverEntry('a', true) } }),
    hosted: () => [],
    epoch: () => 1,
    send: () => undefined,
    apply: () => undefined,
    logger: silentLogger,
    ran: () => undefined,
  });
  return coordinator.run('start')!;
}

describe('placement coordinator: plans at the measured speed (costRatio)', () => {
  it('places the stream instances the demand needs on devices slower than the profile, and sends plans at the profile\'s speed', () => {
    const onProfile = decide({});
    expect(onProfile.instances).toHaveLength(1);
    const measured = decide({ costRatio: { video: 2.3 } });
    expect(measured.instances.length).toBeGreaterThanOrEqual(3);
    // What each server's executor loads is the profile's figure: it scales a plan by the speed it learns itself.
    for (const i of measured.instances) expect(i.plan.runMs).toBeCloseTo(latencyAt(video.profiles['cpu']!, i.plan.batchSize));
  });

  it('reads a function at every run, and refuses a ratio that is not a positive finite number', () => {
    let ratio = 1;
    expect(decide({ costRatio: () => ({ video: ratio }) }).instances).toHaveLength(1);
    ratio = 2.3;
    expect(decide({ costRatio: () => ({ video: ratio }) }).instances.length).toBeGreaterThanOrEqual(3);
    expect(() => resolveCoordinatorOptions({ costRatio: { video: 0 } }, { services: [video], syncPeriodMs: 100 })).toThrow(/costRatio/);
  });
});
