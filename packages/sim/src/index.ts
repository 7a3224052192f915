/**
 * `@epara/sim`: a deterministic discrete-event simulator of an edge cloud that runs EPARA's own core logic
 * (`allocate`, `placeServices`, `routeRequest`, `admitStream`, the view merge `compareEntries`/`mergeEntry`) under the core's virtual clock,
 * next to the baselines as their users deploy them (Triton per site behind a balancer, Ray-Serve-like, a
 * centralized SLO scheduler) and an oracle upper bound, in an edge world where every system pays network
 * distance, link contention, memory limits, co-location interference and load times, with the experiments E1–E8.
 *
 * @example
 * ```ts
 * import { productionMix, simulate } from '@epara/sim';
 * const r = simulate({
 *   durationMs: 30_000,
 *   cluster: { groups: [{ preset: 'gpu-server', count: 2 }, { preset: 'jetson', count: 2 }] },
 *   workload: productionMix({ scale: 2 }),
 *   system: { kind: 'epara' },
 * });
 * console.log(r.total.goodputPerSec);
 * ```
 *
 * @packageDocumentation
 */
export { simulate, createSystem, DEFAULT_INTERFERENCE } from './simulate.js';
export type { SimulateOptions } from './simulate.js';
export { simulateInParallel } from './shard/simulate-in-parallel.js';
export type { ParallelOptions } from './shard/simulate-in-parallel.js';
export type { Scenario, SystemSpec, FailureSpec } from './scenario/scenario.js';
export { validateScenario } from './scenario/resolve-scenario.js';
export type { RunResult, OutcomeSummary } from './metrics/summary.js';
// the event queue, the event loop and the workload samplers are `@epara/sim/engine`
export { DEVICE_KINDS, SERVER_PRESETS, buildServers } from './model/hardware.js';
export type { DeviceKindModel, ServerPreset, ServerGroup, SimServer } from './model/hardware.js';
export { SERVICE_CATALOG, llmProfileMs, asLatencyService, serviceDeadlineMs } from './model/services.js';
export type { SimService, LlmTiming } from './model/services.js';
export { DEFAULT_NETWORK_OPTIONS } from './model/network.js';
export type { NetworkOptions } from './model/network.js';
export { productionMix } from './workload/production-mix.js';
export type { ProductionMixOptions, MixKind } from './workload/production-mix.js';
export { readTraceCsv, writeTraceCsv } from './workload/trace-csv.js';
export { readAzureFunctionsTrace } from './workload/azure-trace.js';
export { readAzureLlmTrace, bundledAzureLlmTrace, AZURE_LLM_CONV_TRACE } from './workload/azure-llm-trace.js';
export type { AzureLlmTraceOptions } from './workload/azure-llm-trace.js';
export { edgeMix } from './workload/edge-mix.js';
export type { EdgeMixOptions } from './workload/edge-mix.js';
export type { AzureTraceOptions } from './workload/azure-trace.js';
export type { WorkloadSpec, RequestLoad, StreamLoad, TraceRow, ArrivalProcess } from './workload/workload.js';
export { tritonMaxBatch, tritonStaticPlacement } from './systems/triton-config.js';
export { DEFAULT_TRITON_OPTIONS } from './systems/triton.js';
export type { TritonOptions } from './systems/triton.js';
export { DEFAULT_CENTRALIZED_OPTIONS } from './systems/centralized.js';
export { DEFAULT_RAY_SERVE_OPTIONS } from './systems/ray-serve.js';
export type { RayServeOptions } from './systems/ray-serve.js';
export type { CentralizedOptions } from './systems/centralized.js';
export { DEFAULT_EPARA_OPTIONS, DEFAULT_SYNC_OPTIONS } from './systems/epara-options.js';
export type { EparaSystemOptions, SyncOptions } from './systems/epara-options.js';
export { EXPERIMENTS, runExperiment } from './experiments/registry.js';
export type { ExperimentId } from './experiments/registry.js';
export type { ExperimentContext, Comparison } from './experiments/common.js';
export { DEPLOYABLE_BASELINES, UPPER_BOUND, MAIN_SYSTEMS, compare, minServiceAttainment } from './experiments/common.js';
export { runLoadSweep } from './experiments/load-sweep.js';
export { renderSvgChart } from './report/svg-chart.js';
export { renderMarkdown, writeReport } from './report/write-report.js';
export type { ExperimentReport, Chart, ChartSeries, Table } from './report/types.js';
export { main as runCli } from './cli/cli.js';
export type { BurstProcess, ZipfOrigins } from './workload/workload.js';
export type { Contender, ContenderResult } from './experiments/common.js';
export type { DropReason } from './world/types.js';
export type { TritonReplica, TritonPlacementInput } from './systems/triton-config.js';
