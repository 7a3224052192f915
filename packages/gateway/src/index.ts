/**
 * `@epara/gateway`: the Open Inference Protocol v2 (KServe v2 / Triton) front door of an EPARA node, over
 * HTTP/REST (JSON and binary tensors) and gRPC, and `epara serve <config>`, which starts an executor, a mesh
 * node and the gateway from one declarative file. Every request goes through `node.submit`, so it is
 * offloaded like any other.
 *
 * @example
 * ```ts
 * import { createGateway } from '@epara/gateway';
 * const gateway = createGateway({ node, models: [{ name: 'cls', inputs: [], outputs: [] }] });
 * await gateway.start();          // http://127.0.0.1:8000/v2, gRPC on 127.0.0.1:8001
 * ```
 *
 * @packageDocumentation
 */

export { createGateway, Gateway } from './gateway.js';
export type { GatewayAddresses } from './gateway.js';
export { resolveGatewayOptions, GATEWAY_DEFAULTS } from './gateway-options.js';
export type { GatewayOptions, GatewayModel, GatewayNode, GatewayTensor, HttpHandler, ItemAxes, ListenOptions, ModelControl, ResolvedGatewayModel, ResolvedGatewayOptions } from './gateway-options.js';
export { ERROR_STATUS, RETRY_AFTER_SECONDS, errorStatusOf } from './errors/error-status.js';
export type { ErrorStatus } from './errors/error-status.js';
export type { GrpcStatusCode } from './grpc/grpc-status.js';
export { DEADLINE_PARAMETER, PRIORITY_PARAMETER, DEADLINE_HEADER, PRIORITY_HEADER, TIMEOUT_PARAMETER } from './protocol/request-controls.js';
export { DATATYPE_OF, tensorTypeOf } from './protocol/datatypes.js';
export type { OipDatatype } from './protocol/datatypes.js';
export type { InferParameter, InferParameters, ModelMetadata, TensorMetadata } from './protocol/infer-types.js';
export { oipProtoPath } from './grpc/proto-path.js';
export { PROTO_LOADER_OPTIONS } from './grpc/grpc-server.js';
export { serveConfigSchema, serveConfigJsonSchema } from './serve/config-schema.js';
export type { ServeConfig, ServeServiceConfig } from './serve/config-schema.js';
export { parseServeConfig, loadServeConfig } from './serve/load-config.js';
export type { ConfigProblem } from './serve/load-config.js';
export { startServer } from './serve/start-server.js';
export { collectExecutionStatistics } from './serve/execution-statistics.js';
export type { ExecutionStatisticsCollector } from './serve/execution-statistics.js';
export type { BatchStatistics, DurationStat, ExecutionStatistics, InferenceStatistics, ModelStatistics } from './inference/model-statistics.js';
export type { StartServerOptions, RunningServer } from './serve/start-server.js';
