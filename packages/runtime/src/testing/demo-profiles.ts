import { createProfile } from '@epara/core';

/**
 * Profiles a quiet run of the demo measured on its image server (the PP-OCR detector, one thread), for the
 * virtual-time models of that server: on video frames `L(n)` grows far slower than `n`.
 */
export const DEMO_IMAGE_PROFILE = createProfile('cpu-1t', [
  { batch: 1, ms: 4.83 },
  { batch: 2, ms: 8.99 },
  { batch: 4, ms: 17.6 },
]);

export const DEMO_VIDEO_PROFILE = createProfile('cpu-1t', [
  { batch: 1, ms: 2.23 },
  { batch: 2, ms: 4.27 },
  { batch: 4, ms: 6.56 },
  { batch: 8, ms: 12.6 },
]);
