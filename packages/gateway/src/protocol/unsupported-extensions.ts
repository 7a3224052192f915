/** One of Triton's extensions the gateway does not implement, and what a client does instead. */
export interface UnsupportedExtension {
  readonly name: string;
  readonly instead: string;
}

export const SYSTEM_SHARED_MEMORY: UnsupportedExtension = { name: "Triton's system shared memory extension", instead: 'send tensors in the request body' };
export const CUDA_SHARED_MEMORY: UnsupportedExtension = { name: "Triton's CUDA shared memory extension", instead: 'send tensors in the request body' };
export const TRACE: UnsupportedExtension = { name: "Triton's trace extension", instead: 'requests are traced through their traceparent header' };
export const LOGGING: UnsupportedExtension = { name: "Triton's logging extension", instead: "the log level is set in the server's configuration" };
export const GENERATE: UnsupportedExtension = { name: "Triton's generate extension", instead: 'send the tensors to /infer' };

/** The answer's message, the same over HTTP (501) and gRPC (`UNIMPLEMENTED`). */
export function unsupportedMessage(e: UnsupportedExtension): string {
  return `${e.name} is not supported by this server: ${e.instead}`;
}

/** Triton's gRPC methods (on `inference.GRPCInferenceService`) of the extensions above. */
export const UNSUPPORTED_GRPC_METHODS: ReadonlyMap<string, UnsupportedExtension> = new Map([
  ...['Status', 'Register', 'Unregister'].flatMap((m) => [
    [`SystemSharedMemory${m}`, SYSTEM_SHARED_MEMORY],
    [`CudaSharedMemory${m}`, CUDA_SHARED_MEMORY],
  ] as const),
  ['TraceSetting', TRACE],
  ['LogSettings', LOGGING],
]);
