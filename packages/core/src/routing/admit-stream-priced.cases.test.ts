import { describe, expect, it } from 'vitest';
import { createView } from '../view/merge-view.js';
import type { InstanceInfo, ServerEntry } from '../view/server-entry.js';
import { admitStream, type AdmitStreamInput } from './admit-stream.js';

const inst = (instanceId: string, capacityPerSec: number, loadPerSec: number, extra: Partial<InstanceInfo> = {}): InstanceInfo => ({
  instanceId,
  serviceId: 'video',
  status: 'ready',
  requestStrategy: 'multi-frame',
  serviceStrategy: 'single',
  batchSize: 4,
  capacityPerSec,
  loadPerSec,
  waitMs: 0,
  runMs: 40,
  ...extra,
});
const server = (serverId: string, instances: InstanceInfo[]): ServerEntry => ({
  serverId,
  epoch: 1,
  version: 1,
  updatedAt: 0,
  alive: true,
  instances,
  load: 0.5,
  freeMemoryBytes: 0,
  arrivalRates: {},
});
// Image batches of 4 at 50 items/s take 80 ms; at 40 items/s in (ρ 0.8) a frame waits 0.8 × 80 / 2 = 32 ms behind one.
const images = (id: string, loadPerSec: number, extra: Partial<InstanceInfo> = {}): InstanceInfo =>
  inst(id, 50, loadPerSec, { serviceId: 'image', requestStrategy: 'batching', ...extra });
// One quiet peer 10 ms away: a frame's round trip there costs 20 ms and waits behind nothing.
const quiet = createView([server('quiet', [inst('q1', 100, 0)])]);
const net = { delayMs: { quiet: 10 } };
const stream = { serviceId: 'video', rateHz: 10 };
const priced = (localInstances: InstanceInfo[], extra: Partial<AdmitStreamInput> = {}) =>
  admitStream({ stream, localInstances, view: quiet, self: 'me', now: 0, network: net, priceWaitBehind: true, ...extra });

describe('admitStream priced at the wait behind: what the wait here counts', () => {
  it('counts only the other services: a busy instance of the stream’s own service adds no wait', () => {
    // The second video instance is nearly full (ρ 0.9, batches of 16: 72 ms); the stream is pinned to `v`, whose own
    // batches it joins, so nothing here is other work and the stream stays.
    const own = [inst('v', 100, 0), inst('v2', 100, 90, { batchSize: 16 })];
    expect(priced(own)).toMatchObject({ action: 'local', instanceId: 'v' });
    // The same load as another service's (32 ms > 20 ms) sends it to the quiet peer.
    expect(priced([inst('v', 100, 0), images('i', 40)])).toMatchObject({ action: 'forward', serverId: 'quiet' });
  });

  it('counts only ready instances: an image model still loading or draining adds no wait', () => {
    expect(priced([inst('v', 100, 0), images('i', 40, { status: 'loading' })])).toMatchObject({ action: 'local', instanceId: 'v' });
    expect(priced([inst('v', 100, 0), images('i', 40, { status: 'draining' })])).toMatchObject({ action: 'local', instanceId: 'v' });
  });

  it('an instance reporting no capacity adds nothing (not an endless wait)', () => {
    expect(priced([inst('v', 100, 0), images('i', 5, { capacityPerSec: 0 })])).toMatchObject({ action: 'local', instanceId: 'v' });
  });
});

describe('admitStream priced at the wait behind: limits', () => {
  it('with a hop limit of 0 the stream is never forwarded, however long the wait here', () => {
    const busy = [inst('v', 100, 0), images('i', 40)];
    expect(priced(busy)).toMatchObject({ action: 'forward', serverId: 'quiet' });
    expect(priced(busy, { options: { hopLimit: 0 } })).toEqual({ action: 'local', instanceId: 'v', spareRatePerSec: 100 });
  });

  it('a forward from a server with room lists at most maxCandidates peers', () => {
    const view = createView(['p1', 'p2', 'p3'].map((id) => server(id, [inst(`${id}-v`, 100, 0)])));
    const d = priced([inst('v', 100, 0), images('i', 40)], { view, network: { delayMs: { p1: 1, p2: 2, p3: 3 } }, options: { maxCandidates: 2 } });
    expect(d).toMatchObject({ action: 'forward', serverId: 'p1' });
    if (d.action === 'forward') expect(d.candidates.map((c) => c.serverId)).toEqual(['p1', 'p2']);
  });

  it('refuses an egress limit that is not a number, as a string or null', () => {
    for (const bad of ['100000', null]) {
      expect(() => admitStream({ stream, localInstances: [], view: quiet, self: 'me', now: 0, egressSpareBytesPerSec: bad as unknown as number })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'egressSpareBytesPerSec' }) }),
      );
    }
  });
});

describe('admitStream: a refusal’s reason names what refused it', () => {
  const reasonOf = (input: Partial<AdmitStreamInput> & Pick<AdmitStreamInput, 'stream'>): string => {
    const d = admitStream({ localInstances: [], view: quiet, self: 'me', now: 0, network: net, ...input });
    if (d.action !== 'reject') throw new Error(`expected a refusal, got ${d.action}`);
    return d.reason;
  };

  it('the hops taken and the limit', () => {
    expect(reasonOf({ stream: { ...stream, hops: 2, visited: ['a', 'b'] } })).toBe('no local room; 2 hops taken, limit 2');
  });

  it('the service nobody serves', () => {
    expect(reasonOf({ stream: { serviceId: 'audio', rateHz: 5 } })).toBe('no ready instance of audio here or in the view');
  });

  it('the staleness no peer with room meets', () => {
    // 20 ms round trip + 40 ms run > 50 ms less the guard.
    expect(reasonOf({ stream: { ...stream, stalenessMs: 50 } })).toBe('instances with room are too far for staleness 50 ms');
  });

  it('the bytes/s the link would need: frames × rate', () => {
    expect(reasonOf({ stream: { ...stream, frameBytes: 3000 }, egressSpareBytesPerSec: 100 })).toContain('no 30000 bytes/s spare');
  });

  it('the rate no instance has spare', () => {
    expect(reasonOf({ stream: { serviceId: 'video', rateHz: 500 } })).toBe('no instance of video has 500/s spare');
  });
});

describe('admitStream: ties and malformed rates', () => {
  it('of local instances with equal spare rate, the first listed takes the stream', () => {
    const d = admitStream({ stream, localInstances: [inst('a', 100, 20), inst('b', 100, 20)], view: quiet, self: 'me', now: 0 });
    expect(d).toEqual({ action: 'local', instanceId: 'a', spareRatePerSec: 80 });
  });

  it('of one peer’s instances at equal cost and spare rate, the first it lists is named', () => {
    const view = createView([server('p', [inst('p1', 100, 0), inst('p2', 100, 0)])]);
    const d = admitStream({ stream, localInstances: [], view, self: 'me', now: 0, network: { delayMs: { p: 1 } } });
    expect(d).toMatchObject({ action: 'forward', serverId: 'p', instanceId: 'p1' });
    if (d.action === 'forward') expect(d.candidates.map((c) => c.instanceId)).toEqual(['p1', 'p2']);
  });

  it('a rate that is not a number is refused with INVALID_OPTIONS, even one that cannot be compared (a symbol)', () => {
    for (const rateHz of [Symbol('rate'), '10', 10n]) {
      expect(() => admitStream({ stream: { serviceId: 'video', rateHz: rateHz as unknown as number }, localInstances: [], view: quiet, self: 'me', now: 0 })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'stream.rateHz' }) }),
      );
    }
  });
});
