import { createProfile } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { DEVICE_KIND, type DemoProfiles } from './profiles.js';
import { demoServices } from './services.js';

describe('demoServices', () => {
  it('lets each executor batch only as far as its profile was measured', () => {
    const measuredTo = { image: 4, chat: 8, video: 8, loop: 16, vad: 16 } as const;
    const profiles = Object.fromEntries(
      Object.entries(measuredTo).map(([id, last]) => [id, createProfile(DEVICE_KIND, [1, 2, 4, 8, 16].filter((b) => b <= last).map((batch) => ({ batch, ms: 1 + batch })))]),
    ) as unknown as DemoProfiles;
    const services = demoServices({ profiles, lm: new Uint8Array(0), networkBudgetMs: 42 });
    expect(Object.fromEntries(services.map((s) => [s.id, s.maxBatch]))).toEqual(measuredTo);
  });
});
