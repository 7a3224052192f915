import type { NamedTensors } from '@epara/core';
import type { BatchAxes } from '../tensors/stack.js';
import { planSlabOutputs, type KnownOutput, type SlabOutput } from './slab-outputs.js';
import { layoutFits, planSlab, type LeadTensor, type SlabLayout } from './slab-stack.js';

/** Where a batch's inputs, and (when their sizes are known) its outputs, sit in a slab. */
export interface SlabPlan {
  readonly layout: SlabLayout;
  /** Undefined without known outputs. */
  readonly outputs: { readonly outputs: readonly SlabOutput[]; readonly end: number } | undefined;
  readonly known: readonly KnownOutput[] | undefined;
}

/**
 * A device's slab plans, per model and batch size: a model's batches repeat the same few shapes, so each is
 * planned once and reused for as long as the batch fits it ({@link layoutFits}). Replanning every batch
 * allocated a layout, its placements and the output plan on the host thread for every run.
 */
export class SlabPlans {
  readonly #byModel = new Map<string, (SlabPlan | undefined)[]>();
  readonly #lead: LeadTensor | undefined;

  /** With `lead`: plans for batches whose tensor `lead.name` is already in place (see {@link LeadTensor}). */
  constructor(lead?: LeadTensor) {
    this.#lead = lead;
  }

  /** The plan of a batch of `items` of model `key`. */
  plan(key: string, items: readonly NamedTensors[], axes: BatchAxes, known: readonly KnownOutput[] | undefined): SlabPlan {
    let plans = this.#byModel.get(key);
    if (plans === undefined) this.#byModel.set(key, (plans = []));
    const cached = plans[items.length];
    if (cached !== undefined && cached.known === known && layoutFits(cached.layout, items, axes)) return cached;
    const layout = planSlab(items, axes, this.#lead);
    const outputs = known === undefined ? undefined : planSlabOutputs(known, items.length, layout.bytes);
    const plan: SlabPlan = { layout, outputs, known };
    // Sizes beyond a sane batch are planned but not kept (no sparse array grows to an outlier's length).
    if (items.length <= MAX_KEPT_BATCH) plans[items.length] = plan;
    return plan;
  }

  /** Forgets the plans of model `key` (loaded anew, or unloaded). */
  forget(key: string): void {
    this.#byModel.delete(key);
  }
}

/** Largest batch size whose plan is kept. */
const MAX_KEPT_BATCH = 1024;
