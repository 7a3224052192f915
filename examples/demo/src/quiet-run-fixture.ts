import { createProfile } from '@epara/core';
import { DEVICE_KIND, type DemoProfiles } from './profiles.js';
import { demoServices } from './services.js';

const p = (pts: [number, number][]) => createProfile(DEVICE_KIND, pts.map(([batch, ms]) => ({ batch, ms })));

/**
 * The services' profiles as a quiet run measured them (for tests): the detector as measured; the LM and VAD at that
 * run's one-item times, growing slowly with the batch.
 */
export const QUIET_PROFILES = {
  image: p([[1, 4.83], [2, 8.99], [4, 17.6]]),
  video: p([[1, 2.23], [2, 4.27], [4, 6.56], [8, 12.6]]),
  chat: p([[1, 6.8], [2, 8.5], [4, 11], [8, 16]]),
  loop: p([[1, 0.65], [2, 0.75], [4, 0.9], [8, 1.2], [16, 1.8]]),
  vad: p([[1, 0.49], [2, 0.52], [4, 0.6], [8, 0.8], [16, 1.3]]),
} as unknown as DemoProfiles;

/** The demo's services on {@link QUIET_PROFILES} (a 42 ms network budget, no language model bytes). */
export const QUIET_SPECS = demoServices({ profiles: QUIET_PROFILES, lm: new Uint8Array(0), networkBudgetMs: 42 });

/** One-way delays between the three nodes as that run measured them, ms (the middle node 5 ms from each end). */
export const QUIET_DELAYS_MS = [
  [0, 5.3, 20.5],
  [5.3, 0, 5.4],
  [20.5, 5.4, 0],
];
