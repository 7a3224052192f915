import { invalidOption } from '@epara/core';
import { DEFAULT_MAX_FRAME_BYTES } from '../transport/transport-util.js';

/** Size limits the codec enforces on every frame it encodes or decodes. */
export interface ProtocolLimits {
  /** Largest whole frame, bytes. @default 16 MiB */
  readonly maxFrameBytes?: number;
  /** Most tensors in one message. @default 64 */
  readonly maxTensors?: number;
  /** Most dimensions of one tensor. @default 8 */
  readonly maxRank?: number;
  /** Longest id, name, code or address, bytes of UTF-8. @default 256 */
  readonly maxIdBytes?: number;
  /** Longest error message, bytes of UTF-8. @default 4096 */
  readonly maxMessageBytes?: number;
  /** Longest JSON payload (error details, placement), bytes. @default 1 MiB */
  readonly maxJsonBytes?: number;
  /** Longest visited list of a forwarded request. @default 32 */
  readonly maxVisited?: number;
  /** Most server entries (or stubs) in one sync token. @default 4096 */
  readonly maxEntries?: number;
  /** Most instances or arrival rates in one server entry. @default 1024 */
  readonly maxPerEntry?: number;
}

/** Defaults of {@link ProtocolLimits}. */
export const PROTOCOL_LIMIT_DEFAULTS: Required<ProtocolLimits> = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxTensors: 64,
  maxRank: 8,
  maxIdBytes: 256,
  maxMessageBytes: 4096,
  maxJsonBytes: 1024 * 1024,
  maxVisited: 32,
  maxEntries: 4096,
  maxPerEntry: 1024,
};

/** Limits after defaults and validation. */
export type ResolvedProtocolLimits = Required<ProtocolLimits>;

const cache = new WeakMap<ProtocolLimits, ResolvedProtocolLimits>();

/**
 * Fills and validates {@link ProtocolLimits} (cached per object, so passing the same limits on every call
 * is cheap).
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field.
 */
export function resolveProtocolLimits(limits: ProtocolLimits = PROTOCOL_LIMIT_DEFAULTS): ResolvedProtocolLimits {
  const hit = cache.get(limits);
  if (hit !== undefined) return hit;
  const r = { ...PROTOCOL_LIMIT_DEFAULTS, ...limits };
  for (const [field, value] of Object.entries(r)) {
    if (!Number.isInteger(value) || value < 1) invalidOption(field, value, 'a positive integer');
  }
  if (r.maxTensors > 0xffff) invalidOption('maxTensors', r.maxTensors, 'at most 65535');
  if (r.maxIdBytes > 0xffff) invalidOption('maxIdBytes', r.maxIdBytes, 'at most 65535');
  if (r.maxMessageBytes > 0xffff) invalidOption('maxMessageBytes', r.maxMessageBytes, 'at most 65535');
  if (r.maxVisited > 0xffff) invalidOption('maxVisited', r.maxVisited, 'at most 65535');
  if (r.maxEntries > 0xffff) invalidOption('maxEntries', r.maxEntries, 'at most 65535');
  if (r.maxPerEntry > 0xffff) invalidOption('maxPerEntry', r.maxPerEntry, 'at most 65535');
  if (r.maxRank > 255) invalidOption('maxRank', r.maxRank, 'at most 255');
  if (r.maxFrameBytes > 0xffffffff) invalidOption('maxFrameBytes', r.maxFrameBytes, 'at most 4 GiB − 1');
  cache.set(limits, r);
  return r;
}
