import { describe, expect, it } from 'vitest';
import { planChanges, type ChangeItem } from './change-plan.js';
import { PLACEMENT_TOLERANCE } from './duty-cycle.js';
import { buildPlacementModel } from './model.js';
import { resolvePlacementOptions } from './options.js';
import type { PlacementInput } from './types.js';

const GB = 1024 ** 3;

/**
 * One server `s0` with two 16 GB devices (`g0` = index 0, `g1` = index 1) and no memory reserve: a device holds
 * 16 GB exactly, so the memory sums below are the whole rule.
 */
const input: PlacementInput = {
  servers: [{ id: 's0', devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }, { id: 'g1', kind: 'gpu', memoryBytes: 16 * GB }] }],
  services: [],
  plans: {},
  demand: [],
};
const model = buildPlacementModel(input, resolvePlacementOptions({ reserveFraction: 0 }));

const item = (instanceId: string, serviceId: string, device: 0 | 1, memGb: number, exclusive = false): ChangeItem => ({
  instanceId,
  serviceId,
  serverId: 's0',
  deviceIds: [`g${device}`],
  devices: [device],
  memBytes: memGb * GB,
  exclusive,
});

const none = { kept: [], added: [], removed: [], lost: [] };
/** Each step as `action id (reason)`, with `!` when it leaves its service without a ready instance. */
const steps = (diff: Partial<Parameters<typeof planChanges>[1]>): string[] =>
  planChanges(model, { ...none, ...diff }).map((s) => `${s.action} ${s.instanceId} (${s.reason})${s.leavesServiceWithoutReady ? ' !' : ''}`);

