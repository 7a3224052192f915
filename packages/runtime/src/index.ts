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

// onnx: model generation, codec and splitter (models helper)
export { createGraphBuilder } from './onnx/graph-builder.js';
export type { GraphBuilder, AttributeValue, DimSpec } from './onnx/graph-builder.js';
export { decodeModel, encodeModel } from './onnx/onnx-codec.js';
export type { OnnxModel, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo, OnnxAttribute } from './onnx/onnx-types.js';
export { splitModel } from './onnx/split-model.js';
export type { SplitModelOptions, ModelStage } from './onnx/split-model.js';
export { buildMlp } from './onnx/models/mlp.js';
export type { MlpOptions } from './onnx/models/mlp.js';
export { buildConv3dVideoModel } from './onnx/models/conv3d-video-model.js';
export type { Conv3dVideoModelOptions } from './onnx/models/conv3d-video-model.js';
export { buildTinyCausalLm } from './onnx/models/tiny-causal-lm.js';
export type { TinyCausalLmOptions } from './onnx/models/tiny-causal-lm.js';

// model parallelism: pipeline engine (models helper)
export { createPipelineEngine } from './parallel/model-parallel-engine.js';
export type { PipelineEngine } from './parallel/model-parallel-engine.js';
export { DEFAULT_PIPELINE_OPTIONS, resolvePipelineOptions } from './parallel/model-parallel-options.js';
export type { PipelineEngineOptions, PipelineStage, ResolvedPipelineOptions } from './parallel/model-parallel-options.js';
export type { PipelineDataflow } from './parallel/model-parallel-plan.js';
export type {
  PipelineEvents,
  PipelineStats,
  PipelineBatchDispatchedEvent,
  PipelineStageStartedEvent,
  PipelineStageCompletedEvent,
  PipelineBatchCompletedEvent,
  PipelineRequestDroppedEvent,
} from './parallel/model-parallel-events.js';
