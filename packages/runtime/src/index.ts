/**
 * `@epara/runtime`: the EPARA executor on onnxruntime-node. Devices are worker threads that own their
 * inference sessions; the executor batches requests by deadline, packs stream frames, shares devices between
 * services and spreads a service over several devices.
 *
 * @example
 * ```ts
 * import { createDevice } from '@epara/runtime';
 * const device = createDevice({ id: 'cpu0', threads: 1 });
 * const info = await device.loadModel('cls', { path: 'cls.onnx' });
 * ```
 *
 * @packageDocumentation
 */

// devices
export { createDevice } from './devices/device-handle.js';
export type {
  DeviceHandle,
  DeviceOptions,
  DeviceEvents,
  DeviceFellBackEvent,
  WorkerCrashedEvent,
  WorkerRestartedEvent,
  LoadedModelInfo,
  ModelIoInfo,
  ModelSource,
  TimedRun,
} from './devices/device-handle.js';
export { DEFAULT_DEVICE_OPTIONS, resolveDeviceOptions } from './devices/device-options.js';
export type { ResolvedDeviceOptions } from './devices/device-options.js';
export type { BackendSpec, InferenceBackend, BackendSession, BackendSessionOptions, BackendModelSource } from './devices/backend.js';
export { fakeModelBytes } from './devices/fake-backend.js';
export type { FakeModelSpec, FakeOutputSpec } from './devices/fake-backend.js';

// util
export { silentLogger } from './util/logger.js';
export type { Logger } from './util/logger.js';
