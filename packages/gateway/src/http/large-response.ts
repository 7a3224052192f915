import { setImmediate as nextTurn } from 'node:timers/promises';
import type { InferResponse } from '../protocol/infer-types.js';
import { outputJsonText } from '../protocol/tensor-codec.js';
import { binaryOutputHeader, responseEnvelope, withBinaryOutputs } from './infer-body.js';
import type { HttpInferResponse } from './infer-body.js';

/** Responses with more JSON values than this are encoded in slices, giving the event loop a turn between them. */
export const LARGE_JSON_VALUES = 1 << 16;
/** Values per slice of {@link encodeLargeInferResponse}. */
const SLICE = 1 << 16;

/** How many values the JSON part of a response holds. */
export function jsonValueCount(r: InferResponse): number {
  let n = 0;
  for (const o of r.outputs) if (!o.binary) n += o.data.length;
  return n;
}

/**
 * Encodes a response with large JSON outputs exactly as `encodeInferResponse` would, but one slice of values
 * at a time with a turn of the event loop between slices: one client asking for millions of values as JSON
 * (seconds of `JSON.stringify`) no longer freezes every other request, the mesh's heartbeats included.
 * Resolves `undefined` when `gone()` turns true between slices (the client left).
 */
export async function encodeLargeInferResponse(r: HttpInferResponse, gone: () => boolean): Promise<{ body: Buffer; headerLength?: number } | undefined> {
  const parts: Buffer[] = [Buffer.from(`${responseEnvelope(r)},"outputs":[`)];
  const binary: Uint8Array[] = [];
  for (let k = 0; k < r.outputs.length; k++) {
    const o = r.outputs[k]!;
    const sep = k > 0 ? ',' : '';
    if (o.binary) {
      binary.push(o.bytes);
      parts.push(Buffer.from(sep + JSON.stringify(binaryOutputHeader(o))));
      continue;
    }
    const meta = JSON.stringify({ name: o.name, datatype: o.datatype, shape: o.shape });
    parts.push(Buffer.from(`${sep}${meta.slice(0, -1)},"data":[`));
    for (let i = 0; i < o.data.length; i += SLICE) {
      const text = outputJsonText(o, i, Math.min(o.data.length, i + SLICE));
      parts.push(Buffer.from((i > 0 ? ',' : '') + text.slice(1, -1)));
      await nextTurn();
      if (gone()) return undefined;
    }
    parts.push(Buffer.from(']}'));
  }
  parts.push(Buffer.from(']}'));
  const json = Buffer.concat(parts);
  if (binary.length === 0) return { body: json };
  return withBinaryOutputs(json, binary);
}