describe('planChanges: making room', () => {
  it('frees exactly as many replaced instances as the new one needs, and retires the rest at the end', () => {
    // g0 holds kept k (6 GB) and replaced r1, r2 (3 GB each): 12 GB. The new n (8 GB) needs both gone
    // (6 + 3 + 8 = 17 > 16, 6 + 8 = 14). Neither replaced service is still placed: no gap.
    expect(
      steps({ kept: [item('k', 'a', 0, 6)], removed: [item('r1', 'b', 0, 3), item('r2', 'c', 0, 3)], added: [item('n', 'd', 0, 8)] }),
    ).toEqual([
      'drain r1 (makes room for n)',
      'free r1 (makes room for n)',
      'drain r2 (makes room for n)',
      'free r2 (makes room for n)',
      'load n (new instance (after making room))',
      'ready n (loaded)',
    ]);
  });

  it('stops freeing once the new instance fits: the remaining replaced instance goes after it is ready', () => {
    // 6 + 3 + 3 + 5 = 17 > 16; without r1: 14. r2 stays until n is ready.
    expect(
      steps({ kept: [item('k', 'a', 0, 6)], removed: [item('r1', 'b', 0, 3), item('r2', 'c', 0, 3)], added: [item('n', 'd', 0, 5)] }),
    ).toEqual([
      'drain r1 (makes room for n)',
      'free r1 (makes room for n)',
      'load n (new instance (after making room))',
      'ready n (loaded)',
      'drain r2 (no longer needed)',
      'free r2 (no longer needed)',
    ]);
  });

  it('frees first the victim whose service keeps more ready instances, whatever the input order', () => {
    // Service x has a second instance on g1 (two ready), y only this one. Freeing either makes room for n
    // (4 + 4 + 10 = 18 > 16; 4 + 10 = 14): x's goes, y keeps serving until the end.
    const removed = [item('ry', 'y', 0, 4), item('rx', 'x', 0, 4)];
    const kept = [item('x2', 'x', 1, 4)];
    expect(steps({ kept, removed, added: [item('n', 'z', 0, 10)] })).toEqual([
      'drain rx (makes room for n)',
      'free rx (makes room for n)',
      'load n (new instance (after making room))',
      'ready n (loaded)',
      'drain ry (no longer needed)',
      'free ry (no longer needed)',
    ]);
    expect(steps({ kept, removed: [...removed].reverse(), added: [item('n', 'z', 0, 10)] })[0]).toBe('drain rx (makes room for n)');
  });

  it('counts a loaded new instance as ready: replacing the last old one then leaves no gap', () => {
    // a's new instance loads on g1 beside nothing; its old one on g0 is freed last, a still has one ready.
    expect(steps({ removed: [item('old', 'a', 0, 10)], added: [item('new', 'a', 1, 10)] })).toEqual([
      'load new (new instance)',
      'ready new (loaded)',
      'drain old (replaced)',
      'free old (replaced)',
    ]);
  });

  it('flags the step that frees the only ready instance of a service that stays placed', () => {
    // a's replacement needs the memory its old instance holds on g0: a has no ready instance between the two.
    expect(steps({ removed: [item('old', 'a', 0, 10)], added: [item('new', 'a', 0, 10)] })).toEqual([
      'drain old (makes room for new) !',
      'free old (makes room for new) !',
      'load new (new instance (after making room))',
      'ready new (loaded)',
    ]);
  });

  it('does not flag the gap when another instance of the service is still ready', () => {
    expect(
      steps({ kept: [item('keep', 'a', 1, 10)], removed: [item('old', 'a', 0, 10)], added: [item('new', 'a', 0, 10)] }),
    ).toEqual([
      'drain old (makes room for new)',
      'free old (makes room for new)',
      'load new (new instance (after making room))',
      'ready new (loaded)',
    ]);
  });

  it('never shares a device with an exclusive instance, whatever the memory', () => {
    // 1 + 1 GB fit easily, but the running instance is exclusive (a group member), then the new one is.
    expect(steps({ removed: [item('old', 'a', 0, 1, true)], added: [item('new', 'b', 0, 1)] })[0]).toBe('drain old (makes room for new)');
    expect(steps({ removed: [item('old', 'a', 0, 1)], added: [item('new', 'b', 0, 1, true)] })[0]).toBe('drain old (makes room for new)');
    expect(steps({ removed: [item('old', 'a', 0, 1)], added: [item('new', 'b', 0, 1)] })[0]).toBe('load new (new instance)');
  });

  it('fits exactly at the device memory, not a byte more', () => {
    expect(steps({ removed: [item('old', 'a', 0, 6)], added: [item('new', 'b', 0, 10)] })[0]).toBe('load new (new instance)');
    const over = { ...item('new', 'b', 0, 10), memBytes: 10 * GB + 1024 };
    expect(planChanges(model, { ...none, removed: [item('old', 'a', 0, 6)], added: [over] })[0]!.action).toBe('drain');
  });

  it('makes room only with replaced instances on the new one\'s devices: one elsewhere goes at the end', () => {
    // r1 on g1 cannot make room on g0 however many go; r0 there can (4 + 14 = 18 > 16; 14 alone fits).
    expect(steps({ removed: [item('r1', 'b', 1, 4), item('r0', 'c', 0, 4)], added: [item('n', 'd', 0, 14)] })).toEqual([
      'drain r0 (makes room for n)',
      'free r0 (makes room for n)',
      'load n (new instance (after making room))',
      'ready n (loaded)',
      'drain r1 (no longer needed)',
      'free r1 (no longer needed)',
    ]);
  });

  it('frees for room a replaced instance that shares any one of its devices with the new one', () => {
    // r spans both devices; the new n needs g0 alone, where r holds 8 of 16 GB (8 + 12 = 20).
    const r: ChangeItem = { ...item('r', 'b', 0, 8), deviceIds: ['g0', 'g1'], devices: [0, 1] };
    expect(steps({ removed: [r], added: [item('n', 'd', 0, 12)] }).slice(0, 3)).toEqual([
      'drain r (makes room for n)',
      'free r (makes room for n)',
      'load n (new instance (after making room))',
    ]);
  });

  it('loads an exclusive new instance on an empty device without making room', () => {
    expect(steps({ removed: [item('old', 'a', 0, 1)], added: [item('new', 'b', 1, 1, true)] })).toEqual([
      'load new (new instance)',
      'ready new (loaded)',
      'drain old (no longer needed)',
      'free old (no longer needed)',
    ]);
  });

  it('fits up to the memory tolerance inclusive', () => {
    // The rule: what a device holds ≤ its usable memory × (1 + PLACEMENT_TOLERANCE); exactly that still fits.
    const full = { ...item('new', 'b', 0, 0), memBytes: model.devices[0]!.usableBytes * (1 + PLACEMENT_TOLERANCE) };
    expect(steps({ removed: [item('old', 'a', 1, 1)], added: [full] })[0]).toBe('load new (new instance)');
  });

  it('frees lost instances first, naming a failed device or a failed server', () => {
    const down = buildPlacementModel(
      { ...input, servers: [...input.servers, { id: 's1', healthy: false, devices: [{ id: 'g0', kind: 'gpu', memoryBytes: 16 * GB }] }] },
      resolvePlacementOptions({ reserveFraction: 0 }),
    );
    const onS1: ChangeItem = { ...item('dead', 'a', 0, 1), serverId: 's1', devices: [2] };
    const gone: ChangeItem = { ...item('unknown', 'a', 0, 1), serverId: 'sX', devices: [] };
    const plan = planChanges(down, { ...none, lost: [item('g0-lost', 'a', 0, 1), onS1, gone] });
    expect(plan.map((s) => `${s.action} ${s.instanceId} (${s.reason})`)).toEqual([
      'free g0-lost (device failed)',
      'free dead (server failed)',
      'free unknown (server failed)',
    ]);
  });
});
