import { describe, expect, it } from 'vitest';
import type { InstanceInfo } from '@epara/core';
import { SKIP_FIRST_BATCHES } from '../device-usage.js';
import { CostRatios, announcingMeasured } from './measured-announce.js';

describe('CostRatios', () => {
  it('follows the estimate against the profile past the first batches of each session', () => {
    const r = new CostRatios();
    r.loaded('image');
    for (let i = 0; i < SKIP_FIRST_BATCHES; i++) r.dispatched({ serviceId: 'image', expectedMs: 140, profileMs: 10 });
    expect(r.of('image')).toBe(1); // cold batches only: nothing measured yet
    r.dispatched({ serviceId: 'image', expectedMs: 30, profileMs: 10 });
    expect(r.of('image')).toBe(3);
    r.dispatched({ serviceId: 'image', expectedMs: 40, profileMs: 10 });
    expect(r.of('image')).toBeCloseTo(3.1, 9); // a running mean, one batch weighing a tenth
    expect(r.of('vad')).toBe(1);
  });
});

describe('announcingMeasured', () => {
  it('divides each instance capacity by its service ratio and leaves the rest of the executor as it is', async () => {
    class Fake {
      readonly #n = 2;
      instances(): InstanceInfo[] {
        return [{ instanceId: 'a', serviceId: 'image', capacityPerSec: 240, loadPerSec: 10 } as InstanceInfo, { instanceId: 'b', serviceId: 'vad', capacityPerSec: 3000, loadPerSec: 1 } as InstanceInfo];
      }
      async submit(): Promise<number> {
        return this.#n; // a private field: the call must reach the executor itself
      }
    }
    const r = new CostRatios();
    for (let i = 0; i <= SKIP_FIRST_BATCHES; i++) r.dispatched({ serviceId: 'image', expectedMs: 40, profileMs: 10 });
    const x = announcingMeasured(new Fake(), r);
    expect(x.instances().map((i) => [i.serviceId, i.capacityPerSec, i.loadPerSec])).toEqual([
      ['image', 60, 10],
      ['vad', 3000, 1],
    ]);
    expect(await x.submit()).toBe(2);
  });
});
