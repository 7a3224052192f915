/**
 * A promise that rejects with `err` in a microtask of the current job, instead of one born rejected
 * (`Promise.reject`). The caller attaches its handler as soon as `submit` returns, so by the time the promise
 * rejects it is handled: Node's bookkeeping of a promise rejected before it had a handler (a `WeakMap` entry,
 * a record and a queue slot per promise, undone when the handler arrives) is skipped. Under overload most
 * submits are refused, so this is the shedding path. One microtask delivers every rejection made in the same
 * job; a caller that never handles the rejection still gets Node's unhandled-rejection report.
 */
export function rejectSoon<T>(err: unknown): Promise<T> {
  const promise = new Promise<T>(capture);
  rejectLater(captured!, err);
  captured = undefined;
  return promise;
}

/** Calls `reject(err)` in the same microtask as {@link rejectSoon}'s rejections: for a promise made elsewhere. */
export function rejectLater(reject: (err: never) => void, err: unknown): void {
  if (pendingCount === 0) void RESOLVED.then(flush);
  pending[pendingCount++] = reject;
  pending[pendingCount++] = err;
}

/**
 * The microtask is a reaction to this resolved promise rather than Node's `queueMicrotask`, which wraps each
 * callback in an `AsyncResource` and a bound function (about 250 heap bytes a call against about 100, measured).
 */
const RESOLVED = Promise.resolve();

/**
 * `[reject, error]` pairs waiting for the microtask: the first `pendingCount`, the rest cleared slots (kept: a
 * `length = 0` would drop the backing store every job that refused, and the next refusal allocate it again).
 */
const pending: unknown[] = [];
let pendingCount = 0;
let captured: ((err: unknown) => void) | undefined;
// One shared executor function hands the resolver over: no closure per rejection.
const capture = (_resolve: unknown, reject: (err: unknown) => void): void => {
  captured = reject;
};

function flush(): void {
  // `reject` only queues the handlers' jobs: nothing here can push to `pending` while it is drained.
  for (let i = 0; i < pendingCount; i += 2) {
    const reject = pending[i] as (err: unknown) => void;
    const err = pending[i + 1];
    pending[i] = pending[i + 1] = undefined;
    reject(err);
  }
  pendingCount = 0;
}
