import { describe, expect, it } from 'vitest';
import { isEparaError } from '../errors/epara-error.js';
import { gpuBatchPlan, placementService } from '../testing/placement-fixture.js';
import type { PlacementInput } from './types.js';
import { validatePlacementInput } from './validate-input.js';

// A missing element of a list (`null` where a server, a device or a service is expected) is refused naming its id
// field, as a bad id is — not a TypeError from reading it.
describe('validatePlacementInput: null list elements', () => {
  const service = placementService('a', { memory: { weightsBytes: 400, perItemBytes: 10 }, loadTimeMs: 1000 });
  const base: PlacementInput = {
    servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 1000 }] }],
    services: [service],
    plans: { a: [gpuBatchPlan('a')] },
    demand: [{ serviceId: 'a', ratePerServer: { s0: 10 } }],
  };
  const field = (input: unknown): unknown => {
    try {
      validatePlacementInput(input as PlacementInput);
      return 'accepted';
    } catch (err) {
      return isEparaError(err) && err.code === 'INVALID_OPTIONS' ? err.details['field'] : err;
    }
  };

  it('names the id of a null server, device or service', () => {
    expect(field(base)).toBe('accepted');
    expect(field({ ...base, servers: [null] })).toBe('servers[0].id');
    expect(field({ ...base, servers: [{ id: 's0', devices: [null] }] })).toBe('servers[0].devices[0].id');
    expect(field({ ...base, services: [null] })).toBe('services[0].id');
  });
});
