/**
 * The part of the platform `AbortSignal` that core's port types use. Core is compiled without DOM or Node
 * globals; any real `AbortSignal` satisfies this shape.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
