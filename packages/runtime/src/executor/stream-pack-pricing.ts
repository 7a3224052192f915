import { invalidOption } from '@epara/core';

/**
 * How a stream service's capacity prices a pack of `n` frames at the time batches really hold a device (see
 * `HoldCorrections.packOf`): `'hand-off-once'` — one per-batch hand-off plus the pack's profile at the backend's
 * learned speed, the two learned apart; `'worst-class'` — the largest learned hold ratio of the pack's size class
 * and every smaller one (earlier versions: a contended device's pack-of-one hand-offs priced every pack).
 */
export type StreamPackPricing = 'hand-off-once' | 'worst-class';

/** The default {@link StreamPackPricing}. */
export const DEFAULT_STREAM_PACK_PRICING: StreamPackPricing = 'hand-off-once';

/**
 * The option's value, or the default when unset.
 * @throws EparaError `INVALID_OPTIONS` for any other value.
 */
export function resolveStreamPackPricing(v: unknown): StreamPackPricing {
  if (v === undefined) return DEFAULT_STREAM_PACK_PRICING;
  if (v !== 'hand-off-once' && v !== 'worst-class') invalidOption('streamPackPricing', v, "'hand-off-once' or 'worst-class'");
  return v;
}
