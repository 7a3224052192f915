import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { isEparaError } from '../errors/epara-error.js';
import { loadPromClient } from './prom-client-port.js';
import type { PromRegistry } from './prom-client-port.js';
import { scrapeMetricFactories } from './scrape-metrics.js';
import { attachShared, RecentUtilization } from './shared-metrics.js';

/** A registry that lists the metrics registered on it and records what is removed. */
class FakeRegistry implements PromRegistry {
  readonly contentType = 'text/plain';
  readonly names: string[] = [];
  readonly removed: string[] = [];
  metrics(): Promise<string> {
    return Promise.resolve(this.names.join('\n'));
  }
  getMetricsAsArray(): { name: string }[] {
    return this.names.map((name) => ({ name }));
  }
  removeSingleMetric(name: string): void {
    this.removed.push(name);
    this.names.splice(this.names.indexOf(name), 1);
  }
}

function thrown(f: () => unknown): { code?: string; field?: unknown; cause?: unknown } {
  try {
    f();
  } catch (err) {
    return isEparaError(err) ? { code: err.code, field: err.details['field'], cause: err.cause } : { code: `not an EparaError: ${String(err)}` };
  }
  return {};
}

async function rejected(p: Promise<unknown>): Promise<{ code?: string; field?: unknown; cause?: unknown }> {
  try {
    await p;
  } catch (err) {
    return isEparaError(err) ? { code: err.code, field: err.details['field'], cause: err.cause } : { code: `not an EparaError: ${String(err)}` };
  }
  return {};
}

describe('loadPromClient', () => {
  class Registry extends FakeRegistry {}
  const never = (): Promise<unknown> => Promise.reject(new Error('must not import'));

  it('returns a module passed as client unchanged, without importing', async () => {
    const client = { Registry };
    const importModule = vi.fn(never);
    await expect(loadPromClient(client, importModule)).resolves.toBe(client);
    expect(importModule).not.toHaveBeenCalled();
  });

  it('rejects a client without a Registry class with INVALID_OPTIONS on `client`', async () => {
    expect(await rejected(loadPromClient({ Registry: 'nope' } as never, never))).toMatchObject({ code: 'INVALID_OPTIONS', field: 'client' });
  });

  it('imports prom-client by name and takes the module or its default export', async () => {
    const named = { Registry };
    const importModule = vi.fn((_: string) => Promise.resolve(named));
    await expect(loadPromClient(undefined, importModule)).resolves.toBe(named);
    expect(importModule).toHaveBeenCalledWith('prom-client');
    const inner = { Registry };
    await expect(loadPromClient(undefined, () => Promise.resolve({ default: inner }))).resolves.toBe(inner);
  });

  it('rejects with INVALID_OPTIONS, keeping the cause, when the module is missing or has no Registry', async () => {
    const missing = new Error('Cannot find module');
    expect(await rejected(loadPromClient(undefined, () => Promise.reject(missing)))).toEqual({ code: 'INVALID_OPTIONS', field: 'client', cause: missing });
    const empty = await rejected(loadPromClient(undefined, () => Promise.resolve({ default: {} })));
    expect(empty).toMatchObject({ code: 'INVALID_OPTIONS', field: 'client' });
    expect(empty.cause).toBeInstanceOf(Error);
    expect(await rejected(loadPromClient(undefined, () => Promise.resolve({})))).toMatchObject({ code: 'INVALID_OPTIONS', field: 'client' });
  });
});

describe('scrapeMetricFactories', () => {
  type Config = { name: string; help: string; labelNames: string[]; registers: unknown[]; collect(this: unknown): void };
  /** A metric that records its configuration and every call `collect` makes on it. */
  class Metric {
    readonly calls: unknown[][] = [];
    constructor(readonly config: Config) {}
    reset(): void {
      this.calls.push(['reset']);
    }
    set(labels: Record<string, string>, value: number): void {
      this.calls.push(['set', labels, value]);
    }
    inc(labels: Record<string, string>, value: number): void {
      this.calls.push(['inc', labels, value]);
    }
    scrape(): void {
      this.config.collect.call(this);
    }
  }
  const registers = [{ id: 'r' }];
  // Two sources, each writing its fill's value under its own node label.
  const each = (set: { set(l: Record<string, string>, v: number): void }, fill: number): void => {
    set.set({ node: 'a' }, fill);
    set.set({ node: 'b' }, fill * 2);
  };
  const make = () => scrapeMetricFactories({ Gauge: Metric, Counter: Metric }, registers, 'epara_', each);

  it('names a metric under the prefix, with the node label first and the given registers', () => {
    const g = make().gauge('queue_depth', 'requests waiting', ['service'], 3) as Metric;
    expect(g.config).toMatchObject({ name: 'epara_queue_depth', help: 'requests waiting', labelNames: ['node', 'service'] });
    expect(g.config.registers).toBe(registers);
  });

  it('a gauge is reset, then set from every source, at each scrape', () => {
    const g = make().gauge('g', 'h', [], 3) as Metric;
    expect(g.calls).toEqual([]);
    g.scrape();
    expect(g.calls).toEqual([['reset'], ['set', { node: 'a' }, 3], ['set', { node: 'b' }, 6]]);
  });

  it('a mirror is a counter reset, then raised to each source total, at each scrape', () => {
    const m = make().mirror('total', 'h', ['code'], 5) as Metric;
    expect(m.config.labelNames).toEqual(['node', 'code']);
    m.scrape();
    m.scrape();
    const once = [['reset'], ['inc', { node: 'a' }, 5], ['inc', { node: 'b' }, 10]];
    expect(m.calls).toEqual([...once, ...once]);
  });
});

