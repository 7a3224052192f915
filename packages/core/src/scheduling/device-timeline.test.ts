import { describe, expect, it } from 'vitest';
import { DeviceTimeline } from './device-timeline.js';

describe('DeviceTimeline', () => {
  it('is free now when idle, and after the held batches when busy', () => {
    const t = new DeviceTimeline();
    expect(t.freeAt(3)).toBe(3);
    expect(t.dispatch(10, 5)).toBe(10);
    expect(t.dispatch(11, 4)).toBe(15);
    expect(t.freeAt(12)).toBe(19);
    expect(t.held).toBe(2);
  });

  it('re-anchors on each completion: an overrunning batch pushes the free time out instead of drifting early', () => {
    // A steady backlog: one batch running, one waiting, each expected to take 5 ms but really taking 8.
    const t = new DeviceTimeline();
    t.dispatch(0, 5);
    t.dispatch(0, 5);
    t.complete(8); // the first ended 3 ms late: the second started at 8, not 5
    expect(t.freeAt(8)).toBe(13);
    expect(t.dispatch(8, 5)).toBe(13);
    t.complete(16);
    // A predictor anchored at dispatch would say 15 here (0 + 5 + 5 + 5): 4 ms early after two batches.
    expect(t.freeAt(16)).toBe(21);
    // While the running batch overruns, the device is not free before now plus what waits behind it.
    expect(t.freeAt(30)).toBe(30);
    t.dispatch(30, 5);
    expect(t.freeAt(30)).toBe(35);
  });

  it('forgets its batches on reset', () => {
    const t = new DeviceTimeline();
    t.dispatch(0, 5);
    t.reset();
    expect(t.freeAt(1)).toBe(1);
  });
});
