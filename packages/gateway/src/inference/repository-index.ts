import { EparaError } from '@epara/core';
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

/**
 * Checks the repository a request names (Triton's `/v2/repository/{repository}/…` routes, the `repository_name`
 * of the repository RPCs). The gateway serves one repository, the models of its configuration, named after the
 * server (`GET /v2`'s `name`): that name, or none, is it.
 * @throws EparaError `UNKNOWN_SERVICE` (404, gRPC `NOT_FOUND`) for another name
 */
export function checkRepository(server: string, asked: string | undefined): void {
  if (asked === undefined || asked === '' || asked === server) return;
  throw new EparaError('UNKNOWN_SERVICE', `unknown model repository ${JSON.stringify(asked)}: this server has one, ${JSON.stringify(server)}`, { field: 'repository_name' });
}
