import { describe, expect, it } from 'vitest';
import { demandOf, nodeIds, planPlacement } from './placement.js';
import { QUIET_DELAYS_MS, QUIET_SPECS } from './quiet-run-fixture.js';
import { streamCoverage } from './stream-coverage.js';
import { buildWorkload } from './workload.js';

describe('stream capacity of core\'s placement against the forecast (what admission can take)', () => {
  const ids = nodeIds(3);
  const cases = [1.19, 2.83].flatMap((load) => [42, 7].map((seed) => ({ load, seed })));

  it.each(cases)('load ×$load, seed $seed: every stream service admissible at its forecast demand', ({ load, seed }) => {
    const forecast = buildWorkload({ durationMs: 10_000, load, nodes: 3, seed, world: 'edge' });
    const placed = planPlacement(QUIET_SPECS, forecast, 3, QUIET_DELAYS_MS, 125_000, { hostRules: 'core' });
    const c = streamCoverage(QUIET_SPECS, placed.instances, demandOf(forecast, QUIET_SPECS, ids));
    expect(c.map((x) => x.serviceId)).toEqual(['video', 'loop', 'vad']);
    for (const x of c) {
      expect(x.demandPerSec).toBeGreaterThan(0);
      expect(x.planPerSec).toBeGreaterThanOrEqual(x.demandPerSec);
      expect(x.covered).toBe(true);
    }
  });

  it('a stream service whose one instance shares a device busy with another is short, and says so', () => {
    const forecast = buildWorkload({ durationMs: 10_000, load: 2.83, nodes: 3, seed: 42, world: 'edge' });
    const placed = planPlacement(QUIET_SPECS, forecast, 3, QUIET_DELAYS_MS, 125_000, { hostRules: 'core' });
    const video = placed.instances.find((p) => p.serviceId === 'video')!;
    const image = placed.instances.find((p) => p.serviceId === 'image')!;
    const demand = demandOf(forecast, QUIET_SPECS, ids);
    const alone = streamCoverage(QUIET_SPECS, [video], demand).find((x) => x.serviceId === 'video')!;
    // The images' planned share of a device, times ten of their demand: the device left to video is a sliver.
    const busy = demand.map((d) => (d.serviceId === 'image' ? { ...d, ratePerServer: Object.fromEntries(Object.entries(d.ratePerServer).map(([k, r]) => [k, r * 10])) } : d));
    const beside = streamCoverage(QUIET_SPECS, [video, { ...image, serverId: video.serverId }], busy).find((x) => x.serviceId === 'video')!;
    expect(alone.covered).toBe(true);
    expect(beside.admissiblePerSec).toBeLessThan(alone.admissiblePerSec);
    expect(beside.covered).toBe(false);
  });
  it('at a measured speed: a service r times slower admits 1/r of its rate, and busier neighbours leave it less', () => {
    const forecast = buildWorkload({ durationMs: 10_000, load: 1.19, nodes: 3, seed: 42, world: 'edge' });
    const placed = planPlacement(QUIET_SPECS, forecast, 3, QUIET_DELAYS_MS, 125_000, { hostRules: 'core' });
    const demand = demandOf(forecast, QUIET_SPECS, ids);
    const video = placed.instances.find((p) => p.serviceId === 'video')!;
    const alone = (r: Record<string, number>) => streamCoverage(QUIET_SPECS, [video], demand, r).find((x) => x.serviceId === 'video')!;
    const quiet = alone({});
    const slow = alone({ video: 2.7 });
    expect(slow.demandPerSec).toBe(quiet.demandPerSec);
    expect(slow.admissiblePerSec).toBeCloseTo(quiet.admissiblePerSec / 2.7, 6);
    expect(slow.planPerSec).toBeCloseTo(quiet.planPerSec / 2.7, 6);
    // A neighbour on the same device measured slower takes more of it: video's admissible rate falls further.
    const neighbour = placed.instances.find((p) => p.serviceId !== 'video' && p.plan.capacityPerSec > 0)!;
    const pair = [video, { ...neighbour, serverId: video.serverId, deviceIds: video.deviceIds }];
    const at = (r: Record<string, number>) => streamCoverage(QUIET_SPECS, pair, demand, r).find((x) => x.serviceId === 'video')!.admissiblePerSec;
    expect(at({ [neighbour.serviceId]: 2 })).toBeLessThan(at({}));
    expect(at({ video: 0, [neighbour.serviceId]: Number.NaN })).toBe(at({})); // no figure, or a nonsense one: the profile
  });
});
