import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { oipProtoPath } from '@epara/gateway';
import { afterAll, beforeAll } from 'vitest';
import { startServe } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

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

/** An `epara serve` process and a grpc-js client of it, for one test file. */
export interface ServedOipGrpc<C> {
  readonly serve: ServeProcess;
  readonly client: Client & Record<string, C>;
}

/**
 * Starts an `epara serve` process with `config` (or the config a function builds then) before the file's tests and connects an {@link oipGrpcClient} to
 * its gRPC port; closes the client and stops the process after them. Read `serve` and `client` inside tests.
 */
export function servedOipGrpc<C>(config: string | (() => string), startTimeoutMs = 60_000): ServedOipGrpc<C> {
  let serve: ServeProcess | undefined;
  let client: (Client & Record<string, C>) | undefined;
  beforeAll(async () => {
    serve = await startServe(typeof config === 'string' ? config : config(), startTimeoutMs);
    client = oipGrpcClient<C>(serve.grpc);
  }, startTimeoutMs + 30_000);
  afterAll(async () => {
    client?.close();
    serve?.child.kill('SIGTERM');
    await serve?.exited;
  });
  return {
    get serve() {
      return serve!;
    },
    get client() {
      return client!;
    },
  };
}
