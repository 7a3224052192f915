import type { ResolvedGatewayModel } from '../gateway-options.js';
import type { InferCore } from './infer-core.js';

/** One row of Triton's repository index. */
export interface RepositoryIndexEntry {
  readonly name: string;
  readonly version: string;
  readonly state: 'READY' | 'UNAVAILABLE';
  readonly reason?: string;
}

/**
 * Triton's repository index (`POST /v2/repository/index`, the `RepositoryIndex` RPC): every version of every
 * model with its state (`READY` when the model is ready), or the ready ones only.
 */
export function repositoryIndex(core: InferCore, models: Iterable<ResolvedGatewayModel>, onlyReady: boolean): RepositoryIndexEntry[] {
  const out: RepositoryIndexEntry[] = [];
  for (const m of models) {
    const ready = core.modelReady(m);
    if (onlyReady && !ready) continue;
    const reason = ready ? undefined : (m.unavailable ?? (core.draining ? 'the server is draining' : 'no ready instance in the cluster'));
    for (const version of m.versions) out.push({ name: m.name, version, state: ready ? 'READY' : 'UNAVAILABLE', ...(reason !== undefined ? { reason } : {}) });
  }
  return out;
}
