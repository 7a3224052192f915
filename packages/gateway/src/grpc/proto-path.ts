import { existsSync } from 'node:fs';
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
