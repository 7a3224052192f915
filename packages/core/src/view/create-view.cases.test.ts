import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { admitStream } from '../routing/admit-stream.js';
import { routeRequest } from '../routing/route-request.js';
import type { ServerEntry } from './server-entry.js';
import { createView } from './merge-view.js';
import { entriesOf } from './entry-list.js';

function entry(serverId: string): ServerEntry {
  return { serverId, epoch: 0, version: 1, updatedAt: 0, alive: true, instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
}
/** The field an `INVALID_OPTIONS` error names, or what was thrown / returned otherwise. */
function refusedField(run: () => unknown): unknown {
  try {
    return run();
  } catch (err) {
    return isEparaError(err) && err.code === 'INVALID_OPTIONS' ? err.details['field'] : err;
  }
}

describe('createView', () => {
  it('reads its entries in the record’s own order when an id starts with a digit at either end of the range', () => {
    // Integer-like keys enumerate first: '0…' and '9…' ids must not be read in the list's order.
    for (const id of ['0', '9']) {
      const view = createView([entry('b'), entry(id)]);
      expect(entriesOf(view).map((e) => e.serverId)).toEqual([id, 'b']);
    }
  });

  it('refuses entries that are not an array, and an entry whose server id is not a string', () => {
    expect(refusedField(() => createView(5 as never))).toBe('entries');
    expect(refusedField(() => createView([{ ...entry('a'), serverId: 5 as never }]))).toBe('entries[0].serverId');
  });
});

describe('admitStream: the stream request checked field by field', () => {
  const ask = (stream: unknown) => refusedField(() => admitStream({ stream: stream as never, localInstances: [], view: createView([]), self: 'me', now: 0 }));

  it('names the field of each bad value', () => {
    expect(ask(5)).toBe('stream');
    expect(ask({ serviceId: 5, rateHz: 10 })).toBe('stream.serviceId');
    expect(ask({ serviceId: 'v', rateHz: 10, stalenessMs: '5' })).toBe('stream.stalenessMs');
    expect(ask({ serviceId: 'v', rateHz: 10, hops: -1 })).toBe('stream.hops');
    // The edges accepted: no instance anywhere, so a rejection, not an error.
    expect(ask({ serviceId: 'v', rateHz: 10, stalenessMs: 1, hops: 0 })).toMatchObject({ action: 'reject' });
  });
});

describe('routeRequest: the request checked field by field', () => {
  const ask = (request: unknown) =>
    refusedField(() => routeRequest({ request: request as never, local: undefined, view: createView([]), self: 'me', now: 0 }));

  it('names the field of each bad value', () => {
    expect(ask(5)).toBe('request');
    expect(ask({ serviceId: 5, deadline: 10 })).toBe('request.serviceId');
    expect(ask({ serviceId: 'v', deadline: '10' })).toBe('request.deadline');
    expect(ask({ serviceId: 'v', deadline: 10 })).toMatchObject({ action: 'reject' });
  });
});
