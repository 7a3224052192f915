import { EparaError } from '@epara/core';
import type { InferInput, InferOutput, InferParameters, InferRequest, InferRequestedOutput, InferResponse } from '../protocol/infer-types.js';
import { outputJsonText } from '../protocol/tensor-codec.js';
import { parameterText, parametersJson } from './exact-parameters.js';
import type { ParameterText } from './exact-parameters.js';

/** A request read from an HTTP body: the sent digits of its parameters past 2^53 ride along, for the answer. */
export type HttpInferRequest = InferRequest & { readonly parameterText?: ParameterText | undefined };

/** A response to an HTTP request: its parameters (the request's, echoed) are written with the digits sent. */
export type HttpInferResponse = InferResponse & { readonly parameterText?: ParameterText | undefined };

/** The binary tensor data extension's header: length of the JSON part at the start of the body. */
export const HEADER_LENGTH = 'inference-header-content-length';

const bad = (message: string, field?: string): EparaError => new EparaError('INVALID_INPUT', message, field ? { field } : {});

/**
 * Parses an infer request body: plain JSON, or (with `Inference-Header-Content-Length`) a JSON header followed
 * by the inputs' binary data in input order, each as long as its `binary_data_size` parameter says.
 *
 * @throws EparaError `INVALID_INPUT` naming what is wrong (bad JSON, lengths that do not add up…).
 */
export function parseInferBody(body: Buffer, model: string, version: string | undefined, headerLength: string | undefined): HttpInferRequest {
  let jsonEnd = body.length;
  if (headerLength !== undefined) {
    const n = /^\d+$/.test(headerLength.trim()) ? Number(headerLength) : Number.NaN;
    if (!Number.isSafeInteger(n) || n > body.length) throw bad(`Inference-Header-Content-Length ${JSON.stringify(headerLength)} is not an integer between 0 and the body length ${body.length}`, 'Inference-Header-Content-Length');
    jsonEnd = n;
  }
  let json: unknown;
  const text = body.toString('utf8', 0, jsonEnd);
  try {
    json = JSON.parse(text);
  } catch (err) {
    if (headerLength !== undefined) {
      // A length that cuts the JSON short (or leaves none: 0) is the header's fault, not the body's.
      throw bad(`the JSON header, the first ${jsonEnd} bytes of the body as Inference-Header-Content-Length says, is not valid JSON: ${(err as Error).message}`, 'Inference-Header-Content-Length');
    }
    throw bad(`request body is not valid JSON: ${(err as Error).message}${binaryHint(body)}`, 'body');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('request body must be a JSON object', 'body');
  const j = json as Record<string, unknown>;
  if (!Array.isArray(j['inputs'])) throw bad('request body needs an "inputs" array', 'inputs');
  const binary = body.subarray(jsonEnd);
  let offset = 0;
  const inputs = (j['inputs'] as unknown[]).map((raw, i): InferInput => {
    if (typeof raw !== 'object' || raw === null) throw bad(`inputs[${i}] must be an object`, `inputs[${i}]`);
    const x = raw as Record<string, unknown>;
    const parameters = params(x['parameters'], `inputs[${i}].parameters`);
    const size = parameters?.['binary_data_size'];
    const base = { name: x['name'] as string, datatype: x['datatype'] as string, shape: x['shape'] as number[], ...(parameters ? { parameters } : {}) };
    const data = x['data'] ?? undefined;
    if (size === undefined) return { ...base, data };
    if (headerLength === undefined) throw bad(`inputs[${i}] has binary_data_size but the request has no Inference-Header-Content-Length header`, `inputs[${i}].parameters.binary_data_size`);
    if (data !== undefined) throw bad(`inputs[${i}] has both "data" and binary_data_size`, `inputs[${i}]`);
    if (!Number.isSafeInteger(size) || (size as number) < 0) throw bad(`inputs[${i}].parameters.binary_data_size must be a non-negative integer`, `inputs[${i}].parameters.binary_data_size`);
    if (offset + (size as number) > binary.length) {
      throw bad(`inputs[${i}] claims ${size as number} binary bytes at offset ${offset}, but the body has only ${binary.length} bytes after the JSON header`, `inputs[${i}].parameters.binary_data_size`);
    }
    const slice = binary.subarray(offset, offset + (size as number));
    offset += size as number;
    return { ...base, raw: slice };
  });
  if (offset !== binary.length) throw bad(`the body has ${binary.length - offset} bytes of binary data no input claims (binary_data_size values add up to ${offset})`, 'body');
  const outputs = j['outputs'] === undefined || j['outputs'] === null ? undefined : requested(j['outputs']);
  const parameters = params(j['parameters'], 'parameters');
  const id = j['id'] ?? undefined;
  if (id !== undefined && typeof id !== 'string') throw bad('"id" must be a string', 'id');
  const sent = parameterText(text, parameters);
  return { model, ...(version !== undefined ? { version } : {}), ...(id !== undefined ? { id } : {}), ...(parameters ? { parameters } : {}), inputs, ...(outputs ? { outputs } : {}), ...(sent ? { parameterText: sent } : {}) };
}

/**
 * A JSON object followed by more bytes is most often binary tensor data sent without its header: the hint
 * names the header and the JSON part's length.
 */
function binaryHint(body: Buffer): string {
  const end = jsonObjectEnd(body);
  return end === undefined || end === body.length ? '' : `; binary tensor data needs the ${HEADER_NAME} header (the length of the JSON part, here ${end} bytes)`;
}

const HEADER_NAME = 'Inference-Header-Content-Length';

/** Where the JSON object at the start of `body` ends (the index after its closing brace), or `undefined`. */
function jsonObjectEnd(body: Buffer): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return i + 1;
      if (depth < 0) return undefined;
    } else if (depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return undefined;
  }
  return undefined;
}

