const RESOLVED = Promise.resolve();

/**
 * Runs `fn` in a microtask of the current job, as `queueMicrotask` does, for less heap: Node's `queueMicrotask`
 * wraps each callback in an `AsyncResource` and a bound function (about 250 heap bytes per call, measured), while
 * a reaction to one shared resolved promise is a plain promise job (about 100). On the executor's hot path this
 * runs once per batch end, once per doorbell wait that found its answer already finished, and once per job that
 * refused requests. The job takes the same place among microtasks (after those queued before it). `fn` must not
 * throw: a throw would surface as an unhandled rejection instead of an uncaught exception.
 */
export function soon(fn: () => void): void {
  void RESOLVED.then(fn);
}
