import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedTensors } from '@epara/core';
import { createDevice, createExecutor, createGraphBuilder, type Executor } from '@epara/runtime';
import { expectServedAsReference, reference, service, startExecutor, submitAll, type Reference } from './ground-truth.js';

/*
 * The arrays a host hands over as tensor data: a Node `Buffer` is a `Uint8Array` (what onnxruntime-node itself
 * takes for uint8 and bool), often a view into Node's shared 8 KiB pool; arrays of the wrong kind are refused.
 */

function bytesModel(): Uint8Array {
  const g = createGraphBuilder({ name: 'bytes' });
  g.input('u8', 'uint8', ['N', 4]);
  g.input('flag', 'bool', ['N', 4]);
  g.node('Add', ['u8', g.constant('one', 'uint8', [], [1])], ['u8_out']);
  g.node('Not', ['flag'], ['flag_out']);
  g.output('u8_out', 'uint8', ['N', 4]);
  g.output('flag_out', 'bool', ['N', 4]);
  return g.toBytes();
}

const item = (k: number, wrap: (a: number[]) => Uint8Array): NamedTensors => ({
  u8: { type: 'uint8', dims: [1, 4], data: wrap([k, 255 - k, 7, k * 3]) },
  flag: { type: 'bool', dims: [1, 4], data: wrap([k % 2, 1, 0, (k + 1) % 2]) },
});

describe.each([{ inputSlabBytes: undefined }, { inputSlabBytes: 0 }])('Node Buffers as uint8 and bool data, input slabs of $inputSlabBytes bytes (real onnxruntime-node, against raw onnxruntime-node)', (o) => {
  const bytes = bytesModel();
  let executor: Executor;
  let ref: Reference;
  beforeAll(async () => {
    ref = await reference(bytes);
    const device = { id: 'cpu0', threads: 1, ...(o.inputSlabBytes === undefined ? {} : { inputSlabBytes: o.inputSlabBytes }) };
    executor = createExecutor({ devices: [device], services: [service('bytes', bytes)], launchWhenIdle: true });
    await executor.start();
  });
  afterAll(async () => {
    await executor?.close();
    await ref?.release();
  });

  it('serves Buffers from the shared pool, alone and batched, and leaves the pool as it was', async () => {
    const neighbour = Buffer.from('the pool holds other data too');
    const items = Array.from({ length: 6 }, (_, k) => item(k, (a) => Buffer.from(a)));
    expect((items[0]!['u8']!.data as Buffer).byteOffset).toBeGreaterThan(0); // a view into the pool
    const served = await expectServedAsReference(executor, 'bytes', ref, items);
    expect(Math.max(...served.batchSizes)).toBeGreaterThan(1);
    expect(neighbour.toString()).toBe('the pool holds other data too');
    await expectServedAsReference(executor, 'bytes', ref, [item(9, (a) => Buffer.from(a))]);
  });

  it('serves Buffers that own their memory (Buffer.alloc) and subarrays of a Buffer', async () => {
    const own = (a: number[]): Uint8Array => {
      const b = Buffer.alloc(a.length);
      b.set(a);
      return b;
    };
    const big = Buffer.alloc(64, 3);
    const sub = (a: number[]): Uint8Array => {
      const b = big.subarray(8 + a[0]!, 12 + a[0]!);
      b.set(a);
      return b;
    };
    await expectServedAsReference(executor, 'bytes', ref, [item(1, own), item(2, own), item(3, sub), item(20, sub)]);
  });
});

describe('tensor data of the wrong kind is refused with INVALID_INPUT, never a crash', () => {
  const bytes = bytesModel();
  let executor: Executor;
  beforeAll(async () => {
    executor = await startExecutor([service('bytes', bytes)]);
  });
  afterAll(async () => {
    await executor?.close();
  });

  it.each([
    ['a plain array of numbers', [1, 2, 3, 4]],
    ['an Int8Array', new Int8Array(4)],
    ['a Uint8ClampedArray', new Uint8ClampedArray(4)],
    ['a Float32Array', new Float32Array(4)],
    ['a DataView', new DataView(new ArrayBuffer(4))],
    ['an ArrayBuffer', new ArrayBuffer(4)],
    ['a string', 'abcd'],
    ['null', null],
  ])('uint8 data given as %s', async (_what, data) => {
    const inputs = { ...item(1, (a) => new Uint8Array(a)), u8: { type: 'uint8', dims: [1, 4], data } } as unknown as NamedTensors;
    const { results } = await submitAll(executor, 'bytes', [inputs]);
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
  });
});

describe('device.run refuses feeds that are not tensors with INVALID_INPUT, never a TypeError', () => {
  const bytes = bytesModel();
  const device = createDevice({ id: 'feeds', threads: 1 });
  beforeAll(async () => {
    await device.loadModel('m', { bytes });
  });
  afterAll(async () => {
    await device.close();
  });

  it.each([
    ['feeds of null', null],
    ['a tensor of null', { ...item(1, (a) => new Uint8Array(a)), u8: null }],
    ['a tensor without dims', { ...item(1, (a) => new Uint8Array(a)), u8: { type: 'uint8', data: new Uint8Array(4) } }],
    ['a tensor without data', { ...item(1, (a) => new Uint8Array(a)), u8: { type: 'uint8', dims: [1, 4] } }],
    ['a tensor whose data is a number', { ...item(1, (a) => new Uint8Array(a)), u8: { type: 'uint8', dims: [1, 4], data: 4 } }],
  ])('%s', async (_what, feeds) => {
    await expect(device.run('m', feeds as unknown as NamedTensors)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('still runs a Node Buffer from the pool, leaving the pool as it was', async () => {
    const neighbour = Buffer.from('pool neighbour');
    const out = await device.run('m', item(5, (a) => Buffer.from(a)));
    expect(Array.from(out['u8_out']!.data as Uint8Array)).toEqual([6, 251, 8, 16]);
    expect(neighbour.toString()).toBe('pool neighbour');
  });
});
