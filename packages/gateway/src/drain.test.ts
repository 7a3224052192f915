import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { ClusterView, NamedTensors } from '@epara/core';
import { expect, it } from 'vitest';
import { createGateway } from './gateway.js';
import type { GatewayNode } from './gateway-options.js';

/*
 * Draining with requests in flight on both protocols: every request the gateway took in is answered (those
 * running complete, new ones get a retryable refusal), and drain() resolves once the running ones did.
 */

/** A node whose submits wait until the test releases them. */
function heldNode(expected: number): GatewayNode & { held: Promise<void>; release(): void } {
  const pending: (() => void)[] = [];
  let allHeld!: () => void;
  const held = new Promise<void>((resolve) => (allHeld = resolve));
  return {
    id: 'n1',
    held,
    release: () => pending.splice(0).forEach((r) => r()),
    view: () => ({ entries: {} }) as unknown as ClusterView,
    submit(_s: string, inputs: NamedTensors): Promise<NamedTensors> {
      return new Promise((resolve) => {
        pending.push(() => resolve({ y: inputs['x']! }));
        if (pending.length === expected) allHeld();
      });
    },
  };
}

/** `ModelInferRequest` for model `m` with one FP32 [1,2] input `x` in `raw_input_contents` (hand-encoded). */
function inferMessage(): Buffer {
  const input = Buffer.from([0x0a, 1, 0x78, 0x12, 4, ...Buffer.from('FP32'), 0x1a, 2, 1, 2]);
  const raw = Buffer.from(new Float32Array([1, 2]).buffer);
  return Buffer.concat([Buffer.from([0x0a, 1, 0x6d, 0x2a, input.length]), input, Buffer.from([0x3a, raw.length]), raw]);
}

it('answers every request in flight on HTTP and gRPC while draining, and refuses new ones retryably', async () => {
  const node = heldNode(4);
  const gateway = createGateway({ node, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] }], http: { port: 0 }, grpc: { port: 0 } });
  const a = await gateway.start();
  const client = new Client(a.grpc!, credentials.createInsecure());
  const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
  const http = (): Promise<number> => fetch(`${a.http}/v2/models/m/infer`, { method: 'POST', body }).then(async (r) => (await r.arrayBuffer(), r.status));
  const grpc = (): Promise<number> =>
    new Promise((resolve) => client.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Buffer) => b, (b: Buffer) => b, inferMessage(), new Metadata(), (err: ServiceError | null) => resolve(err ? err.code : status.OK)));
  try {
    const running = [http(), http(), grpc(), grpc()];
    await node.held;
    const drained = gateway.drain({ timeoutMs: 60_000 });
    // Not ready at once, while the four requests are still running: a load balancer stops sending before they end.
    expect((await fetch(`${a.http}/v2/health/ready`)).status).toBe(503);
    expect((await fetch(`${a.http}/v2/models/m/ready`)).status).toBe(503);
    expect((await fetch(`${a.http}/v2/health/live`)).status).toBe(200);
    const serverReady = await new Promise<Buffer | ServiceError>((resolve) =>
      client.makeUnaryRequest('/inference.GRPCInferenceService/ServerReady', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new Metadata(), (err: ServiceError | null, res?: Buffer) => resolve(err ?? res!)),
    );
    // ServerReadyResponse { ready: false }: field 1 false, written (08 00) or left out as proto3's default.
    expect([Buffer.from([8, 0]).toString('hex'), '']).toContain((serverReady as Buffer).toString('hex'));
    expect(gateway.stats().inFlight).toBe(4);
    expect(await http()).toBe(503);
    expect(await grpc()).toBe(status.UNAVAILABLE);
    expect(gateway.stats().inFlight).toBe(4);
    node.release();
    expect(await Promise.all(running)).toEqual([200, 200, status.OK, status.OK]);
    await drained;
    expect(gateway.stats().inFlight).toBe(0);
    expect(gateway.stats().httpAccepted).toBe(gateway.stats().httpAnswered);
  } finally {
    node.release();
    client.close();
    await gateway.close();
  }
});

it('waits for the requests in flight however long the drain timeout, Infinity included, and refuses a timeout that is not one', async () => {
  for (const timeoutMs of [10_000_000_000, Number.POSITIVE_INFINITY]) {
    const node = heldNode(1);
    const gateway = createGateway({ node, models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] }], http: { port: 0 }, grpc: false });
    const a = await gateway.start();
    try {
      const order: string[] = [];
      const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
      const running = fetch(`${a.http}/v2/models/m/infer`, { method: 'POST', body }).then(async (r) => (await r.arrayBuffer(), r.status));
      await node.held;
      await expect(gateway.drain({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'timeoutMs' } });
      await expect(gateway.drain({ timeoutMs: Number.NaN })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
      // A delay past 2^31 - 1 ms made setTimeout fire at once: the drain resolved while the request still ran.
      const drained = gateway.drain({ timeoutMs }).then(() => order.push('drained'));
      // Timers fire in the order they expire: a drain whose timer overflowed to 1 ms resolves before this one does,
      // while the request is still held; a correct drain cannot resolve before the release below.
      await new Promise<void>((resolve) => setTimeout(resolve, 5));
      order.push('released');
      node.release();
      expect(await running).toBe(200);
      await drained;
      expect(order, String(timeoutMs)).toEqual(['released', 'drained']);
    } finally {
      node.release();
      await gateway.close();
    }
  }
  expect(() => createGateway({ node: heldNode(1), models: [], http: false, grpc: false, drainTimeoutMs: 10_000_000_000 })).toThrow(/drainTimeoutMs/);
});
