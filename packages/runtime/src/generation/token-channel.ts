import type { EparaError } from '@epara/core';

/** A single-consumer async queue of tokens that ends with success or with an error. */
export interface TokenChannel extends AsyncIterable<number> {
  push(token: number): void;
  end(): void;
  fail(error: EparaError): void;
  /** Called once when the consumer stops iterating early (`break`, `return`). */
  onCancel(listener: () => void): void;
}

/** Creates a {@link TokenChannel}. Tokens pushed before iteration starts are buffered. */
export function createTokenChannel(): TokenChannel {
  const buffer: number[] = [];
  let done = false;
  let error: EparaError | undefined;
  let wake: (() => void) | undefined;
  let cancel: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    push(token) {
      if (done) return;
      buffer.push(token);
      notify();
    },
    end() {
      done = true;
      notify();
    },
    fail(err) {
      if (done) return;
      error = err;
      done = true;
      notify();
    },
    onCancel(listener) {
      cancel = listener;
    },
    async *[Symbol.asyncIterator]() {
      let finished = false;
      try {
        for (;;) {
          if (buffer.length > 0) {
            yield buffer.shift()!;
            continue;
          }
          if (done) {
            finished = true;
            if (error) throw error;
            return;
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        if (!finished) cancel?.();
      }
    },
  };
}
