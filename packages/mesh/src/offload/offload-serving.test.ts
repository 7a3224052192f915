import { describe, expect, it } from 'vitest';
import { createManualClock, EparaError } from '@epara/core';
import type { Logger, NamedTensors, ParallelPlan, ServiceId } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { OffloadServing } from './offload-serving.js';
import type { Offloader } from './offloader.js';

/** An offloader that records what it is told to serve, and can refuse one `serve`. */
class RecordingOffloader implements Offloader {
  readonly calls: string[] = [];
  refuseNext = false;
  closes = 0;
  /** When set, the next `serve` waits for this promise. */
  hold: Promise<void> | undefined;
  serve(ids: readonly ServiceId[]): Promise<void> {
    this.calls.push(`serve ${[...ids].sort().join(',')}`);
    const held = this.hold;
    this.hold = undefined;
    if (held) return held;
    if (this.refuseNext) {
      this.refuseNext = false;
      return Promise.reject(new EparaError('PEER_UNAVAILABLE', 'no broker'));
    }
    return Promise.resolve();
  }
  unserve(ids: readonly ServiceId[]): void {
    this.calls.push(`unserve ${[...ids].sort().join(',')}`);
  }
  forward(): Promise<NamedTensors> {
    return Promise.reject(new EparaError('NO_INSTANCE', 'not used here'));
  }
  close(): void {
    this.closes++;
  }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup() {
  const clock = createManualClock(0);
  const timers = createManualTimers(clock);
  const executor = createFakeExecutor({ services: { a: { serviceTimeMs: 1 }, b: { serviceTimeMs: 1 } }, hosted: ['a'], clock, timers, loadTimeMs: 30 });
  const offloader = new RecordingOffloader();
  const warnings: unknown[] = [];
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: (o) => void warnings.push(o), error: () => undefined };
  const serving = new OffloadServing({ offloader, executor, timers, pollMs: 100, logger });
  const tick = async (ms: number): Promise<void> => {
    timers.advance(ms);
    await flush();
  };
  return { timers, executor, offloader, warnings, serving, tick };
}

describe('OffloadServing', () => {
  it('serves the hosted services on start, once, and exposes its offloader', async () => {
    const { offloader, serving, timers } = setup();
    expect(serving.offloader).toBe(offloader);
    await serving.start();
    await serving.start();
    expect(offloader.calls).toEqual(['serve a']);
    expect(serving.services).toEqual(['a']);
    expect(timers.pending).toBe(1);
  });

  it('follows the executor every poll: serves a service once its instance is ready, unserves one unloaded', async () => {
    const { executor, offloader, serving, tick } = setup();
    await serving.start();
    const loading = executor.load({ serviceId: 'b' } as ParallelPlan, { instanceId: 'b#1' });
    await tick(100);
    // b is still loading: not served yet, and nothing changed for a.
    expect(offloader.calls).toEqual(['serve a']);
    await loading;
    await tick(100);
    expect(offloader.calls).toEqual(['serve a', 'serve b']);
    expect(serving.services.sort()).toEqual(['a', 'b']);
    const [first] = executor.instances().filter((i) => i.serviceId === 'a');
    await executor.unload(first!.instanceId);
    await tick(100);
    expect(offloader.calls).toEqual(['serve a', 'serve b', 'unserve a']);
    expect(serving.services).toEqual(['b']);
    await tick(100);
    expect(offloader.calls).toHaveLength(3);
  });

  it('logs a refused serve and tries it again on the next poll', async () => {
    const { offloader, serving, warnings, tick } = setup();
    offloader.refuseNext = true;
    await serving.start();
    expect(serving.services).toEqual([]);
    expect(warnings).toHaveLength(1);
    await tick(100);
    expect(offloader.calls).toEqual(['serve a', 'serve a']);
    expect(serving.services).toEqual(['a']);
  });

  it('a service whose serve failed and that is unloaded before a retry succeeds is unserved', async () => {
    // The offloader may serve it all the same (a NATS client subscribes again on its reconnect): before, a failed
    // serve was forgotten, and the service, once unloaded, was never unserved.
    const { executor, offloader, serving, tick } = setup();
    offloader.refuseNext = true;
    await serving.start();
    const [a] = executor.instances();
    await executor.unload(a!.instanceId);
    await tick(100);
    expect(offloader.calls).toEqual(['serve a', 'unserve a']);
    expect(serving.services).toEqual([]);
    await tick(100);
    expect(offloader.calls).toHaveLength(2);
  });

  it('close stops polling, closes the offloader once, and makes start and refresh do nothing', async () => {
    const { executor, offloader, serving, timers, tick } = setup();
    await serving.start();
    serving.close();
    serving.close();
    expect(offloader.closes).toBe(1);
    expect(timers.pending).toBe(0);
    const loading = executor.load({ serviceId: 'b' } as ParallelPlan, { instanceId: 'b#1' });
    await tick(1000);
    await loading;
    await serving.refresh();
    await serving.start();
    expect(offloader.calls).toEqual(['serve a']);
    expect(timers.pending).toBe(0);
  });

  it('close before start: start serves nothing', async () => {
    const { offloader, serving, timers } = setup();
    serving.close();
    await serving.start();
    expect(offloader.calls).toEqual([]);
    expect(timers.pending).toBe(0);
  });

  it('a close while a serve is in flight schedules no further poll', async () => {
    const { offloader, serving, timers } = setup();
    let release = (): void => undefined;
    offloader.hold = new Promise<void>((r) => (release = r));
    const started = serving.start();
    await flush();
    serving.close();
    release();
    await started;
    await flush();
    expect(timers.pending).toBe(0);
  });
});
