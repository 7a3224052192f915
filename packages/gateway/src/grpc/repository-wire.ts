import type { RepositoryIndexEntry } from '../inference/repository-index.js';
import { messageField, stringField } from './message-fields.js';
import type { Fields } from './message-fields.js';
import { WireReader } from './proto-wire.js';

/*
 * Triton's repository RPCs (`grpc_service.proto`; the shipped .proto declares them too, for reflection): their few
 * fields are read and written by hand.
 */

/** `RepositoryIndexRequest { string repository_name = 1; bool ready = 2; }`. */
export function decodeRepositoryIndexRequest(b: Buffer): { readonly repository: string; readonly ready: boolean } {
  const r = new WireReader(b);
  let ready = false;
  let repository = '';
  while (!r.done) {
    const tag = r.uint32();
    if (tag === 0x10) ready = r.uint32() !== 0;
    else if (tag === 0x0a) repository = r.string();
    else r.skip(tag & 7, tag >>> 3);
  }
  return { repository, ready };
}

/** `RepositoryIndexResponse { repeated ModelIndex models = 1; }`, each `{ name 1, version 2, state 3, reason 4 }`. */
export function encodeRepositoryIndexResponse(entries: readonly RepositoryIndexEntry[]): Buffer {
  const f: Fields = [];
  for (const e of entries) {
    const m: Fields = [];
    stringField(m, 1, e.name);
    stringField(m, 2, e.version);
    stringField(m, 3, e.state);
    stringField(m, 4, e.reason ?? '');
    messageField(f, 1, Buffer.concat(m));
  }
  return Buffer.concat(f);
}

/**
 * `RepositoryModelLoadRequest` / `RepositoryModelUnloadRequest { string repository_name = 1; string model_name = 2;
 * map<string, ModelRepositoryParameter> parameters = 3; }`: the repository, the model and the names of its parameters.
 */
export function decodeRepositoryModelRequest(b: Buffer): { readonly repository: string; readonly model: string; readonly parameters: Readonly<Record<string, true>> } {
  const r = new WireReader(b);
  let model = '';
  let repository = '';
  const parameters: Record<string, true> = {};
  while (!r.done) {
    const tag = r.uint32();
    if (tag === 0x12) model = r.string();
    else if (tag === 0x0a) repository = r.string();
    else if (tag === 0x1a) {
      const [from, to] = r.bytesRange();
      const entry = new WireReader(b, from, to);
      while (!entry.done) {
        const t = entry.uint32();
        if (t === 0x0a) parameters[entry.string()] = true;
        else entry.skip(t & 7, t >>> 3);
      }
    } else r.skip(tag & 7, tag >>> 3);
  }
  return { repository, model, parameters };
}
