/**
 * A single-consumer async queue: producers `push`, one consumer iterates with `for await`. Iteration ends
 * after `end()` once every pushed item has been taken. Used for stream results, which must come out in order.
 */
export interface AsyncQueue<T> extends AsyncIterable<T> {
  push(item: T): void;
  /** No more items will be pushed; the iterator finishes after draining. Idempotent. */
  end(): void;
  readonly ended: boolean;
  /** Items pushed but not yet taken. */
  readonly size: number;
}

/** Creates an {@link AsyncQueue}. */
export function createAsyncQueue<T>(): AsyncQueue<T> {
  const items: T[] = [];
  let waiter: ((r: IteratorResult<T>) => void) | undefined;
  let ended = false;
  const take = (): Promise<IteratorResult<T>> => {
    if (items.length > 0) return Promise.resolve({ value: items.shift() as T, done: false });
    if (ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      waiter = resolve;
    });
  };
  return {
    push(item) {
      if (ended) return;
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w({ value: item, done: false });
      } else items.push(item);
    },
    end() {
      if (ended) return;
      ended = true;
      if (waiter && items.length === 0) {
        const w = waiter;
        waiter = undefined;
        w({ value: undefined, done: true });
      }
    },
    get ended() {
      return ended;
    },
    get size() {
      return items.length;
    },
    [Symbol.asyncIterator]() {
      return { next: take };
    },
  };
}
