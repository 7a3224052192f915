import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Path of the protocol's `.proto` shipped in the package (`proto/grpc_predict_v2.proto`), found from the built
 * bundle (`dist/`) or from the sources (`src/grpc/`). Clients may load it with `@grpc/proto-loader`.
 */
export function oipProtoPath(): string {
  for (const rel of ['../proto/grpc_predict_v2.proto', '../../proto/grpc_predict_v2.proto']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('grpc_predict_v2.proto is missing from the @epara/gateway package');
}

/**
 * The folder of the shipped `.proto` files, and the health service's path in it (`grpc/health/v1/health.proto`, the
 * published file's own path, so that imports and reflection name it as clients know it).
 */
export function healthProto(): { readonly root: string; readonly file: string } {
  return { root: dirname(oipProtoPath()), file: 'grpc/health/v1/health.proto' };
}
