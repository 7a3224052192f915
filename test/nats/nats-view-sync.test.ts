import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeViewEntries } from '@epara/mesh/wire';
import { connectNats, createNatsViewSync, viewKeyOf } from '@epara/mesh-nats';
import type { NatsViewSync } from '@epara/mesh-nats';
import { skipNats, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';
import { createManualClock, createSystemTimers } from '@epara/core';
import type { Clock, Timers } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';

const skip = skipNats();
type NatsConnection = Awaited<ReturnType<typeof connectNats>>;

/** Resolves once `check()` holds, re-checking on every view update of `sync`. */
function until(sync: NatsViewSync, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (check()) return resolve();
    const on = (): void => {
      if (!check()) return;
      sync.off('viewUpdated', on);
      resolve();
    };
    sync.on('viewUpdated', on);
  });
}

const aliveIds = (s: NatsViewSync): string[] => Object.values(s.view().entries).filter((e) => e.alive).map((e) => e.serverId).sort();

describe.skipIf(skip)('NATS KV view sync', () => {
  let server: TestNatsServer;
  const conns: NatsConnection[] = [];
  const syncs: NatsViewSync[] = [];
  beforeAll(async () => {
    server = await useNatsServer();
  });
  afterEach(async () => {
    await Promise.all(syncs.splice(0).map((s) => s.stop({ leave: false })));
    await Promise.all(conns.splice(0).map((c) => (c.isClosed() ? undefined : c.close())));
  });
  afterAll(() => server?.stop());

  const make = async (
    bucket: string,
    selfId: string,
    extra: { epoch?: number; load?: () => number; onError?: (e: { code: string; details?: unknown }) => void; address?: string; ttlMs?: number; timers?: Timers; clock?: Clock } = {},
  ): Promise<{ sync: NatsViewSync; nc: NatsConnection }> => {
    const nc = await connectNats({ servers: server.url });
    conns.push(nc);
    const sync = createNatsViewSync({
      connection: nc,
      selfId,
      bucket,
      periodMs: 100,
      deadAfterMs: 400,
      ttlMs: extra.ttlMs ?? 5000,
      ...(extra.timers ? { timers: extra.timers } : {}),
      ...(extra.clock ? { clock: extra.clock } : {}),
      ...(extra.epoch !== undefined ? { epoch: extra.epoch } : {}),
      ...(extra.onError ? { onError: extra.onError } : {}),
      readSelf: () => ({ instances: [], load: extra.load?.() ?? 0, freeMemoryBytes: 1, arrivalRates: { svc: 1 }, address: extra.address ?? `epara.peer.${selfId}` }),
    });
    syncs.push(sync);
    return { sync, nc };
  };

  it('converges on 4 servers, carries content and detects a crash by entry age', async () => {
    const bucket = uniqueName('view');
    let loadOfD = 0.25;
    const nodes = await Promise.all(['a', 'b', 'c', 'd'].map((id) => make(bucket, id, id === 'd' ? { load: () => loadOfD } : {})));
    await Promise.all(nodes.map(({ sync }) => sync.start()));
    await Promise.all(nodes.map(({ sync }) => until(sync, () => aliveIds(sync).length === 4)));
    for (const { sync } of nodes) expect(aliveIds(sync)).toEqual(['a', 'b', 'c', 'd']);
    const a = nodes[0]!.sync;
    expect(a.view().entries['b']!.address).toBe('epara.peer.b');
    loadOfD = 0.75;
    await until(a, () => a.view().entries['d']?.load === 0.75);
    const left = new Promise<{ serverId: string; reason: string }>((resolve) => a.on('peerLeft', (e) => e.serverId === 'd' && resolve(e)));
    await nodes[3]!.nc.close(); // d crashes: it stops rewriting its entry, nobody deletes it
    expect(await left).toEqual({ serverId: 'd', reason: 'expired' });
    expect(a.view().entries['d']!.alive).toBe(false);
  });

  it('after the wall clock stepped an hour back, a crashed peer still expires (entry ages are on a monotonic clock)', async () => {
    const bucket = uniqueName('view');
    const nodes = await Promise.all(['a', 'b'].map((id) => make(bucket, id)));
    await Promise.all(nodes.map(({ sync }) => sync.start()));
    const a = nodes[0]!.sync;
    await until(a, () => aliveIds(a).length === 2);
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
    try {
      const left = new Promise<{ serverId: string; reason: string }>((resolve) => a.on('peerLeft', (e) => e.serverId === 'b' && resolve(e)));
      await nodes[1]!.nc.close(); // b crashes: it stops rewriting its entry, nobody deletes it
      expect(await left).toEqual({ serverId: 'b', reason: 'expired' });
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('start tries its first write again while no stream listens on the bucket yet, and starts once one does', async () => {
    // A stream named like the bucket's but on other subjects: the bucket opens, and its first write finds no
    // responders — what a broker that takes clients before its streams are recovered answers. The stream is
    // replaced by the real bucket at the first retry's wait.
    const bucket = uniqueName('view');
    const admin = await connectNats({ servers: server.url });
    conns.push(admin);
    const api = async (what: string, body: object = {}): Promise<Record<string, unknown>> => JSON.parse(new TextDecoder().decode((await admin.request(`$JS.API.STREAM.${what}.KV_${bucket}`, JSON.stringify(body))).data)) as Record<string, unknown>;
    expect(await api('CREATE', { name: `KV_${bucket}`, subjects: [`elsewhere.${bucket}`], storage: 'memory' })).not.toHaveProperty('error');
    const waits: number[] = [];
    const system = createSystemTimers();
    const timers: Timers = {
      ...system,
      setTimeout: (fn, ms) => {
        waits.push(ms);
        if (waits.length > 1) return system.setTimeout(fn, ms);
        let handle: { cancel(): void } | undefined;
        let cancelled = false;
        void api('DELETE').then(() => (cancelled ? undefined : (handle = system.setTimeout(fn, ms))));
        return { cancel: () => ((cancelled = true), handle?.cancel()) };
      },
    };
    const { sync } = await make(bucket, 'a', { timers });
    await sync.start();
    expect(waits[0]).toBe(100);
    expect(aliveIds(sync)).toEqual(['a']);
  });

  it('a clean stop deletes the entry (peers learn at once); a restart with a new epoch rejoins', async () => {
    const bucket = uniqueName('view');
    const [x, y] = await Promise.all([make(bucket, 'x', { epoch: 1 }), make(bucket, 'y', { epoch: 1 })]);
    await Promise.all([x.sync.start(), y.sync.start()]);
    await until(x.sync, () => aliveIds(x.sync).length === 2);
    const left = new Promise<{ reason: string }>((resolve) => x.sync.once('peerLeft', resolve));
    await y.sync.stop();
    expect((await left).reason).toBe('deleted');
    const back = await make(bucket, 'y', { epoch: 2 });
    const joined = new Promise<{ serverId: string; epoch: number }>((resolve) => x.sync.once('peerJoined', resolve));
    await back.sync.start();
    expect(await joined).toEqual({ serverId: 'y', epoch: 2 });
  });

  it('a server dead for the bucket max age leaves the view (short-lived servers do not pile up); a write of its own brings it back', async () => {
    const bucket = uniqueName('view');
    // The watcher's periods run on a manual clock: the next one is armed once its write is done.
    const clock = createManualClock(0);
    const timers = createManualTimers(clock);
    let armed = false;
    let onArmed: (() => void) | undefined;
    const periodTimers: Timers = {
      setTimeout: (fn, ms) => {
        if (ms !== 100) return timers.setTimeout(fn, ms);
        armed = true;
        onArmed?.();
        return timers.setTimeout(() => ((armed = false), fn()), ms);
      },
      at: (when, fn) => timers.at(when, fn),
    };
    const period = async (): Promise<void> => {
      if (!armed) await new Promise<void>((resolve) => (onArmed = resolve));
      onArmed = undefined;
      timers.advance(100);
    };
    const w = await make(bucket, 'w', { ttlMs: 1000, timers: periodTimers, clock });
    const y = await make(bucket, 'y', { epoch: 1, ttlMs: 1000 });
    await w.sync.start();
    await y.sync.start();
    await until(w.sync, () => aliveIds(w.sync).includes('y'));
    const left = new Promise<{ reason: string }>((resolve) => w.sync.once('peerLeft', resolve));
    await y.sync.stop();
    expect((await left).reason).toBe('deleted');
    for (let k = 0; k < 9; k++) await period();
    expect(w.sync.view().entries['y']?.alive).toBe(false); // 900 ms: still within the bucket max age
    for (let k = 0; k < 3; k++) await period();
    expect(w.sync.view().entries['y']).toBeUndefined();
    const back = await make(bucket, 'y', { epoch: 2, ttlMs: 1000 });
    await back.sync.start();
    await until(w.sync, () => aliveIds(w.sync).includes('y'));
  });

  it('a server restarted with a lower epoch moves past its previous life (revision check) instead of losing writes', async () => {
    const bucket = uniqueName('view');
    const old = await make(bucket, 'z', { epoch: 50 });
    await old.sync.start();
    await old.sync.stop({ leave: false });
    const reborn = await make(bucket, 'z', { epoch: 3 }); // e.g. a clock that went backwards
    await reborn.sync.start();
    expect(reborn.sync.store.self.epoch).toBe(51);
    const watcher = await make(bucket, 'w');
    await watcher.sync.start();
    await until(watcher.sync, () => watcher.sync.view().entries['z']?.epoch === 51);
    expect(watcher.sync.view().entries['z']!.alive).toBe(true);
  });

  it('two live runs of one server id do not trade its entry: the newer run keeps it, the replaced one stops writing and says so', async () => {
    const bucket = uniqueName('view');
    const errors: { code: string; details?: unknown }[] = [];
    const old = await make(bucket, 'x', { epoch: 1000, address: 'old-run', onError: (e) => errors.push(e) });
    const watcher = await make(bucket, 'w');
    await Promise.all([old.sync.start(), watcher.sync.start()]);
    await until(watcher.sync, () => watcher.sync.view().entries['x']?.address === 'old-run');
    // The server restarted while its old process still runs (it was stopped and resumed, or cut off and back).
    const fresh = await make(bucket, 'x', { epoch: 2000, address: 'new-run' });
    const seen: string[] = [];
    watcher.sync.on('viewUpdated', () => {
      const address = watcher.sync.view().entries['x']?.address ?? '';
      if (seen.at(-1) !== address) seen.push(address);
    });
    await fresh.sync.start();
    // Both runs write every period; fifteen of the new run's rounds give the old one many chances to outbid it.
    await new Promise<void>((resolve) => {
      let rounds = 0;
      fresh.sync.on('roundCompleted', () => void (++rounds === 15 && resolve()));
    });
    await until(watcher.sync, () => watcher.sync.view().entries['x']?.address === 'new-run');
    expect(seen.slice(seen.indexOf('new-run'))).toEqual(['new-run']);
    expect(fresh.sync.store.self.epoch).toBe(2000);
    expect(errors.map((e) => [e.code, (e.details as { cause?: string } | undefined)?.cause])).toContainEqual(['CLOSED', 'REPLACED_RUN']);
  });

  it('an old run that resumes after the bucket max age has passed still finds the run key taken (the new run keeps it fresh)', async () => {
    const bucket = uniqueName('view');
    let onOldError: (e: { code: string; details?: unknown }) => void = () => undefined;
    // The old process is "stopped": its timers fire only when the test advances them.
    const oldTimers = createManualTimers(createManualClock(0));
    const old = await make(bucket, 'x', { epoch: 1000, address: 'old-run', ttlMs: 1000, timers: oldTimers, onError: (e) => onOldError(e) });
    await old.sync.start();
    const fresh = await make(bucket, 'x', { epoch: 2000, address: 'new-run', ttlMs: 1000 });
    const watcher = await make(bucket, 'w', { ttlMs: 1000 });
    await Promise.all([fresh.sync.start(), watcher.sync.start()]);
    // Thirty periods of the new run: three times the bucket max age, so a run key written once has expired.
    await new Promise<void>((resolve) => {
      let rounds = 0;
      fresh.sync.on('roundCompleted', () => void (++rounds === 30 && resolve()));
    });
    const seen: string[] = [];
    watcher.sync.on('viewUpdated', () => seen.push(watcher.sync.view().entries['x']?.address ?? ''));
    // The old process resumes for one period: its write finds the entry moved on and reads the run key. It either
    // stands down (replaced) or, finding the key gone, claims it and outbids the new run (its write lands).
    const outcome = await new Promise<string>((resolve) => {
      old.sync.on('roundCompleted', () => resolve('the old run wrote its entry'));
      onOldError = (e) => (e.details as { cause?: string } | undefined)?.cause === 'REPLACED_RUN' && resolve('replaced');
      oldTimers.advance(100);
    });
    expect(outcome).toBe('replaced');
    await new Promise<void>((resolve) => {
      let rounds = 0;
      fresh.sync.on('roundCompleted', () => void (++rounds === 5 && resolve()));
    });
    expect(seen.filter((a) => a !== 'new-run')).toEqual([]);
    expect(fresh.sync.store.self.epoch).toBe(2000);
  });

  it('ignores a malformed or impostor entry (reported to onError) and keeps syncing', async () => {
    const bucket = uniqueName('view');
    const errors: string[] = [];
    const p = await make(bucket, 'p', { onError: (e) => errors.push(e.code) });
    await p.sync.start();
    // Raw writes into the bucket's stream subject, acknowledged by JetStream (what a buggy or hostile client could do).
    await p.nc.request(`$KV.${bucket}.srv.junk`, new Uint8Array([1, 2, 3]));
    const impostor = encodeViewEntries([{ serverId: 'q', epoch: 1, version: 1, ageMs: 0, alive: true, load: 0, freeMemoryBytes: 0, instances: [], arrivalRates: {} }]);
    await p.nc.request(`$KV.${bucket}.${viewKeyOf('not-q')}`, impostor);
    const q = await make(bucket, 'q');
    await q.sync.start();
    await until(p.sync, () => aliveIds(p.sync).includes('q'));
    expect(errors).toEqual(['PROTOCOL_ERROR', 'PROTOCOL_ERROR']);
    expect(Object.keys(p.sync.view().entries).sort()).toEqual(['p', 'q']);
  });

  it('carries server ids that are not subject-safe (hex-encoded keys)', async () => {
    const bucket = uniqueName('view');
    const [odd, plain] = await Promise.all([make(bucket, 'edge.7 x'), make(bucket, 'plain')]);
    await Promise.all([odd.sync.start(), plain.sync.start()]);
    await until(plain.sync, () => aliveIds(plain.sync).includes('edge.7 x'));
    expect(aliveIds(plain.sync)).toEqual(['edge.7 x', 'plain']);
  });

  it('validates options', () => {
    expect(() => createNatsViewSync({ connection: undefined as never, selfId: 'a', readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} }) })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'connection' }) }),
    );
  });
});
