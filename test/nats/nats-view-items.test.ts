import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalExecutor, NamedTensors, ServiceItems, TensorLike } from '@epara/core';
import { createFakeExecutor, createNode } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { encodeViewEntries } from '@epara/mesh/wire';
import { connectNats, createNatsTransport, createNatsViewSync, viewKeyOf } from '@epara/mesh-nats';
import type { NatsConnection, NatsViewSync } from '@epara/mesh-nats';
import { createGraphBuilder, createExecutor } from '@epara/runtime';
import type { Executor } from '@epara/runtime';
import { createGateway } from '@epara/gateway';
import type { Gateway, GatewayModel } from '@epara/gateway';
import { reference } from '../runtime-models/ground-truth.js';
import type { Reference } from '../runtime-models/ground-truth.js';
import { PSK } from '../mesh/helpers.js';
import { skipNats, startNatsServer, uniqueName, useNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

/*
 * A server's items (`ServerEntry.items`: whether a service's rows are separable, and along which axes) travel in
 * the NATS KV view as they do on the ring: an entry with no instance of a model whose dim names do not give its
 * batch axes splits a request of several rows along the axes the worker publishes.
 */

const skip = skipNats();

/** y = a + b, the rows' dims named apart (`N`, `unk__2`, `unk__3`): the names do not say they are one batch. */
const apart = ((): Uint8Array => {
  const g = createGraphBuilder({ name: 'named-apart' });
  g.input('a', 'float32', ['N', 4]);
  g.input('b', 'float32', ['unk__2', 4]);
  g.node('Add', ['a', 'b'], ['y']);
  g.output('y', 'float32', ['unk__3', 4]);
  return g.toBytes();
})();

const f32 = (dims: number[], values: number[]): TensorLike => ({ type: 'float32', dims, data: new Float32Array(values) });
const SEPARABLE: ServiceItems = { separability: 'separable', batchAxes: { inputs: { a: 0, b: null }, outputs: { y: 1 } } };

describe.skipIf(skip)('items in the NATS KV view', () => {
  let server: TestNatsServer;
  const conns: NatsConnection[] = [];
  beforeAll(async () => {
    server = await useNatsServer();
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => (c.isClosed() ? undefined : c.close())));
    await server?.stop();
  });
  const connect = async (): Promise<NatsConnection> => {
    const nc = await connectNats({ servers: server.url });
    conns.push(nc);
    return nc;
  };
  const sync = (nc: NatsConnection, bucket: string, selfId: string, items: () => ServiceItems | undefined, epoch = 1): NatsViewSync =>
    createNatsViewSync({
      connection: nc,
      selfId,
      bucket,
      epoch,
      periodMs: 100,
      deadAfterMs: 1000,
      ttlMs: 10_000,
      readSelf: () => {
        const it = items();
        return { instances: [], load: 0, freeMemoryBytes: 1, arrivalRates: {}, ...(it ? { items: { svc: it } } : {}) };
      },
    });
  const until = (s: NatsViewSync, check: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      if (check()) return resolve();
      const on = (): void => void (check() && (s.off('viewUpdated', on), resolve()));
      s.on('viewUpdated', on);
    });

  it("a peer's entry carries the items it publishes, and their changes", async () => {
    const bucket = uniqueName('items');
    let items: ServiceItems = { separability: 'unknown' };
    const a = sync(await connect(), bucket, 'a', () => items);
    const b = sync(await connect(), bucket, 'b', () => undefined);
    await a.start();
    await b.start();
    try {
      await until(b, () => b.view().entries['a']?.items?.['svc']?.separability === 'unknown');
      items = SEPARABLE;
      await a.writeNow();
      await until(b, () => b.view().entries['a']?.items?.['svc']?.separability === 'separable');
      expect(b.view().entries['a']!.items!['svc']).toEqual(SEPARABLE);
      expect(b.view().entries['b']!.items).toBeUndefined(); // b's executor says nothing
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("an entry an older build wrote (no items key) still reads; items of a server's earlier run, or malformed, are not attached", async () => {
    const bucket = uniqueName('items');
    const errors: string[] = [];
    const reader = createNatsViewSync({
      connection: await connect(),
      selfId: 'reader',
      bucket,
      periodMs: 100,
      deadAfterMs: 1000,
      ttlMs: 10_000,
      onError: (e) => errors.push(e.code),
      readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1, arrivalRates: {} }),
    });
    await reader.start();
    try {
      const nc = await connect();
      // A KV put is a JetStream publish on the key's subject; the request waits for the stream's ack.
      const kv = { put: (key: string, value: Uint8Array | string) => nc.request(`$KV.${bucket}.${key}`, value) };
      const entry = (serverId: string, epoch: number): Uint8Array =>
        encodeViewEntries([{ serverId, epoch, version: 1, ageMs: 0, alive: true, load: 0, freeMemoryBytes: 1, instances: [], arrivalRates: {} }]);
      const items = (serverId: string, epoch: number): string => JSON.stringify({ serverId, epoch, items: { svc: SEPARABLE } });
      await kv.put(viewKeyOf('old'), entry('old', 1)); // an older build: its entry, nothing else
      await kv.put('itm.restarted', items('restarted', 1)); // its first run's items…
      await kv.put(viewKeyOf('restarted'), entry('restarted', 2)); // …and the entry of its second run, which says nothing
      await kv.put('itm.forged', JSON.stringify({ serverId: 'forged', epoch: 1, items: { svc: { separability: 'separable', batchAxes: { inputs: { a: -1 }, outputs: {} } } } }));
      await kv.put(viewKeyOf('forged'), entry('forged', 1));
      await until(reader, () => ['old', 'restarted', 'forged'].every((id) => reader.view().entries[id]?.alive === true));
      for (const id of ['old', 'restarted', 'forged']) expect(reader.view().entries[id]!.items, id).toBeUndefined();
      expect(errors).toEqual(['PROTOCOL_ERROR']); // the forged axis, reported once
    } finally {
      await reader.stop();
    }
  });

  it("a server's items written over by an earlier run of it (resumed once) are written again at its next period", async () => {
    const bucket = uniqueName('items');
    const nc = await connect();
    const a = createNatsViewSync({ connection: nc, selfId: 'a', bucket, epoch: 5, periodMs: 100, deadAfterMs: 1000, ttlMs: 60_000, readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1, arrivalRates: {}, items: { svc: SEPARABLE } }) });
    await a.start();
    let reader: NatsViewSync | undefined;
    try {
      await nc.request(`$KV.${bucket}.itm.a`, JSON.stringify({ serverId: 'a', epoch: 4, items: { svc: { separability: 'unknown' } } }));
      for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => a.once('roundCompleted', () => resolve()));
      reader = sync(await connect(), bucket, 'reader', () => undefined);
      await reader.start();
      await until(reader, () => reader!.view().entries['a']?.alive === true);
      expect(reader.view().entries['a']!.items?.['svc']).toEqual(SEPARABLE);
    } finally {
      await Promise.all([a.stop(), reader?.stop()]);
    }
  });

  it('a broker that came back without its store has the items written again: a reader started after it reads them', async () => {
    const broker = await startNatsServer();
    const own: NatsConnection[] = [];
    const syncs: NatsViewSync[] = [];
    try {
      const at = async (selfId: string, items: () => ServiceItems | undefined): Promise<NatsViewSync> => {
        const nc = await connectNats({ servers: broker.url, reconnectWaitMs: 100 });
        own.push(nc);
        const s = createNatsViewSync({ connection: nc, selfId, bucket: 'items', periodMs: 100, deadAfterMs: 1000, ttlMs: 60_000, readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1, arrivalRates: {}, ...(items() ? { items: { svc: items()! } } : {}) }) });
        syncs.push(s);
        await s.start();
        return s;
      };
      const a = await at('a', () => SEPARABLE);
      await broker.restart({ keepStore: false });
      // Writes that landed after the restart: the bucket was created again, then a's entry written in it.
      for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => a.once('roundCompleted', () => resolve()));
      const c = await at('c', () => undefined);
      // The watch replays the bucket in the order it was written: a's items come before the entry written after them.
      await until(c, () => c.view().entries['a']?.alive === true);
      expect(c.view().entries['a']!.items?.['svc']).toEqual(SEPARABLE);
    } finally {
      await Promise.all(syncs.map((s) => s.stop({ leave: false })));
      await Promise.all(own.map((nc) => (nc.isClosed() ? undefined : nc.close())));
      await broker.stop();
    }
  }, 60_000);

  describe('an entry with no instance of the model, in a cluster synced through KV', () => {
    let executor: Executor;
    let worker: MeshNode;
    let entry: MeshNode;
    let gateway: Gateway;
    let ref: Reference;
    let url: string;
    beforeAll(async () => {
      const bucket = uniqueName('items');
      const prefix = uniqueName('k');
      ref = await reference(apart);
      executor = createExecutor({
        devices: [{ id: 'cpu0', threads: 1 }],
        launchWhenIdle: true,
        profiling: { warmup: 0, repetitions: 1 },
        services: [{ id: 'apart', model: apart, sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 30_000 }, devices: ['cpu0'] }],
      });
      await executor.start();
      const member = async (id: string, ex: LocalExecutor): Promise<MeshNode> => {
        const nc = await connect();
        const node = createNode({
          id,
          transport: createNatsTransport({ connection: nc, name: id, subjectPrefix: prefix }),
          executor: ex,
          security: { psk: PSK },
          viewSync: (ctx) => createNatsViewSync({ ...ctx, connection: nc, bucket, periodMs: 100, deadAfterMs: 2000, ttlMs: 10_000 }),
          placement: false,
        });
        await node.start();
        return node;
      };
      worker = await member('worker', executor);
      entry = await member('entry', createFakeExecutor({ services: {} }));
      // The entry splits as `epara serve` does: along the axes the servers that run the model publish, when one says.
      const published = (): ServiceItems | undefined => entry.view().entries['worker']?.items?.['apart'];
      const model: GatewayModel = { name: 'apart', inputs: [{ name: 'a', datatype: 'FP32', shape: [-1, 4] }, { name: 'b', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }], splitItems: true };
      gateway = createGateway({
        node: entry,
        models: [model],
        http: { host: '127.0.0.1', port: 0 },
        grpc: false,
        canSplitItems: () => (published()?.separability === 'separable' ? true : published()?.separability === 'not-separable' ? false : 'if-refused-whole'),
        batchAxes: () => (published()?.separability === 'separable' ? published()?.batchAxes : undefined),
        // Refused whole by the worker (its instance stacks requests, one item each): the axes it publishes, or the
        // refusal stands (nothing else here knows them).
        axesWhenRefusedWhole: async () => {
          await entry.whenView(() => published() !== undefined, { timeoutMs: 2000 }).catch(() => undefined);
          return published()?.separability === 'separable' ? published()?.batchAxes : undefined;
        },
      });
      const addresses = await gateway.start();
      url = addresses.http!;
      await entry.whenView((v) => v.entries['worker']?.instances.some((i) => i.serviceId === 'apart' && i.status === 'ready') === true, { timeoutMs: 30_000 });
    }, 60_000);
    afterAll(async () => {
      await gateway?.close();
      await entry?.close();
      await worker?.close();
      await executor?.close();
      await ref?.release();
    });

    const infer = async (inputs: NamedTensors): Promise<{ status: number; body: { outputs?: { name: string; shape: number[]; data: number[] }[]; error?: string } }> => {
      const res = await fetch(`${url}/v2/models/apart/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: Object.entries(inputs).map(([name, t]) => ({ name, datatype: 'FP32', shape: t.dims, data: Array.from(t.data as Float32Array) })) }),
      });
      return { status: res.status, body: (await res.json()) as never };
    };

    it("a request of several rows is answered as onnxruntime answers it, split along the worker's published axes", async () => {
      // A first request of one row lets the worker's executor check the model (the rows then stack there).
      const one = await infer({ a: f32([1, 4], [1, 2, 3, 4]), b: f32([1, 4], [0, 1, 2, 3]) });
      expect(one.status, JSON.stringify(one.body)).toBe(200);
      // Its entry says so within a sync period or two (the answers below are checked either way).
      await entry.whenView((v) => v.entries['worker']?.items?.['apart']?.separability === 'separable', { timeoutMs: 5000 }).catch(() => undefined);
      const request = { a: f32([3, 4], [1, 9, 2, 3, 4, 0, 5, 6, 7, 8, 2, 1]), b: f32([3, 4], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) };
      const want = (await ref.run(request))['y']!;
      for (let i = 0; i < 3; i++) {
        const got = await infer(request);
        expect(got.status, JSON.stringify(got.body)).toBe(200);
        const y = got.body.outputs!.find((o) => o.name === 'y')!;
        expect(y.shape).toEqual(want.dims);
        expect(y.data).toEqual(Array.from(want.data as Float32Array));
      }
      expect(entry.view().entries['worker']!.items!['apart']).toEqual({ separability: 'separable', batchAxes: { inputs: { a: 0, b: 0 }, outputs: { y: 0 } } });
    });
  });
});
