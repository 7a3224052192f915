import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EparaError } from '../errors/epara-error.js';
import { createSeededRandom } from '../ports/random.js';
import { findPlacementViolations } from './find-violations.js';
import type { PlacementOptions } from './options.js';
import { placeServices } from './place-services.js';
import { randomPlacementInstance } from './testing/random-instance.js';
import { contest, serverOf, slack } from './testing/slack-contest.js';
import type { PlacementInput } from './types.js';

const opts: PlacementOptions = { multiTask: false };

describe('arrivalSlack: the slack items have left at their access server decides which service gets the near server', () => {
  it('without it the first service takes the hot spot’s server; with it the one whose items still fit there does', () => {
    const input = { ...contest, arrivalSlackMs: slack };
    const before = placeServices(input, opts);
    // Both services are nearest `hot` (60 % of their demand enters there); `image` comes first (template order).
    expect(serverOf(before, 'image')).toEqual(['hot']);
    expect(serverOf(before, 'video')).toEqual(['far']);
    const after = placeServices(input, { ...opts, arrivalSlack: true });
    // `image`'s hot-spot items fit nowhere and its `far` items only at `far` (40 % of its demand there, none at
    // `hot`); `video`'s hot-spot items fit only at `hot` (100 % there, 40 % at `far`). So `image` goes to `far` and
    // `video` to `hot`.
    expect(serverOf(after, 'image')).toEqual(['far']);
    expect(serverOf(after, 'video')).toEqual(['hot']);
    // Only the choice among equal placements changes: the objective and the constraints are untouched.
    expect(after.goodputPerSec).toBe(before.goodputPerSec);
    expect(after.objective).toBe(before.objective);
    expect(findPlacementViolations(input, after.instances, opts)).toEqual([]);
    // Fed back unchanged, it stays put.
    expect(placeServices({ ...input, current: after.instances }, { ...opts, arrivalSlack: true }).changes).toEqual([]);
  });

  it('weights each access server by its rate and the share of its items that fit', () => {
    // Half of `image`'s `far` items have 30 ms left (fit at `far` only), half 40 (fit at both): 40 % fit at `far`,
    // 20 % at `hot`.
    const input = { ...contest, arrivalSlackMs: { ...slack, image: { hot: [5], far: [30, 40] } } };
    expect(serverOf(placeServices(input, { ...opts, arrivalSlack: true }), 'image')).toEqual(['far']);
    // Every `far` item with 40 ms left fits at both servers: 40 % of `image`'s items fit at either, so nearness
    // decides again and `image`, first, takes `hot`.
    const fresh = { ...contest, arrivalSlackMs: { ...slack, image: { hot: [5], far: [40] } } };
    expect(serverOf(placeServices(fresh, { ...opts, arrivalSlack: true }), 'image')).toEqual(['hot']);
  });

  it('is read only with locality', () => {
    const input = { ...contest, arrivalSlackMs: slack };
    expect(placeServices(input, { ...opts, arrivalSlack: true, locality: false })).toEqual(placeServices(input, { ...opts, locality: false }));
  });

  it('rejects malformed slack with a typed error naming the field', () => {
    const bad = (arrivalSlackMs: unknown): unknown => {
      try {
        placeServices({ ...contest, arrivalSlackMs } as PlacementInput, { ...opts, arrivalSlack: true });
      } catch (e) {
        return e instanceof EparaError ? [e.code, e.details?.['field']] : e;
      }
      return 'no error';
    };
    expect(bad({ image: { hot: [Number.NaN] } })).toEqual(['INVALID_OPTIONS', 'arrivalSlackMs.image.hot[0]']);
    expect(bad({ image: { hot: 5 } })).toEqual(['INVALID_OPTIONS', 'arrivalSlackMs.image.hot']);
    expect(bad({ nope: { hot: [5] } })).toEqual(['UNKNOWN_SERVICE', 'arrivalSlackMs.nope']);
    expect(bad({ image: { hot: [-3, 5] } })).toBe('no error');
    expect(() => placeServices(contest, { arrivalSlack: 'yes' as unknown as boolean })).toThrow(EparaError);
  });
});

/** Each service's whole SLO (× `factor`) as the slack of its items at every access server. */
function uniformSlack(input: PlacementInput, factor: number): NonNullable<PlacementInput['arrivalSlackMs']> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const s of input.services) {
    const slo = s.slo.kind === 'latency' ? s.slo.deadlineMs : s.slo.stalenessMs;
    out[s.id] = Object.fromEntries(input.servers.map((srv) => [srv.id, [slo * factor]]));
  }
  return out;
}

describe('arrivalSlack: with slack uniform it places as today', () => {
  const shape = fc.record({
    servers: fc.integer({ min: 1, max: 4 }),
    devicesPerServer: fc.integer({ min: 1, max: 3 }),
    services: fc.integer({ min: 1, max: 5 }),
    groups: fc.boolean(),
    kinds: fc.constantFrom(['gpu'], ['gpu', 'cpu']),
  });
  const options: fc.Arbitrary<PlacementOptions> = fc.record({
    multiTask: fc.constantFrom(true, false, 'auto' as const),
    valueWeighting: fc.constantFrom('offered-load' as const, 'per-item' as const),
    nearDemandFirst: fc.boolean(),
  });

  it('every item arriving with its whole SLO (or more) left: the same placement as without the rule', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), shape, options, fc.constantFrom(1, 1.5, 10), (seed, sh, o, factor) => {
        const input = randomPlacementInstance(createSeededRandom(seed), sh);
        const today = placeServices(input, o);
        expect(placeServices({ ...input, arrivalSlackMs: uniformSlack(input, factor) }, { ...o, arrivalSlack: true })).toEqual(today);
        // And the input alone (option off) changes nothing.
        expect(placeServices({ ...input, arrivalSlackMs: uniformSlack(input, 0.1) }, o)).toEqual(today);
      }),
      { numRuns: 30 },
    );
  });

  it('whatever the slack, the rule only reorders equal items: every constraint holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), shape, options, fc.double({ min: 0, max: 1.2, noNaN: true }), (seed, sh, o, factor) => {
        const input = { ...randomPlacementInstance(createSeededRandom(seed), sh) };
        const withSlack = { ...input, arrivalSlackMs: uniformSlack(input, factor) };
        const r = placeServices(withSlack, { ...o, arrivalSlack: true });
        expect(findPlacementViolations(withSlack, r.instances, o)).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });
});
