import type { AbortSignalLike } from '../ports/abort-signal.js';
import { invalidOption, type EparaError } from './epara-error.js';

/**
 * True for an abort signal EPARA can listen to: a platform `AbortSignal`, or any object with a boolean
 * `aborted` and `addEventListener`/`removeEventListener` methods (a signal from another realm or a polyfill).
 */
export function isAbortSignalLike(value: unknown): value is AbortSignalLike {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['aborted'] === 'boolean' && typeof v['addEventListener'] === 'function' && typeof v['removeEventListener'] === 'function';
}

/**
 * Validates an optional `signal` option at a public entry, so that a wrong value fails as a typed error
 * instead of a `TypeError` deep inside (or, worse, an abort that silently never fires). `undefined` and
 * `null` mean no signal (as in `fetch`).
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field, the value and its type.
 * @example
 * ```ts
 * checkSignal(options.signal); // throws INVALID_OPTIONS for { signal: 'stop' }
 * ```
 */
export function checkSignal(value: unknown, field = 'signal'): void {
  if (value === undefined || value === null || isAbortSignalLike(value)) return;
  invalidOption(field, value, 'an AbortSignal');
}

/** {@link checkSignal} for code that must reject rather than throw: the error, or `undefined` when valid. */
export function signalError(value: unknown, field = 'signal'): EparaError | undefined {
  try {
    checkSignal(value, field);
    return undefined;
  } catch (err) {
    return err as EparaError;
  }
}
