import type { TensorType } from '@epara/core';

/** A parameter value of the protocol (`parameters` objects of requests, responses and tensors). */
export type InferParameter = string | number | boolean;

/** Parameters by name. */
export type InferParameters = Readonly<Record<string, InferParameter>>;

/** One input tensor of a request, already separated from its transport (JSON `data`, or raw bytes). */
export interface InferInput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly parameters?: InferParameters;
  /** JSON form: flat or nested row-major array. */
  readonly data?: unknown;
  /** Raw form: little-endian row-major bytes (binary extension, gRPC `raw_input_contents`). */
  readonly raw?: Uint8Array;
}

/** An output a request asks for. */
export interface InferRequestedOutput {
  readonly name: string;
  readonly parameters?: InferParameters;
}

/** A transport-neutral inference request. */
export interface InferRequest {
  readonly model: string;
  readonly version?: string;
  readonly id?: string;
  readonly parameters?: InferParameters;
  readonly inputs: readonly InferInput[];
  readonly outputs?: readonly InferRequestedOutput[];
}

/** One output tensor of a response, as typed data; each transport encodes it its own way. */
export interface InferOutput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly type: TensorType;
  /** Little-endian row-major bytes (a view of the result tensor); for BYTES, each element's length (u32 LE) then its UTF-8. */
  readonly bytes: Uint8Array;
  /** Whether the client asked for this output in binary form (HTTP binary extension). */
  readonly binary: boolean;
  readonly data: ArrayLike<number | bigint | string>;
}

/** A transport-neutral inference response. */
export interface InferResponse {
  readonly model: string;
  readonly version: string;
  readonly id?: string;
  readonly parameters: InferParameters;
  readonly outputs: readonly InferOutput[];
}

/** Metadata of one tensor (`-1` is a variable dimension). */
export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** What `GET /v2/models/{name}` answers. */
export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}
