/**
 * `@epara/runtime`: the EPARA executor on onnxruntime-node. Devices are worker threads that own their
 * inference sessions; the executor batches requests by deadline, packs stream frames, shares devices between
 * services and spreads a service over several devices.
 *
 * @example
 * ```ts
 * import { createExecutor } from '@epara/runtime';
 * const executor = createExecutor({
 *   devices: [{ id: 'cpu0', threads: 1 }, { id: 'cpu1', threads: 1 }],
 *   services: [{ id: 'cls', model: 'cls.onnx', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 },
 *                devices: ['cpu0'], sampleInputs: { x: { type: 'float32', dims: [1, 3, 48, 192], data } } }],
 * });
 * await executor.start();
 * const outputs = await executor.submit('cls', { x: { type: 'float32', dims: [1, 3, 48, 192], data } });
 * ```
 *
 * @packageDocumentation
 */

// executor
export { createExecutor } from './executor/create-executor.js';
export { Executor } from './executor/executor.js';
export { DEFAULT_EXECUTOR_OPTIONS } from './executor/executor-options.js';
export { DEFAULT_STREAM_PACK_PRICING, type StreamPackPricing } from './executor/stream-pack-pricing.js';
export { DEFAULT_STREAM_PACK_FORMING, type StreamPackForming } from './streams/stream-pack-forming.js';
export type {
  ExecutorOptions,
  ExecutorDeviceOptions,
  ExecutorServiceOptions,
  TensorExpectation,
  StatefulOptions,
  EngineContext,
  StagedModel,
  GenerationServiceConfig,
  LoadOptions,
  GenerateOptions,
} from './executor/executor-options.js';
export { resolveExecutorOptions } from './executor/resolve-executor-options.js';
export type { ResolvedExecutorOptions } from './executor/resolve-executor-options.js';
export type {
  ExecutorEvents,
  BatchDispatchedEvent,
  BatchCompletedEvent,
  RequestDroppedEvent,
  RequestCompletedEvent,
  InstanceChangedEvent,
} from './executor/executor-events.js';
export type { ExecutorStats, ServiceStats, DeviceStats, StreamCounters } from './executor/executor-stats.js';
export type { InputLease, InputLeaseState } from './batching/input-lease.js';
export type { InputLeaseStats } from './executor/lease-ring.js';
export type { ServiceEngine, EngineSubmitOptions } from './executor/service-engine.js';
export { directWorkQueue } from './executor/device-work.js';
export type { DeviceWork, DeviceWorkQueue } from './executor/device-work.js';
export { BATCH_CHECK_TOLERANCE } from './executor/batch-check.js';

// batching
export { stackTensors, splitTensors, concatAlong, sliceAlong } from './tensors/stack.js';
export type { BatchAxes } from './tensors/stack.js';

// profiling
export { profileModel, DEFAULT_PROFILE_OPTIONS } from './profiling/profile-model.js';
export type { ProfileModelOptions } from './profiling/profile-model.js';

// devices
export { createDevice } from './devices/device-handle.js';
export type {
  DeviceHandle,
  DeviceOptions,
  DeviceEvents,
  DeviceFailedEvent,
  DeviceFellBackEvent,
  WorkerCrashedEvent,
  WorkerRestartedEvent,
  LoadedModelInfo,
  LoadModelOptions,
  ModelIoInfo,
  ModelSource,
  TimedRun,
  RunBatchOptions,
  StagedBatch,
  SlabHome,
} from './devices/device-handle.js';
export { DEFAULT_DEVICE_OPTIONS, resolveDeviceOptions } from './devices/device-options.js';
export type { ResolvedDeviceOptions } from './devices/device-options.js';
export type { InputSlabStats } from './devices/input-slabs.js';
export type { KnownOutput, SlabOutput } from './devices/slab-outputs.js';
export type { DirectRunOptions, RestartWarmRun } from './devices/device-port.js';
export type { BackendSpec, ModuleBackendSpec, BackendModuleFactory, InferenceBackend, BackendSession, BackendSessionOptions, BackendModelSource } from './devices/backend.js';
export { fakeModelBytes } from './devices/fake-backend.js';
export type { FakeModelSpec, FakeOutputSpec } from './devices/fake-backend.js';

// the runtime's default clock (timers and the logger are core's ports: `createSystemTimers`, `Logger`)
export { hrClock } from './executor/hr-clock.js';

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

// language-model generation with iteration-level batching (models helper)
export { createGenerationEngine } from './generation/generation-engine.js';
export type { GenerationEngine, GenerationStream } from './generation/generation-engine.js';
export type { GenerationRequest } from './generation/generation-request.js';
export { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions } from './generation/generation-options.js';
export type { GenerationEngineOptions, ResolvedGenerationOptions } from './generation/generation-options.js';
export type { GenerationEstimate } from './generation/generation-estimate.js';
export type {
  GenerationEvents,
  GenerationStats,
  LeaveReason,
  SequenceJoinedEvent,
  SequenceLeftEvent,
  StepCompletedEvent,
  RequestRejectedEvent,
} from './generation/generation-events.js';
export { createGenerationService } from './generation/generation-service.js';
export type { GenerationServiceOptions } from './generation/generation-service.js';
export { balancedCuts } from './onnx/balanced-cuts.js';
export type { BalancedCuts, BalancedCutsOptions } from './onnx/balanced-cuts.js';

// observability: Prometheus metrics (prom-client is an optional peer dependency)
export { createRuntimeMetrics } from './observability/runtime-metrics.js';
export type { RuntimeMetrics, ObservedRequest } from './observability/runtime-metrics.js';
export { resolveRuntimeMetricsOptions, DEFAULT_RUNTIME_METRICS_OPTIONS } from './observability/runtime-metrics-options.js';
export type { RuntimeMetricsOptions, ResolvedRuntimeMetricsOptions, MetricsExecutor } from './observability/runtime-metrics-options.js';
export type { PromClient } from '@epara/core/internal';
export type { OnnxType, OnnxDimension, OnnxInt64, OnnxFunction, OnnxSparseTensor, OnnxStringEntry } from './onnx/onnx-types.js';
export type { BuilderElemType, ConstantData } from './onnx/onnx-tensor.js';
// observability: when a request reaches each stage of its way (benchmarks, one request at a time)
export { recordStageMarks, REQUEST_STAGES } from './observability/stage-marks.js';
export type { RequestStage } from './observability/stage-marks.js';
