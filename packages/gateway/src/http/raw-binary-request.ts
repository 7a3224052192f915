import { EparaError, TENSOR_ELEMENT_BYTES } from '@epara/core';
import type { ResolvedGatewayModel } from '../gateway-options.js';
import { tensorTypeOf } from '../protocol/datatypes.js';
import type { InferRequest } from '../protocol/infer-types.js';

const bad = (message: string): EparaError => new EparaError('INVALID_INPUT', message, { field: 'Inference-Header-Content-Length' });

/**
 * Whether an `Inference-Header-Content-Length` value announces Triton's raw binary request: `0`, a body without
 * a JSON header, all of it the data of the model's one input.
 */
export function isRawBinaryRequest(headerLength: string | undefined): boolean {
  return headerLength !== undefined && /^\s*0+\s*$/.test(headerLength);
}

/**
 * Triton's raw binary request (`Inference-Header-Content-Length: 0`): the whole body is the data of the
 * model's only input, whose shape is deduced from the body's size — the one free dimension takes what the bytes
 * hold (the batch dimension, free in the metadata, is 1 when another dimension is free too, as Triton runs such a
 * request as a batch of one). A `BYTES` input must hold one element: the body is that element. Every output is
 * answered, in binary form.
 *
 * @throws EparaError `INVALID_INPUT` for a model with another number of inputs, a shape that cannot be deduced
 * (two free dimensions, an input of open rank), or a body whose size no shape of the input matches.
 */
export function rawBinaryRequest(m: ResolvedGatewayModel, body: Buffer, version: string | undefined): InferRequest {
  if (m.inputs.length !== 1) {
    throw bad(`a raw binary request (Inference-Header-Content-Length: 0) is the data of a model's only input, and model ${m.name} has ${m.inputs.length === 0 ? 'no input metadata' : `${m.inputs.length} inputs`}: send a JSON header`);
  }
  const input = m.inputs[0]!;
  const type = tensorTypeOf(input.datatype);
  const shape = [...input.shape];
  const free = (): number[] => shape.flatMap((d, i) => (d < 0 ? [i] : []));
  // The batch dimension, when the model batches on it, is one item like Triton's batch of one.
  if (m.splitItems && shape[0] !== undefined && shape[0] < 0 && (free().length > 1 || type === 'string')) shape[0] = 1;
  if (type === undefined || input.anyRank === true || free().length > 1) {
    throw bad(`the shape of input ${input.name} (${input.datatype} [${input.shape.join(',')}]${input.anyRank === true ? ', any rank' : ''}) cannot be deduced from the size of a raw binary request: send a JSON header`);
  }
  const base = { model: m.name, ...(version !== undefined ? { version } : {}), parameters: { binary_data_output: true } };
  if (type === 'string') {
    if (free().length > 0 || shape.reduce((a, b) => a * b, 1) !== 1) throw bad(`a raw binary request for BYTES input ${input.name} needs the input to hold one element; its shape is [${input.shape.join(',')}]: send a JSON header`);
    const raw = Buffer.allocUnsafe(4 + body.length);
    raw.writeUInt32LE(body.length, 0);
    body.copy(raw, 4);
    return { ...base, inputs: [{ name: input.name, datatype: input.datatype, shape, raw }] };
  }
  const elementBytes = TENSOR_ELEMENT_BYTES[type];
  const fixed = shape.reduce((a, d) => (d < 0 ? a : a * d), 1) * elementBytes;
  const [axis] = free();
  if (axis === undefined ? body.length !== fixed : body.length % fixed !== 0) {
    throw bad(`a raw binary request of ${body.length} bytes does not fill input ${input.name} (${input.datatype} [${input.shape.join(',')}]): it takes ${axis === undefined ? `exactly ${fixed}` : `a multiple of ${fixed}`} bytes`);
  }
  if (axis !== undefined) shape[axis] = body.length / fixed;
  return { ...base, inputs: [{ name: input.name, datatype: input.datatype, shape, raw: body }] };
}
