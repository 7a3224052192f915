import { WorkerDevice } from './worker-device.js';
import { resolveDeviceOptions } from './device-options.js';
import type { DeviceHandle, DeviceOptions } from './device-port.js';

export type { ModelIoInfo, LoadedModelInfo, LoadModelOptions, ModelSource, TimedRun, RunBatchOptions, StagedBatch, SlabHome, DeviceFailedEvent, DeviceFellBackEvent, WorkerCrashedEvent, WorkerRestartedEvent, DeviceEvents, DeviceHandle, DeviceOptions } from './device-port.js';

/**
 * Starts a device: a worker thread with its own inference sessions.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the bad field.
 * @example
 * ```ts
 * const device = createDevice({ id: 'cpu0', threads: 1 });
 * await device.loadModel('cls', { path: 'cls.onnx' });
 * const out = await device.run('cls', { x: { type: 'float32', dims: [1, 3, 48, 192], data } });
 * await device.close();
 * ```
 */
export function createDevice(options: DeviceOptions): DeviceHandle {
  return new WorkerDevice(resolveDeviceOptions(options));
}
