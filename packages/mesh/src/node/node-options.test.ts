import { describe, expect, it } from 'vitest';
import { createManualClock, isEparaError, systemClock } from '@epara/core';
import { monotonicClock } from '../util/monotonic-clock.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { NODE_DEFAULTS, resolveNodeOptions } from './node-options.js';
import type { NodeOptions } from './node-options.js';

const base = (): NodeOptions => ({
  id: 'a',
  transport: createMemoryTransport(),
  executor: createFakeExecutor({ services: {} }),
  security: { psk: 'sixteen-bytes-key!' },
});

const fieldOf = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return isEparaError(err) && err.code === 'INVALID_OPTIONS' ? err.details['field'] : err;
  }
  return undefined;
};

describe('resolveNodeOptions', () => {
  it('fills the documented defaults', () => {
    const o = resolveNodeOptions(base());
    expect(o.syncPeriodMs).toBe(NODE_DEFAULTS.syncPeriodMs);
    expect(o.placementPeriodMs).toBe(30_000);
    expect(o.hopLimit).toBe(2);
    expect(o.streamAdmission).toBe('local-first');
    expect(o.placement).toEqual({ minDemandPerSec: 1, initialDelayMs: 4 * NODE_DEFAULTS.syncPeriodMs, demand: undefined, core: {} });
  });

  it('measures time between events on a monotonic clock unless a clock is injected, and deadlines on `clock`', () => {
    const d = resolveNodeOptions(base());
    expect(d.clock).toBe(systemClock);
    expect(d.monotonicClock).toBe(monotonicClock);
    const manual = createManualClock(5);
    const m = resolveNodeOptions({ ...base(), clock: manual });
    expect(m.monotonicClock).toBe(manual);
    const both = resolveNodeOptions({ ...base(), clock: manual, monotonicClock });
    expect([both.clock, both.monotonicClock]).toEqual([manual, monotonicClock]);
    expect(fieldOf(() => resolveNodeOptions({ ...base(), monotonicClock: {} as never }))).toBe('monotonicClock');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), clock: 5 as never }))).toBe('clock');
  });

  it('validates the placement options: delay, floor and the demand forecast against the catalog', () => {
    const services = [{ id: 'echo', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 }, memory: { weightsBytes: 1, perItemBytes: 1 }, profiles: {} }] as const;
    const ok = resolveNodeOptions({ ...base(), services, syncPeriodMs: 50, placement: { demand: [{ serviceId: 'echo', ratePerServer: { a: 5 } }], lazy: false } });
    expect(ok.placement && ok.placement.initialDelayMs).toBe(200);
    expect(ok.placement && ok.placement.core).toEqual({ lazy: false });
    expect(ok.placement && ok.placement.demand?.()).toEqual([{ serviceId: 'echo', ratePerServer: { a: 5 } }]);
    const p = (placement: object): NodeOptions => ({ ...base(), services, placement });
    expect(fieldOf(() => resolveNodeOptions(p({ initialDelayMs: -1 })))).toBe('placement.initialDelayMs');
    expect(fieldOf(() => resolveNodeOptions(p({ minDemandPerSec: Number.NaN })))).toBe('placement.minDemandPerSec');
    expect(fieldOf(() => resolveNodeOptions(p({ demand: [{ serviceId: 'nope', ratePerServer: {} }] })))).toBe('placement.demand[0].serviceId');
    expect(fieldOf(() => resolveNodeOptions(p({ demand: [{ serviceId: 'echo', ratePerServer: { a: -1 } }] })))).toBe('placement.demand[0].ratePerServer.a');
    expect(fieldOf(() => resolveNodeOptions(p({ demand: [{ serviceId: 'echo', ratePerServer: {}, streams: [{ accessServer: 'a', rateHz: Infinity }] }] })))).toBe('placement.demand[0].streams[0].rateHz');
    // A function is validated when the leader calls it.
    const fn = resolveNodeOptions(p({ demand: () => [{ serviceId: 'echo', ratePerServer: 'x' }] }));
    expect(fieldOf(() => fn.placement && fn.placement.demand?.())).toBe('placement.demand()[0].ratePerServer');
  });

  it('requires security: a key of 16+ bytes, or insecure spelled out', () => {
    const { security: _s, ...noSecurity } = base();
    expect(fieldOf(() => resolveNodeOptions(noSecurity as NodeOptions))).toBe('security');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), security: { psk: 'short' } }))).toBe('security.psk');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), security: { insecure: false as unknown as true } }))).toBe('security.insecure');
    expect(resolveNodeOptions({ ...base(), security: { insecure: true } }).security).toEqual({ insecure: true });
  });

  it('names the bad field', () => {
    expect(fieldOf(() => resolveNodeOptions({ ...base(), id: '' }))).toBe('id');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), syncPeriodMs: 0 }))).toBe('syncPeriodMs');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), hopLimit: 1.5 }))).toBe('hopLimit');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), streamAdmission: 'nearest' as never }))).toBe('streamAdmission');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), executor: {} as never }))).toBe('executor');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), syncFaults: { lossProbability: 2 } }))).toBeUndefined();
  });

  it('derives the suspicion time from the period and the ack wait, and validates the robustness bounds', () => {
    expect(resolveNodeOptions(base()).syncSuspicionMs).toBe(1500);
    expect(resolveNodeOptions({ ...base(), syncPeriodMs: 50, syncAckTimeoutMs: 400 }).syncSuspicionMs).toBe(1600);
    expect(resolveNodeOptions({ ...base(), syncSuspicionMs: 900 }).syncSuspicionMs).toBe(900);
    expect(resolveNodeOptions(base()).maxLinkBufferedBytes).toBe(32 * 1024 * 1024);
    expect(fieldOf(() => resolveNodeOptions({ ...base(), syncSuspicionMs: 0 }))).toBe('syncSuspicionMs');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), maxLinkBufferedBytes: -1 }))).toBe('maxLinkBufferedBytes');
  });
});

describe('resolveNodeOptions: network', () => {
  it('defaults to no known links and keeps a valid model as given', () => {
    expect(resolveNodeOptions(base()).network).toEqual({});
    const network = { delayMs: { b: 5, c: 20 }, bandwidthBytesPerMs: { b: 125_000 } };
    expect(resolveNodeOptions({ ...base(), network }).network).toBe(network);
  });

  it('names the peer of a bad figure', () => {
    expect(fieldOf(() => resolveNodeOptions({ ...base(), network: { delayMs: { b: -1 } } }))).toBe('network.delayMs.b');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), network: { bandwidthBytesPerMs: { c: 0 } } }))).toBe('network.bandwidthBytesPerMs.c');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), network: { delayMs: { b: Number.NaN } } }))).toBe('network.delayMs.b');
    expect(fieldOf(() => resolveNodeOptions({ ...base(), network: 5 as never }))).toBe('network');
  });
});
