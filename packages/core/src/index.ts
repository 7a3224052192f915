/**
 * `@epara/core`: the pure logic of EPARA — task categories, the five allocation strategies, the allocator,
 * state-aware submodular placement, the request-routing decision and the cluster view. No I/O, no timers, no
 * runtime dependencies: time and randomness come in through the {@link Clock} and {@link Random} ports.
 *
 * @example
 * ```ts
 * import { affineProfile, classify } from '@epara/core';
 * const service = {
 *   id: 'seg', sensitivity: 'latency', slo: { kind: 'latency', deadlineMs: 100 },
 *   memory: { weightsBytes: 5e6, perItemBytes: 2e6 },
 *   profiles: { 'cpu-1t': affineProfile('cpu-1t', { fixedMs: 4, perItemMs: 6 }) },
 * } as const;
 * classify({ service, demandPerSec: 40, deviceKinds: [{ kind: 'cpu-1t', memoryBytes: 1e9 }] });
 * ```
 *
 * @packageDocumentation
 */

// errors
export {
  EparaError,
  EPARA_ERROR_CODES,
  isEparaError,
  isEparaErrorCode,
  eparaErrorFromJSON,
  toEparaError,
  invalidOption,
} from './errors/epara-error.js';
export type { EparaErrorCode, EparaErrorDetails } from './errors/epara-error.js';

// ports
export { systemClock, createManualClock } from './ports/clock.js';
export type { Clock, ManualClock } from './ports/clock.js';
export { createSystemTimers } from './ports/timers.js';
export type { Timers, TimerHandle } from './ports/timers.js';
export { silentLogger } from './ports/logger.js';
export type { Logger } from './ports/logger.js';
export { createSeededRandom } from './ports/random.js';
export type { Random } from './ports/random.js';
export type { AbortSignalLike } from './ports/abort-signal.js';
export type {
  LocalExecutor,
  LocalSubmitOptions,
  LocalEstimate,
  LocalStream,
  LocalStreamOptions,
  StreamResult,
  StreamSummary,
} from './ports/local-executor.js';

// model
export type { ServerId, DeviceId, ServiceId, DeviceKind, DeviceSpec, ServerSpec } from './model/device.js';
export type { Sensitivity, LatencySlo, FrequencySlo, Slo, ServiceMemory, ServiceSpec } from './model/service.js';
export type { ServiceDemand, StreamDemand } from './model/demand.js';
export { totalDemandRate } from './model/demand.js';
export type { TensorType, NumericTensorType, TensorDataArray, StringTensorData, TensorLike, NamedTensors } from './model/tensor.js';
export { TENSOR_ELEMENT_BYTES } from './model/tensor.js';

// profiles
export { createProfile, fitProfile, latencyAt, scaleProfile, affineProfile } from './profiles/latency-profile.js';
export type { LatencyProfile, ProfilePoint, ProfileSample } from './profiles/latency-profile.js';

// allocation
export type {
  RequestStrategy,
  ServiceStrategy,
  MultiDeviceReason,
  Category,
  ParallelPlan,
} from './allocation/plan.js';

// view
export type { InstanceStatus, InstanceInfo, ItemSeparability, ServiceItems, ServerEntry, ClusterView } from './view/server-entry.js';

// --- categories / strategies / allocate / routing / view functions are exported below ---
export { classify } from './categories/classify.js';
export type { ClassifyInput, Classification, KindCapacity } from './categories/classify.js';
export { deviceKindsOf } from './categories/device-kinds.js';
export { DEFAULT_STRATEGY_OPTIONS, resolveStrategyOptions } from './allocation/strategy-options.js';
export type { StrategyOptions } from './allocation/strategy-options.js';
export { budgetMs } from './allocation/validate-input.js';
export type { DeviceKindSpec } from './allocation/validate-input.js';
export type { PlanOutcome, PlanConstraint } from './allocation/plan-outcome.js';
export { planBatching } from './allocation/batching.js';
export type { BatchingInput } from './allocation/batching.js';
export { planMultiFrame } from './allocation/multi-frame.js';
export type { MultiFrameInput } from './allocation/multi-frame.js';
export { checkMultiTask } from './allocation/multi-task.js';
export type {
  MultiTaskInput,
  MultiTaskMember,
  MultiTaskVerdict,
  MultiTaskMemberVerdict,
  MultiTaskConstraint,
} from './allocation/multi-task.js';
export { planDataParallel } from './allocation/data-parallel.js';
export type { DataParallelInput } from './allocation/data-parallel.js';
export { planModelParallel } from './allocation/model-parallel.js';
export type { ModelParallelInput, StageProfiles } from './allocation/model-parallel.js';
export { allocate } from './allocation/allocate.js';
export type { AllocateInput, Allocation, AllocationStrategy, InfeasibleCandidate } from './allocation/allocate.js';
export { DEFAULT_ROUTE_OPTIONS, resolveRouteOptions } from './routing/route-options.js';
export type { RouteOptions, NetworkModel } from './routing/route-options.js';
export { routeRequest } from './routing/route-request.js';
export type { RoutedRequest, RouteRequestInput, RouteCandidate, RouteDecision } from './routing/route-request.js';
export { admitStream } from './routing/admit-stream.js';
export type { StreamRequest, AdmitStreamInput, StreamCandidate, StreamDecision } from './routing/admit-stream.js';
export type { NextHop } from './routing/routing-common.js';
// merging, stamping and delta helpers for view syncs are in `@epara/core/internal`
export { createView } from './view/merge-view.js';

// the request-level scheduler shared by the runtime and the simulator is `@epara/core/scheduling`

export type { TraceContext, TraceParent } from './tracing/trace-context.js';

// --- placement is exported below ---
export { placeServices } from './placement/place-services.js';
export { resolvePlacementOptions, DEFAULT_PLACEMENT_OPTIONS } from './placement/options.js';
export { findPlacementViolations } from './placement/find-violations.js';
export type { PlacementOptions, ResolvedPlacementOptions } from './placement/options.js';
export type {
  PlacedInstance,
  NetworkDelays,
  PlacementInput,
  PlacementStep,
  ServicePlacement,
  PlacementGuarantee,
  PlacementStats,
  PlacementResult,
} from './placement/types.js';

// forecast
export { createDemandForecaster } from './forecast/demand-forecaster.js';
export type { DemandForecaster, ForecastOptions, WindowReport } from './forecast/demand-forecaster.js';
export type { RunModel } from './allocation/plan-search.js';
