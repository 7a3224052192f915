import { invalidOption } from '@epara/core';

/**
 * When a stream service's pack is formed on a busy device: `'when-free'` — a pack smaller than the largest fresh
 * one is not sent ahead of the device's running batch; it is formed when the device frees, from every frame waiting
 * then (work conserving, as a dynamic batcher); `'send-ahead'` — a pack of the plan's size is sent ahead at once
 * (earlier versions: behind a running pack, the next frame went ahead alone and the frames arriving after it waited
 * for a pack of their own).
 */
export type StreamPackForming = 'when-free' | 'send-ahead';

/** The default {@link StreamPackForming}. */
export const DEFAULT_STREAM_PACK_FORMING: StreamPackForming = 'when-free';

/**
 * The option's value, or the default when unset.
 * @throws EparaError `INVALID_OPTIONS` for any other value.
 */
export function resolveStreamPackForming(v: unknown): StreamPackForming {
  if (v === undefined) return DEFAULT_STREAM_PACK_FORMING;
  if (v !== 'when-free' && v !== 'send-ahead') invalidOption('streamPackForming', v, "'when-free' or 'send-ahead'");
  return v;
}
