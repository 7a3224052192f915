import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import type { LocalExecutor, NamedTensors, ServiceId } from '@epara/core';

/** An executor built by an {@link ExecutorContractFactory}: one service hosted, ready, on the platform clock. */
export interface ContractExecutor {
  readonly executor: LocalExecutor;
  /** The service it hosts (ready when `create` resolves). */
  readonly serviceId: ServiceId;
  /** One valid input of the service. */
  readonly input: NamedTensors;
  /** Most items the executor may run at once beside its queue (its batch size, times its instances). */
  readonly maxInFlight: number;
  /** Releases what it holds. */
  close(): Promise<void>;
}

/** What an executor under test provides to {@link runExecutorContract}. */
export interface ExecutorContractFactory {
  /**
   * An executor whose queue holds at most `maxQueue` items per instance (the executor-wide option, as the runtime
   * executor's `maxQueue`), hosting one service whose run takes long enough that a burst queues up. Throws (or
   * rejects) `INVALID_OPTIONS` for a `maxQueue` that is not a positive integer.
   */
  create(options: { readonly maxQueue: number }): ContractExecutor | Promise<ContractExecutor>;
  /**
   * Makes one device of an executor `create` made give up for good (the runtime's `deviceFailed`), resolving its
   * id once the executor has said so. Given, the executor must implement `failedDevices` and the suite checks that
   * it lists the device; omitted, that case is skipped (an executor that never reports device failures).
   */
  failDevice?(executor: ContractExecutor): Promise<string>;
}

const codeOf = (err: unknown): string => (isEparaError(err) ? err.code : `not an EparaError: ${String(err)}`);

/**
 * The behaviour an executor the mesh runs on must have, as far as the mesh relies on it — mesh's fake executor is
 * held to the same suite as the real one, so a test on the fake says something about the real: the executor-wide
 * `maxQueue` is honoured (a burst past it is refused `OVERLOADED` at once, typed; what was taken is answered), a bad
 * `maxQueue` is refused `INVALID_OPTIONS`, an unknown service has no estimate and is refused typed, and
 * `failedDevices` (when implemented) lists no device while all work, is stable by identity, and lists a device that
 * gave up (when the factory can make one: `failDevice`). Call it inside a vitest test file.
 *
 * @example
 * ```ts
 * runExecutorContract('fake', {
 *   create: ({ maxQueue }) => ({ executor: createFakeExecutor({ maxQueue, services: { s: { serviceTimeMs: 20 } }, hosted: ['s'] }), serviceId: 's', input, maxInFlight: 1, close: async () => undefined }),
 * });
 * ```
 */
export function runExecutorContract(name: string, factory: ExecutorContractFactory): void {
  describe(`Executor contract: ${name}`, () => {
    it('honours maxQueue: a burst past it is refused OVERLOADED at once, typed, and every request taken is answered', async () => {
      const maxQueue = 3;
      const e = await factory.create({ maxQueue });
      try {
        const burst = 4 * (maxQueue + e.maxInFlight);
        const outcomes = await Promise.all(
          Array.from({ length: burst }, () => e.executor.submit(e.serviceId, e.input, { deadline: Date.now() + 30_000 }).then(() => 'ok', codeOf)),
        );
        const ok = outcomes.filter((o) => o === 'ok').length;
        // Taken: at most a full queue beside what runs; at least a full queue (it is not refusing early).
        expect(ok).toBeLessThanOrEqual(maxQueue + e.maxInFlight);
        expect(ok).toBeGreaterThanOrEqual(maxQueue);
        expect(outcomes.filter((o) => o !== 'ok')).toEqual(Array.from({ length: burst - ok }, () => 'OVERLOADED'));
      } finally {
        await e.close();
      }
    });

    it('refuses a maxQueue that is not a positive integer with INVALID_OPTIONS', async () => {
      for (const maxQueue of [0, -1, 1.5]) {
        const made = (async () => factory.create({ maxQueue }))();
        const outcome = await made.then(async (e) => (await e.close(), 'created'), codeOf);
        expect(outcome).toBe('INVALID_OPTIONS');
      }
    });

    it('failedDevices, if implemented, lists no device while all work, and returns the same array until that changes', async () => {
      const e = await factory.create({ maxQueue: 8 });
      try {
        const read = e.executor.failedDevices?.bind(e.executor);
        if (factory.failDevice) expect(typeof read).toBe('function');
        if (read === undefined) return;
        const first = read();
        expect(first).toEqual([]);
        await e.executor.submit(e.serviceId, e.input, { deadline: Date.now() + 30_000 });
        expect(read()).toBe(first);
      } finally {
        await e.close();
      }
    });

    it.skipIf(factory.failDevice === undefined)('a device that gave up is listed by failedDevices (a new array, then stable), and submits after it still settle, typed', async () => {
      const e = await factory.create({ maxQueue: 8 });
      try {
        const before = e.executor.failedDevices!();
        const deviceId = await factory.failDevice!(e);
        const after = e.executor.failedDevices!();
        expect(after).not.toBe(before);
        expect(after).toContain(deviceId);
        expect(e.executor.failedDevices!()).toBe(after);
        const outcome = await e.executor.submit(e.serviceId, e.input, { deadline: Date.now() + 30_000 }).then(() => 'ok', codeOf);
        expect(['ok', 'NO_INSTANCE', 'WORKER_CRASHED']).toContain(outcome);
      } finally {
        await e.close();
      }
    });

    it('an unknown service has no estimate, and a submit of it is refused typed', async () => {
      const e = await factory.create({ maxQueue: 8 });
      try {
        expect(e.executor.estimate('no-such-service')).toBeUndefined();
        const code = await e.executor.submit('no-such-service', e.input, { deadline: Date.now() + 1000 }).then(() => 'ok', codeOf);
        expect(['NO_INSTANCE', 'UNKNOWN_SERVICE']).toContain(code);
      } finally {
        await e.close();
      }
    });
  });
}
