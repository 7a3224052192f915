import { EparaError } from '@epara/core';
import type { BackendModuleFactory, BackendSpec, InferenceBackend } from './backend.js';

/**
 * Creates the backend a device worker drives from its (cloned) spec: the built-in onnxruntime-node or fake
 * backend, or a host's module exporting `createBackend`. Runs inside the worker thread.
 *
 * @throws EparaError `LOAD_FAILED` when a backend module cannot be imported or exports no `createBackend`.
 */
export async function loadBackend(spec: BackendSpec): Promise<InferenceBackend> {
  if (spec.kind === 'fake') return (await import('./fake-backend.js')).createFakeBackend({ cudaAvailable: spec.cudaAvailable === true });
  if (spec.kind === 'ort') return (await import('./ort-backend.js')).createOrtBackend();
  const url = String(spec.url);
  let mod: { createBackend?: unknown };
  try {
    mod = (await import(url)) as { createBackend?: unknown };
  } catch (err) {
    throw new EparaError('LOAD_FAILED', `backend module ${url} could not be imported: ${err instanceof Error ? err.message : String(err)}`, { url }, { cause: err });
  }
  if (typeof mod.createBackend !== 'function') throw new EparaError('LOAD_FAILED', `backend module ${url} exports no createBackend function`, { url });
  const backend = await (mod.createBackend as BackendModuleFactory)(spec.options);
  if (typeof backend !== 'object' || backend === null || typeof backend.createSession !== 'function') {
    throw new EparaError('LOAD_FAILED', `backend module ${url}: createBackend returned no object with createSession`, { url });
  }
  return backend;
}