function requested(v: unknown): InferRequestedOutput[] {
  if (!Array.isArray(v)) throw bad('"outputs" must be an array', 'outputs');
  return v.map((o, i) => {
    if (typeof o !== 'object' || o === null || typeof (o as { name?: unknown }).name !== 'string') throw bad(`outputs[${i}] must be an object with a "name"`, `outputs[${i}]`);
    const p = params((o as { parameters?: unknown }).parameters, `outputs[${i}].parameters`);
    return { name: (o as { name: string }).name, ...(p ? { parameters: p } : {}) };
  });
}

function params(v: unknown, field: string): InferParameters | undefined {
  // null is absent: clients that serialize optional fields they did not set (pydantic models) send it.
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${field} must be an object`, field);
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw bad(`${field}.${k} must be a string, number or boolean`, `${field}.${k}`);
  }
  return v as InferParameters;
}

/** Encodes a response: JSON, or the JSON header plus binary outputs when any output is binary. */
export function encodeInferResponse(r: HttpInferResponse): { body: string | Buffer; headerLength?: number } {
  const binary: Uint8Array[] = [];
  // Written as text around each output's data: INT64 values are exact digits, which no JSON number from a double is.
  let outputs = '';
  for (const o of r.outputs) {
    if (outputs !== '') outputs += ',';
    if (o.binary) {
      binary.push(o.bytes);
      outputs += JSON.stringify(binaryOutputHeader(o));
    } else outputs += `${JSON.stringify({ name: o.name, datatype: o.datatype, shape: o.shape }).slice(0, -1)},"data":${outputJsonText(o)}}`;
  }
  const json = `${responseEnvelope(r)},"outputs":[${outputs}]}`;
  return binary.length === 0 ? { body: json } : withBinaryOutputs(Buffer.from(json), binary);
}

/**
 * A response's fields besides its outputs, in the order the encoders write them, as JSON text without its closing
 * brace (the outputs follow).
 */
export function responseEnvelope(r: HttpInferResponse): string {
  return `${JSON.stringify({ model_name: r.model, model_version: r.version, ...(r.id !== undefined ? { id: r.id } : {}) }).slice(0, -1)},"parameters":${parametersJson(r.parameters, r.parameterText)}`;
}

/** The JSON entry of an output sent as binary data (its bytes follow the JSON header). */
export function binaryOutputHeader(o: InferOutput): Record<string, unknown> {
  return { name: o.name, datatype: o.datatype, shape: o.shape, parameters: { binary_data_size: o.bytes.byteLength } };
}

/** The binary extension's body: the JSON header, then each binary output's bytes, with the header's length. */
export function withBinaryOutputs(head: Buffer, binary: readonly Uint8Array[]): { body: Buffer; headerLength: number } {
  return { body: Buffer.concat([head, ...binary]), headerLength: head.length };
}
