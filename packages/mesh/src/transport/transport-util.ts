import { EparaError, isEparaError } from '@epara/core';
import type { AbortSignalLike } from '@epara/core';

/** Default largest frame a transport sends or accepts: 16 MiB (a few large tensors). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** The `ABORTED` error for a fired signal (keeps an `EparaError` reason as is). */
export function abortError(signal: AbortSignalLike): EparaError {
  if (isEparaError(signal.reason)) return signal.reason;
  return new EparaError('ABORTED', 'the operation was aborted', {}, { cause: signal.reason });
}

/**
 * Runs `start` and rejects with `ABORTED` as soon as `signal` fires; `onAbort` undoes the work begun. The
 * listener is removed when the promise settles.
 */
export function withAbort<T>(
  signal: AbortSignalLike | undefined,
  start: () => Promise<T>,
  onAbort: () => void,
): Promise<T> {
  if (signal === undefined) return start();
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort();
      reject(abortError(signal));
    };
    signal.addEventListener('abort', abort, { once: true });
    start().then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}
