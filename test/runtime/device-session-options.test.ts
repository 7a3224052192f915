import { afterEach, describe, expect, it } from 'vitest';
import { createDevice, createExecutor, type DeviceHandle, type Executor } from '@epara/runtime';

// Its one output is the session options it was created with: [threads, spinWait ? 1 : 0].
const backendUrl = new URL('./fixtures/options-backend.mjs', import.meta.url);
const model = { bytes: new Uint8Array([0]) };
const x = () => ({ x: { type: 'float32' as const, dims: [1, 1], data: new Float32Array(1) } });

describe('device thread policy reaches the backend', () => {
  let device: DeviceHandle | undefined;
  let ex: Executor | undefined;
  afterEach(async () => {
    await device?.close();
    await ex?.close();
  });

  it('creates sessions that sleep when idle unless the device sets spinWait', async () => {
    device = createDevice({ id: 'd', threads: 2, backend: { kind: 'module', url: backendUrl } });
    await device.loadModel('m', model);
    expect([...(await device.run('m', x()))['o']!.data]).toEqual([2, 0]);
    await device.close();
    device = createDevice({ id: 'd', threads: 3, spinWait: true, backend: { kind: 'module', url: backendUrl } });
    await device.loadModel('m', model);
    expect([...(await device.run('m', x()))['o']!.data]).toEqual([3, 1]);
  });

  it("passes an executor device's spinWait through", async () => {
    ex = createExecutor({ backend: { kind: 'module', url: backendUrl }, devices: [{ id: 'd', threads: 2, spinWait: true }] });
    await ex.start();
    const slot = ex.device('d')!;
    await slot.loadModel('m', model);
    expect([...(await slot.run('m', x()))['o']!.data]).toEqual([2, 1]);
  });
});
