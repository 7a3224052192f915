import { createRequire } from 'node:module';
import type * as ProtoLoader from '@grpc/proto-loader';

let loaded: typeof ProtoLoader | undefined;

/**
 * `@grpc/proto-loader`, loaded at its first use: a server reads the shipped `.proto` files (with protobuf.js) only
 * when a call needs their codecs (a method other than `ModelInfer` and the hand-written ones, or reflection), not
 * at every start. Loading it and parsing the protocol's file was about a tenth of a server's start-up CPU.
 */
export function protoLoader(): typeof ProtoLoader {
  return (loaded ??= createRequire(import.meta.url)('@grpc/proto-loader') as typeof ProtoLoader);
}
