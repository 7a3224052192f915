import { isEparaError } from '../errors/epara-error.js';

/**
 * For core's own tests: the field an `INVALID_OPTIONS` error thrown by `f` names, `undefined` when `f` does not
 * throw, or the thrown value itself when it is anything else (so that an assertion on the field shows it).
 */
export function invalidField(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return isEparaError(e) && e.code === 'INVALID_OPTIONS' ? e.details?.['field'] : e;
  }
  return undefined;
}
