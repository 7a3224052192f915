import { describe, expect, it } from 'vitest';
import type { ClusterView, ServerEntry } from '../view/server-entry.js';
import { assertRoutingContext, entriesOf, nextHop } from './routing-common.js';

const entry = (id: string): ServerEntry => ({ serverId: id, epoch: 1, version: 1, updatedAt: 0, alive: true, load: 0, freeMemoryBytes: 0, arrivalRates: {}, instances: [] });

describe('nextHop', () => {
  it('counts one more hop and adds this server to the visited list once, leaving the input alone', () => {
    const visited = ['a'];
    expect(nextHop(0, visited, 'b')).toEqual({ hops: 1, visited: ['a', 'b'] });
    expect(visited).toEqual(['a']);
    // A server already on the list (a retry from the same server) is not listed twice.
    expect(nextHop(2, ['a', 'b'], 'b')).toEqual({ hops: 3, visited: ['a', 'b'] });
    expect(nextHop(0, [], 'a')).toEqual({ hops: 1, visited: ['a'] });
  });
});

describe('assertRoutingContext', () => {
  const view: ClusterView = { entries: {} };

  it('accepts a view, a server id and a finite time', () => {
    expect(() => assertRoutingContext(view, 'a', 0)).not.toThrow();
    expect(() => assertRoutingContext(view, 'a', -5.5)).not.toThrow();
  });

  it('rejects each bad part with INVALID_OPTIONS naming it', () => {
    const field = (f: () => void): unknown => {
      try {
        f();
      } catch (err) {
        return (err as { code: string; details: { field: string } }).code === 'INVALID_OPTIONS' ? (err as { details: { field: string } }).details.field : 'wrong code';
      }
      return 'accepted';
    };
    expect(field(() => assertRoutingContext(null as never, 'a', 0))).toBe('view');
    expect(field(() => assertRoutingContext('view' as never, 'a', 0))).toBe('view');
    expect(field(() => assertRoutingContext({} as never, 'a', 0))).toBe('view');
    expect(field(() => assertRoutingContext({ entries: null } as never, 'a', 0))).toBe('view');
    expect(field(() => assertRoutingContext({ entries: 'x' } as never, 'a', 0))).toBe('view');
    expect(field(() => assertRoutingContext(view, '', 0))).toBe('self');
    expect(field(() => assertRoutingContext(view, 7 as never, 0))).toBe('self');
    expect(field(() => assertRoutingContext(view, 'a', Number.NaN))).toBe('now');
    expect(field(() => assertRoutingContext(view, 'a', Number.POSITIVE_INFINITY))).toBe('now');
    expect(field(() => assertRoutingContext(view, 'a', '5' as never))).toBe('now');
  });
});

describe('entriesOf', () => {
  it('lists every entry, once per entries object', () => {
    const entries = { a: entry('a'), b: entry('b') };
    const list = entriesOf({ entries });
    expect(list.map((e) => e.serverId).sort()).toEqual(['a', 'b']);
    // Views are immutable values: a second view over the same entries reads the same list.
    expect(entriesOf({ entries })).toBe(list);
    const changed = { ...entries, c: entry('c') };
    expect(entriesOf({ entries: changed }).map((e) => e.serverId).sort()).toEqual(['a', 'b', 'c']);
  });
});
