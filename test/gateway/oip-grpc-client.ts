import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { oipProtoPath } from '@epara/gateway';

/**
 * A grpc-js client of the protocol's GRPCInferenceService built at run time by @grpc/proto-loader from the .proto
 * the gateway package ships, as an outside client would build it. `C` is the shape the test gives each method.
 */
export function oipGrpcClient<C>(address: string): Client & Record<string, C> {
  const def = loadSync(oipProtoPath(), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(def) as unknown as {
    inference: { GRPCInferenceService: new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, C> };
  };
  return new pkg.inference.GRPCInferenceService(address, credentials.createInsecure());
}