describe('attachShared', () => {
  /** Defines two metrics on the registry the way prom-client constructors do. */
  const definer = (registry: FakeRegistry, names: string[]) =>
    vi.fn((sources: ReadonlyMap<string, number>) => {
      registry.names.push(...names);
      return { names, sources };
    });

  it('defines the metrics once per registry, kind and prefix, and shares them among sources', () => {
    const registry = new FakeRegistry();
    const define = definer(registry, ['x_a', 'x_b']);
    const one = attachShared(registry, { kind: 'executor', prefix: 'x_' }, 'n1', 1, define);
    const two = attachShared(registry, { kind: 'executor', prefix: 'x_' }, 'n2', 2, define);
    expect(define).toHaveBeenCalledTimes(1);
    expect(two.metrics).toBe(one.metrics);
    expect([...one.sources]).toEqual([['n1', 1], ['n2', 2]]);
    // What define saw is the live map of sources.
    expect(define.mock.calls[0]![0]).toBe(one.sources);
  });

  it('keeps kinds and prefixes apart, even when their concatenations agree', () => {
    const registry = new FakeRegistry();
    const define = definer(registry, []);
    attachShared(registry, { kind: 'a', prefix: 'bc' }, 'n', 1, define);
    attachShared(registry, { kind: 'ab', prefix: 'c' }, 'n', 1, define);
    attachShared(registry, { kind: 'a', prefix: 'c' }, 'n', 1, define);
    expect(define).toHaveBeenCalledTimes(3);
    // Another registry has its own metrics.
    attachShared(new FakeRegistry(), { kind: 'a', prefix: 'bc' }, 'n', 1, define);
    expect(define).toHaveBeenCalledTimes(4);
  });

  it('refuses a node label already attached with INVALID_OPTIONS on `node`', () => {
    const registry = new FakeRegistry();
    const define = definer(registry, ['m']);
    attachShared(registry, { kind: 'k', prefix: 'p' }, 'n1', 1, define);
    expect(thrown(() => attachShared(registry, { kind: 'k', prefix: 'p' }, 'n1', 2, define))).toMatchObject({ code: 'INVALID_OPTIONS', field: 'node' });
  });

  it('removes only the metrics it defined, when the last source detaches, and defines them anew after', () => {
    const registry = new FakeRegistry();
    registry.names.push('someone_else');
    const define = definer(registry, ['x_a', 'x_b']);
    const one = attachShared(registry, { kind: 'k', prefix: 'x_' }, 'n1', 1, define);
    const two = attachShared(registry, { kind: 'k', prefix: 'x_' }, 'n2', 2, define);
    one.detach('n1');
    expect(registry.removed).toEqual([]);
    expect([...two.sources.keys()]).toEqual(['n2']);
    one.detach('n1'); // a second detach of the same source changes nothing
    expect(registry.removed).toEqual([]);
    two.detach('n2');
    expect(registry.removed).toEqual(['x_a', 'x_b']);
    expect(registry.names).toEqual(['someone_else']);
    two.detach('n2');
    expect(registry.removed).toEqual(['x_a', 'x_b']);
    attachShared(registry, { kind: 'k', prefix: 'x_' }, 'n1', 1, define);
    expect(define).toHaveBeenCalledTimes(2);
  });
});

describe('RecentUtilization', () => {
  it('falls back to the since-start figure on the first scrape and when time has not moved', () => {
    const u = new RecentUtilization(1000);
    expect(u.sample('d', 100, 50, 0.42)).toBe(0.42);
    expect(u.sample('d', 100, 60, 0.43)).toBe(0.43);
    expect(u.sample('d', 90, 60, 0.44)).toBe(0.44);
  });

  it('is the busy change over the time change since the newest sample at or before the window start', () => {
    const u = new RecentUtilization(1000);
    u.sample('d', 0, 0, 0);
    expect(u.sample('d', 500, 250, 0)).toBe(0.5);
    // Window start 500: the sample at 500 is the newest one at or before it.
    expect(u.sample('d', 1500, 350, 0)).toBeCloseTo(0.1, 12);
    // Window start 1100: still the sample at 500 (the one at 1500 is inside the window).
    expect(u.sample('d', 2100, 950, 0)).toBeCloseTo(700 / 1600, 12);
  });

  it('keeps each device apart and clamps to [0, 1]', () => {
    const u = new RecentUtilization(1000);
    u.sample('a', 0, 0, 0);
    u.sample('b', 0, 100, 0);
    expect(u.sample('a', 100, 300, 0)).toBe(1);
    expect(u.sample('b', 100, 50, 0)).toBe(0);
    expect(u.sample('b', 200, 100, 0)).toBe(0);
  });

  it('matches the rule on any increasing series (property)', () => {
    const step = fc.record({ dt: fc.integer({ min: 1, max: 800 }), busy: fc.integer({ min: 0, max: 800 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.array(step, { minLength: 1, maxLength: 30 }), (windowMs, steps) => {
        const u = new RecentUtilization(windowMs);
        const seen: { t: number; busyMs: number }[] = [];
        let t = 0;
        let busyMs = 0;
        for (const s of steps) {
          t += s.dt;
          busyMs += Math.min(s.busy, s.dt);
          // The rule: from the newest earlier sample at or before t - window (else the oldest one kept).
          const atStart = seen.filter((x) => x.t <= t - windowMs).at(-1) ?? seen[0];
          const expected = atStart === undefined ? -1 : Math.min(1, Math.max(0, (busyMs - atStart.busyMs) / (t - atStart.t)));
          expect(u.sample('d', t, busyMs, -1)).toBeCloseTo(expected, 12);
          seen.push({ t, busyMs });
        }
      }),
    );
  });
});
