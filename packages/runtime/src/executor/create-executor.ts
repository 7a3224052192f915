import { Executor } from './executor.js';
import type { ExecutorOptions } from './executor-options.js';
import { resolveExecutorOptions } from './resolve-executor-options.js';

/**
 * Creates an executor: devices (worker threads owning onnxruntime sessions) and the services they may host.
 * Nothing starts until `start()` (which loads services that name `devices`) or `load(plan)`.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the bad field.
 * @example
 * ```ts
 * const executor = createExecutor({
 *   devices: [{ id: 'cpu0', threads: 1 }],
 *   services: [{ id: 'cls', model: 'cls.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 },
 *                devices: ['cpu0'], sampleInputs: { x: { type: 'float32', dims: [1, 3, 48, 192], data } } }],
 * });
 * await executor.start();
 * const out = await executor.submit('cls', { x: { type: 'float32', dims: [1, 3, 48, 192], data } });
 * await executor.close();
 * ```
 */
export function createExecutor(options: ExecutorOptions): Executor {
  return new Executor(resolveExecutorOptions(options));
}
