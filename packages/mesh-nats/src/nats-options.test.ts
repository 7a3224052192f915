import { describe, expect, it } from 'vitest';
import { createFakeExecutor } from '@epara/mesh/testing';
import { connectNats, mapConnectError } from './nats-connect.js';
import { serviceSubject } from './nats-offload-server.js';
import { NATS_OFFLOADER_DEFAULTS, resolveNatsOffloaderOptions } from './nats-offload-options.js';
import { NATS_TRANSPORT_DEFAULTS, resolveNatsTransportOptions } from './nats-transport-options.js';
import { viewKeyOf } from './nats-view-sync.js';
import { resolveNatsViewSyncOptions } from './nats-view-sync-options.js';

// Only `publish` is looked at by the resolvers; no broker is involved in these tests.
const nc = { publish: () => undefined } as never;
const field = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string; details?: { field?: string } }).code === 'INVALID_OPTIONS' ? (err as { details: { field: string } }).details.field : err;
  }
  return 'no error';
};
const readSelf = () => ({ instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} });

describe('NATS option resolvers', () => {
  it('transport: fills defaults and names the bad field', () => {
    const o = resolveNatsTransportOptions({ servers: 'nats://127.0.0.1:4222', name: 'edge-1' });
    expect(o).toMatchObject({ ...NATS_TRANSPORT_DEFAULTS, name: 'edge-1', servers: ['nats://127.0.0.1:4222'] });
    expect(resolveNatsTransportOptions({ connection: nc }).name).toMatch(/^[a-z0-9]+$/);
    expect(field(() => resolveNatsTransportOptions({ connection: nc, servers: 'x' }))).toBe('servers');
    expect(field(() => resolveNatsTransportOptions({ servers: 'x', subjectPrefix: 'a..b' }))).toBe('subjectPrefix');
    expect(field(() => resolveNatsTransportOptions({ servers: 'x', maxFrameBytes: 0 }))).toBe('maxFrameBytes');
    expect(field(() => resolveNatsTransportOptions({ servers: 'x', name: 'has space' }))).toBe('name');
  });

  it('view sync: period, dead-after and ttl must nest; epoch defaults to the clock', () => {
    const o = resolveNatsViewSyncOptions({ connection: nc, selfId: 'a', readSelf, clock: { now: () => 1234.5 } });
    expect(o).toMatchObject({ epoch: 1234, periodMs: 500, deadAfterMs: 2000, ttlMs: 60_000, bucket: 'epara-view', replicas: 1 });
    expect(field(() => resolveNatsViewSyncOptions({ connection: nc, selfId: 'a', readSelf, periodMs: 100, deadAfterMs: 100 }))).toBe('deadAfterMs');
    expect(field(() => resolveNatsViewSyncOptions({ connection: nc, selfId: 'a', readSelf, deadAfterMs: 5000, ttlMs: 5000 }))).toBe('ttlMs');
    expect(field(() => resolveNatsViewSyncOptions({ connection: nc, selfId: 'a', readSelf, bucket: 'a.b' }))).toBe('bucket');
    expect(field(() => resolveNatsViewSyncOptions({ connection: nc, selfId: '', readSelf }))).toBe('selfId');
    expect(field(() => resolveNatsViewSyncOptions({ connection: nc, selfId: 'a', readSelf, replicas: 2 }))).toBe('replicas');
  });

  it('offloader: defaults, executor and timing checks', () => {
    const executor = createFakeExecutor({ services: { s: { serviceTimeMs: 1 } } });
    expect(resolveNatsOffloaderOptions({ connection: nc, selfId: 'a', executor })).toMatchObject(NATS_OFFLOADER_DEFAULTS);
    expect(field(() => resolveNatsOffloaderOptions({ connection: nc, selfId: 'a', executor: {} as never }))).toBe('executor');
    expect(field(() => resolveNatsOffloaderOptions({ connection: nc, selfId: 'a', executor, hopLimit: 0 }))).toBe('hopLimit');
    expect(field(() => resolveNatsOffloaderOptions({ connection: nc, selfId: 'a', executor, progressIntervalMs: 500, deadAfterMs: 500 }))).toBe('deadAfterMs');
    expect(field(() => resolveNatsOffloaderOptions({ connection: nc, selfId: 'a', executor, acceptTimeoutMs: 100 }))).toBe('acceptTimeoutMs');
  });
});

describe('NATS names', () => {
  it('keeps subject-safe ids readable and hex-encodes the rest, without collisions', () => {
    expect(viewKeyOf('edge-1')).toBe('srv.edge-1');
    expect(viewKeyOf('a.b')).toBe(`srv.=${Buffer.from('a.b').toString('hex')}`);
    expect(viewKeyOf('a b')).not.toBe(viewKeyOf('a.b'));
    expect(viewKeyOf(Buffer.from('a.b').toString('hex'))).not.toBe(viewKeyOf('a.b'));
    expect(serviceSubject('epara', 'ocr_det')).toBe('epara.svc.ocr_det');
    expect(serviceSubject('epara', 'ocr/det v2')).toMatch(/^epara\.svc\.=[0-9a-f]+$/);
  });

  it('validates the reconnect options before connecting, naming the field', async () => {
    for (const [name, value] of [['maxReconnectAttempts', -2], ['maxReconnectAttempts', 1.5], ['reconnectWaitMs', 0]] as const) {
      await expect(connectNats({ servers: 'nats://127.0.0.1:1', [name]: value })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', details: { field: name } });
    }
  });

  it('maps broker failures to typed codes', () => {
    expect(mapConnectError(Object.assign(new Error("'Authorization Violation'"), { name: 'AuthorizationError' }), ['x']).code).toBe('UNAUTHENTICATED');
    expect(mapConnectError(new Error('connect ECONNREFUSED 127.0.0.1:1'), ['x']).code).toBe('PEER_UNAVAILABLE');
  });
});
