import type { NamedTensors, TensorType } from '@epara/core';

/**
 * One input or output of a loaded model. Symbolic dimensions (such as `batch`) are strings; a free dimension
 * the model leaves unnamed is `''` (onnxruntime) or a negative number.
 */
export interface ModelIoInfo {
  readonly name: string;
  readonly type: TensorType;
  readonly dims: readonly (number | string)[];
  /** The tensor's rank is open (the model gives it no shape): `dims` is empty, and not a scalar's. */
  readonly anyRank?: true;
  /**
   * (inputs) The model gives the input a default value (an initializer listed as an input): a run may leave it
   * out, and the backend then feeds the default.
   */
  readonly hasDefault?: true;
  /**
   * Set when the value is not a tensor (`'sequence'`, `'map'`, `'optional'`, `'sparse tensor'`, or `'unknown'`
   * when the backend cannot tell which): onnxruntime-node can neither feed nor return one. `type` and `dims` then
   * mean nothing.
   */
  readonly nonTensor?: 'sequence' | 'map' | 'optional' | 'sparse tensor' | 'unknown';
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
  /** Whether idle intra-op threads may spin (burning a core) instead of sleeping. */
  readonly spinWait: boolean;
  readonly executionProvider: 'cpu' | 'cuda';
  /** The provider's device ordinal (the CUDA device index). */
  readonly ordinal: number;
}

/**
 * The inference engine a device worker drives: the port a host implements to run models on something other
 * than onnxruntime-node. `createSession` must throw when the requested execution provider cannot be used; the
 * worker then retries on the CPU. Built in: onnxruntime-node (`ort-backend.ts`) and a pure-JS stand-in for
 * fast tests (`fake-backend.ts`); a host's own backend is a module named by {@link ModuleBackendSpec}.
 */
export interface InferenceBackend {
  createSession(source: BackendModelSource, options: BackendSessionOptions): Promise<BackendSession>;
}

/**
 * What a backend module exports as `createBackend`: called once per device worker, inside the worker thread,
 * with the spec's `options`.
 */
export type BackendModuleFactory = (options: unknown) => InferenceBackend | Promise<InferenceBackend>;

/**
 * A host's own backend: an ES module that exports `createBackend` ({@link BackendModuleFactory}). Each device
 * worker imports it (a worker thread cannot receive functions, so the backend travels as a module URL).
 */
export interface ModuleBackendSpec {
  readonly kind: 'module';
  /** The module, as a `file:` (or `data:`) URL; a plain string is read as a URL. */
  readonly url: URL | string;
  /** Passed to `createBackend`; must survive structured cloning. @default undefined */
  readonly options?: unknown;
}

/** Which backend a device worker uses (serializable: it crosses into the worker). */
export type BackendSpec =
  | { readonly kind: 'ort' }
  | {
      readonly kind: 'fake';
      /** Whether the fake accepts the `cuda` provider. @default false */
      readonly cudaAvailable?: boolean;
    }
  | ModuleBackendSpec;
