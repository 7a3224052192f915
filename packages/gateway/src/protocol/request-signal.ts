import { EparaError } from '@epara/core';
import type { AbortSignalLike } from '@epara/core';

/**
 * A one-shot abort signal for one request (the client went away): the {@link AbortSignalLike} that
 * `node.submit` takes, without a platform `AbortController` per request — an `EventTarget` whose creation and
 * listener bookkeeping cost more than the rest of the gateway's own work on a small request. Listeners added
 * after the abort never run, as with a platform signal; each runs at most once.
 */
export class RequestSignal implements AbortSignalLike {
  #aborted = false;
  #reason: unknown = undefined;
  #listeners: (() => void)[] | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  addEventListener(type: 'abort', listener: () => void): void {
    if (type !== 'abort' || this.#aborted) return;
    const ls = (this.#listeners ??= []);
    if (!ls.includes(listener)) ls.push(listener);
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    const ls = this.#listeners;
    if (type !== 'abort' || !ls) return;
    const i = ls.indexOf(listener);
    if (i >= 0) ls.splice(i, 1);
  }

  /** Aborts (once) and runs the listeners; one that throws does not stop the others (it is rethrown async, as an `EventTarget` reports it). */
  abort(reason: unknown = new EparaError('ABORTED', 'the client went away before the answer')): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const ls = this.#listeners;
    this.#listeners = undefined;
    for (const l of ls ?? []) {
      try {
        l();
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
