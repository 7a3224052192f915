import { EparaError } from '@epara/core';
import { signalError } from '@epara/core/internal';
import type { AbortSignalLike, ClusterView, Timers } from '@epara/core';

/** Options of {@link MeshNode.whenView}. */
export interface WhenViewOptions {
  /** Gives up with `DEADLINE_EXCEEDED` after this many ms (node timers). @default no limit */
  readonly timeoutMs?: number;
  /** Gives up with `ABORTED` when aborted. */
  readonly signal?: AbortSignalLike;
}

/** What {@link waitForView} needs from the node. */
export interface ViewSource {
  view(): ClusterView;
  on(event: 'viewChanged', listener: () => void): unknown;
  off(event: 'viewChanged', listener: () => void): unknown;
  readonly timers: Timers;
  /** Registers a rejection to call when the node closes; returns its removal. */
  onClose(reject: (err: EparaError) => void): () => void;
}

/**
 * Resolves with the first view (now, or after a `viewChanged`) for which `check` holds. Rejects with
 * `INVALID_OPTIONS` for a bad option, `DEADLINE_EXCEEDED` on `timeoutMs`, `ABORTED` on the signal, `CLOSED`
 * when the node closes, or the error `check` threw. Never polls.
 */
export function waitForView(source: ViewSource, check: (view: ClusterView) => boolean, options: WhenViewOptions = {}): Promise<ClusterView> {
  if (typeof check !== 'function') return Promise.reject(new EparaError('INVALID_OPTIONS', 'whenView needs a check function', { field: 'check' }));
  const bad = signalError(options.signal);
  if (bad) return Promise.reject(bad);
  const { timeoutMs, signal } = options;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) return Promise.reject(new EparaError('INVALID_OPTIONS', 'timeoutMs must be a number >= 0', { field: 'timeoutMs', value: timeoutMs }));
  if (signal?.aborted) return Promise.reject(new EparaError('ABORTED', 'aborted before the view was checked'));
  return new Promise<ClusterView>((resolve, reject) => {
    let settled = false;
    const finish = (err: EparaError | undefined, view?: ClusterView): void => {
      if (settled) return;
      settled = true;
      timer?.cancel();
      source.off('viewChanged', recheck);
      signal?.removeEventListener('abort', onAbort);
      removeClose();
      if (err) reject(err);
      else resolve(view!);
    };
    const recheck = (): void => {
      const view = source.view();
      let holds: boolean;
      try {
        holds = check(view);
      } catch (err) {
        finish(err instanceof EparaError ? err : new EparaError('INVALID_OPTIONS', `whenView's check threw: ${err instanceof Error ? err.message : String(err)}`, { field: 'check' }));
        return;
      }
      if (holds) finish(undefined, view);
    };
    const onAbort = (): void => finish(new EparaError('ABORTED', 'aborted while waiting for the view'));
    const removeClose = source.onClose((err) => finish(err));
    const timer = timeoutMs === undefined ? undefined : source.timers.setTimeout(() => finish(new EparaError('DEADLINE_EXCEEDED', `the view did not reach the expected state within ${timeoutMs} ms`, { timeoutMs })), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    source.on('viewChanged', recheck);
    recheck();
  });
}
