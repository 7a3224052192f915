import { afterEach, describe, expect, it } from 'vitest';
import { isEparaError, type NamedTensors } from '@epara/core';
import type { DeviceHandle, ModelSource } from '@epara/runtime';

/** What a backend needs to provide for the shared device contract. */
export interface DeviceContractSetup {
  /** A device on this backend; `provider: 'cuda'` must fall back to CPU on this machine. */
  createDevice(options: { id: string; provider?: 'cpu' | 'cuda' }): DeviceHandle;
  readonly model: ModelSource;
  /** Inputs of a batch of `batch` items. */
  feeds(batch: number): NamedTensors;
  /** The output name that carries one row per item. */
  readonly outputName: string;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return isEparaError(err) ? err.code : `untyped: ${String(err)}`;
  }
}

/** The behaviour every device must show, whichever backend runs inside its worker. */
export function runDeviceContract(name: string, setup: DeviceContractSetup): void {
  describe(`device contract: ${name}`, () => {
    const opened: DeviceHandle[] = [];
    const open = (o: { id: string; provider?: 'cpu' | 'cuda' }): DeviceHandle => {
      const d = setup.createDevice(o);
      opened.push(d);
      return d;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((d) => d.close()));
    });

    it('loads a model, reports its inputs and outputs, and runs batches of several sizes', async () => {
      const d = open({ id: 'd0' });
      const info = await d.loadModel('m', setup.model);
      expect(info.executionProvider).toBe('cpu');
      expect(info.memoryBytes).toBeGreaterThan(0);
      expect(info.outputs.map((o) => o.name)).toContain(setup.outputName);
      for (const batch of [1, 3]) {
        const out = await d.runTimed('m', setup.feeds(batch));
        expect(out.outputs[setup.outputName]!.dims[0]).toBe(batch);
        expect(out.runMs).toBeGreaterThan(0);
      }
    });

    it('is deterministic: the same feeds give the same outputs', async () => {
      const d = open({ id: 'd0' });
      await d.loadModel('m', setup.model);
      const a = await d.run('m', setup.feeds(2));
      const b = await d.run('m', setup.feeds(2));
      expect(Array.from(a[setup.outputName]!.data as Float32Array)).toEqual(Array.from(b[setup.outputName]!.data as Float32Array));
    });

    it('rejects an unknown model key, bad model bytes, and calls after close with codes', async () => {
      const d = open({ id: 'd0' });
      expect(await codeOf(d.run('nope', setup.feeds(1)))).toBe('UNKNOWN_SERVICE');
      expect(await codeOf(d.loadModel('bad', { bytes: new Uint8Array([1, 2, 3]) }))).toBe('LOAD_FAILED');
      await d.loadModel('m', setup.model);
      await d.close();
      expect(await codeOf(d.run('m', setup.feeds(1)))).toBe('CLOSED');
    });

    it('stops waiting on abort without breaking the device', async () => {
      const d = open({ id: 'd0' });
      await d.loadModel('m', setup.model);
      const ac = new AbortController();
      const p = d.run('m', setup.feeds(1), { signal: ac.signal });
      ac.abort();
      expect(await codeOf(p)).toBe('ABORTED');
      const out = await d.run('m', setup.feeds(1));
      expect(out[setup.outputName]!.dims[0]).toBe(1);
    });

    it('runs a batch from per-item inputs (input slab) exactly as the stacked feeds, and returns its slabs', async () => {
      const d = open({ id: 'd0' });
      await d.loadModel('m', setup.model);
      const batch = setup.feeds(3);
      const items = [0, 1, 2].map((i) => {
        const item: Record<string, NamedTensors[string]> = {};
        for (const [name, t] of Object.entries(batch)) {
          const row = t.data.length / t.dims[0]!;
          item[name] = { type: t.type, dims: [1, ...t.dims.slice(1)], data: t.data.slice(i * row, (i + 1) * row) as typeof t.data };
        }
        return item;
      });
      const axes = Object.fromEntries(Object.keys(batch).map((n) => [n, 0]));
      const stacked = await d.runTimed('m', setup.feeds(3));
      const slabbed = await d.runBatch!('m', items, axes);
      expect(Array.from(slabbed.outputs[setup.outputName]!.data as Float32Array)).toEqual(Array.from(stacked.outputs[setup.outputName]!.data as Float32Array));
      expect(d.inputSlabs!()).toMatchObject({ slabRuns: 1, lent: 0 });
    });

    it('answers batches of known outputs alike by message and through the doorbell', async () => {
      const d = open({ id: 'd0' });
      await d.loadModel('m', setup.model);
      const one = (await d.runTimed('m', setup.feeds(1))).outputs[setup.outputName]!;
      const known = [{ name: setup.outputName, type: one.type as 'float32', dims: one.dims, axis: 0 }];
      const batch = setup.feeds(2);
      const items = [0, 1].map((i) => {
        const item: Record<string, NamedTensors[string]> = {};
        for (const [name, t] of Object.entries(batch)) {
          const row = t.data.length / t.dims[0]!;
          item[name] = { type: t.type, dims: [1, ...t.dims.slice(1)], data: t.data.slice(i * row, (i + 1) * row) as typeof t.data };
        }
        return item;
      });
      const axes = Object.fromEntries(Object.keys(batch).map((n) => [n, 0]));
      const want = Array.from((await d.runTimed('m', setup.feeds(2))).outputs[setup.outputName]!.data as Float32Array);
      // The first batch of the layout goes by message; the next ones ring in (on a backend that writes into given outputs).
      for (let round = 0; round < 3; round++) {
        const run = await d.runBatch!('m', items, axes, { knownOutputs: known });
        const got = run.items ? run.items.flatMap((o) => Array.from(o[setup.outputName]!.data as Float32Array)) : Array.from(run.outputs[setup.outputName]!.data as Float32Array);
        expect(got).toEqual(want);
      }
      const stats = d.inputSlabs!();
      expect(stats.slabRuns + stats.rungRuns).toBe(3);
      expect(stats.lent).toBe(0);
    });

    it('unloads a model', async () => {
      const d = open({ id: 'd0' });
      await d.loadModel('m', setup.model);
      await d.unloadModel('m');
      expect(await codeOf(d.run('m', setup.feeds(1)))).toBe('UNKNOWN_SERVICE');
    });

    it('falls back from CUDA to CPU with a deviceFellBack event', async () => {
      const d = open({ id: 'gpu0', provider: 'cuda' });
      const events: { deviceId: string; used: string }[] = [];
      d.on('deviceFellBack', (e) => events.push(e));
      const info = await d.loadModel('m', setup.model);
      expect(info.executionProvider).toBe('cpu');
      expect(events).toEqual([expect.objectContaining({ deviceId: 'gpu0', used: 'cpu', modelKey: 'm' })]);
      expect((await d.run('m', setup.feeds(1)))[setup.outputName]!.dims[0]).toBe(1);
    });

    it('does not detach a caller buffer that is a view of a larger buffer', async () => {
      const d = open({ id: 'd0' });
      await d.loadModel('m', setup.model);
      const feeds = setup.feeds(1);
      const shared: Record<string, NamedTensors[string]> = {};
      for (const [k, t] of Object.entries(feeds)) {
        const big = new (t.data.constructor as Float32ArrayConstructor)(t.data.length + 8);
        big.set(t.data as Float32Array, 4);
        shared[k] = { ...t, data: big.subarray(4, 4 + t.data.length) };
      }
      await d.run('m', shared);
      for (const t of Object.values(shared)) expect(t.data.length).toBeGreaterThan(0);
    });
  });
}
