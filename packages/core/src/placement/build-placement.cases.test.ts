import { describe, expect, it } from 'vitest';
import { buildPlacement } from './build-placement.js';
import { buildTemplates } from './candidates.js';
import { consolidateShares } from './consolidate.js';
import { evictForStarved } from './evict-swap.js';
import { runGreedy, type BuildState, type GreedyContext } from './greedy.js';
import { repairForGroups } from './group-repair.js';
import { buildPlacementModel } from './model.js';
import { effectivePlacementOptions, resolvePlacementOptions, type PlacementOptions } from './options.js';
import { midPlacementInstance } from './testing/mid-instance.js';
import { trimShares } from './trim-shares.js';
import type { PlacementInput } from './types.js';

// The pipeline's stop rule: rounds repeat while a prune, merge, trim, eviction or group repair changed something, so
// a pipeline that settles within its six rounds returns a fixed point of its passes — one more round would add and
// free nothing. These mid-size instances settle within six rounds, and in some of them one round both evicts for a
// starving service and repairs a group, with nothing else changed: that round's changes count too (a sum of the
// passes' counts), and the next round places what they freed.

function context(input: PlacementInput, options: PlacementOptions): GreedyContext {
  const effective = effectivePlacementOptions(resolvePlacementOptions(options), input);
  const resolved = { ...effective, multiTask: effective.multiTask !== false };
  const model = buildPlacementModel(input, resolved);
  return { model, options: resolved, templates: buildTemplates(model, resolved) };
}
const live = (state: BuildState): number => state.chosen.filter((c) => !c.removed).length;

/** What one more round of the pipeline's passes would change, pass by pass (each pass's own count). */
function anotherRound(ctx: GreedyContext, state: BuildState): Record<string, number> {
  const before = live(state);
  runGreedy(ctx, state);
  const added = live(state) - before;
  return { added, merged: consolidateShares(ctx, state), trimmed: trimShares(ctx, state), evicted: evictForStarved(ctx, state), repaired: repairForGroups(ctx, state) };
}
const NOTHING = { added: 0, merged: 0, trimmed: 0, evicted: 0, repaired: 0 };

describe('buildPlacement stops at a fixed point of its passes', () => {
  it.each([
    ['value-weighted', 27, {}],
    ['value-weighted, eager', 27, { lazy: false }],
    ['per-item', 2, { valueWeighting: 'per-item' }],
    ['per-item', 7, { valueWeighting: 'per-item' }],
    ['per-item', 58, { valueWeighting: 'per-item' }],
  ] as const)('%s, mid-size instance %i: another round changes nothing', (_, seed, options) => {
    const ctx = context(midPlacementInstance(seed), options);
    const out = buildPlacement(ctx, []);
    expect(live(out.state)).toBeGreaterThan(0);
    expect(anotherRound(ctx, out.state)).toEqual(NOTHING);
  });
});
