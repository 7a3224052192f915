import type { NamedTensors, TensorType } from '@epara/core';

/** One input or output of a loaded model. Symbolic dimensions (such as `batch`) are strings. */
export interface ModelIoInfo {
  readonly name: string;
  readonly type: TensorType;
  readonly dims: readonly (number | string)[];
}

/** A model as the worker receives it. */
export type BackendModelSource = { readonly path: string } | { readonly bytes: Uint8Array };

/** A session created by a backend inside a device worker. */
export interface BackendSession {
  readonly inputs: ModelIoInfo[];
  readonly outputs: ModelIoInfo[];
  /** Memory the session holds when the backend knows it; otherwise the worker measures it. */
  readonly memoryBytes?: number;
  /**
   * Runs synchronously from the worker's point of view (it may block the worker thread). With `into`, the
   * backend writes each named output into the given tensor (pre-allocated, of the right dims) and fetches only
   * those; what it returns for them is then ignored by the caller, which reads `into`.
   */
  run(feeds: NamedTensors, outputNames?: readonly string[], into?: NamedTensors): Promise<NamedTensors>;
  release(): Promise<void>;
}

/** Options for creating a session. */
export interface BackendSessionOptions {
  readonly threads: number;
  readonly executionProvider: 'cpu' | 'cuda';
  readonly deviceId: number;
}

/**
 * The inference engine a device worker drives. `createSession` must throw when the requested execution
 * provider cannot be used; the worker then retries on the CPU. onnxruntime-node is adapted in
 * `ort-backend.ts`; `fake-backend.ts` is a pure-JS stand-in for fast tests.
 */
export interface InferenceBackend {
  createSession(source: BackendModelSource, options: BackendSessionOptions): Promise<BackendSession>;
}

/** Which backend a device worker uses (serializable: it crosses into the worker). */
export type BackendSpec =
  | { readonly kind: 'ort' }
  | {
      readonly kind: 'fake';
      /** Whether the fake accepts the `cuda` provider. @default false */
      readonly cudaAvailable?: boolean;
    };
