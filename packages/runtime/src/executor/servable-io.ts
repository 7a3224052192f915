import { EparaError, invalidOption } from '@epara/core';
import type { LoadedModelInfo, ModelIoInfo } from '../devices/device-port.js';
import type { ExecutorServiceOptions } from './executor-options.js';
import { TENSOR_TYPES } from './model-inputs.js';

/**
 * Checks, once a model is loaded, that the service can be served by it: every input is a tensor of a type
 * EPARA carries (onnxruntime-node feeds nothing else), every output a run fetches is one (it returns nothing
 * else: a model whose sequence or map output is not fetched still serves its tensors), and the outputs and state
 * the service names exist.
 *
 * @throws EparaError `LOAD_FAILED` naming an input or fetched output that is not such a tensor; `INVALID_OPTIONS`
 * naming an `outputNames` or `stateful.state` entry the model does not have.
 */
export function checkServableIo(info: LoadedModelInfo, service: ExecutorServiceOptions): void {
  const outputs = new Map(info.outputs.map((o) => [o.name, o]));
  const inputs = new Map(info.inputs.map((i) => [i.name, i]));
  const names = (m: ReadonlyMap<string, ModelIoInfo>): string => [...m.keys()].join(', ');
  for (const name of service.outputNames ?? []) if (!outputs.has(name)) invalidOption(`service.outputNames`, name, `an output of the model (${names(outputs)})`);
  for (const [input, output] of Object.entries(service.stateful?.state ?? {})) {
    if (!inputs.has(input)) invalidOption(`service.stateful.state`, input, `an input of the model (${names(inputs)})`);
    if (!outputs.has(output)) invalidOption(`service.stateful.state.${input}`, output, `an output of the model (${names(outputs)})`);
  }
  // Tensors travel in plain objects keyed by name: assigning '__proto__' replaces the object's prototype.
  for (const v of [...info.inputs, ...info.outputs]) if (v.name === '__proto__') refuse(service.id, `the model names a value '__proto__', which EPARA cannot key a tensor by`);
  for (const i of info.inputs) if (!carried(i)) refuse(service.id, `input '${i.name}' is ${what(i)}, which onnxruntime-node cannot feed`);
  const fetched = service.outputNames ? [...service.outputNames, ...Object.values(service.stateful?.state ?? {})] : [...outputs.keys()];
  for (const name of fetched) {
    const o = outputs.get(name)!;
    if (carried(o)) continue;
    const tensors = info.outputs.filter(carried).map((x) => x.name);
    const hint = tensors.length > 0 ? `; list the outputs to return in outputNames (tensors: ${tensors.join(', ')})` : '';
    refuse(service.id, `output '${name}' is ${what(o)}, which onnxruntime-node cannot return${hint}`);
  }
}

/**
 * Whether onnxruntime-node can feed or return the value as EPARA carries it: a tensor of one of the `TensorType`s.
 * A model may declare others at its boundary — `int4`/`uint4` (onnxruntime-node loads the model, refuses to
 * feed such an input, and returning such an output ends the whole process out of memory), `bfloat16`, float8 or
 * complex (onnxruntime refuses the model) — which no request could then use.
 */
export function carried(io: ModelIoInfo): boolean {
  return io.nonTensor === undefined && TENSOR_TYPES.has(io.type);
}

/**
 * What a value EPARA cannot carry is, for a message: `a sequence (not a tensor)`, `an optional (not a tensor)`,
 * `an int4 tensor (a type onnxruntime-node does not hand over)`.
 */
export function what(io: ModelIoInfo): string {
  if (io.nonTensor === undefined) return `${String(io.type).startsWith('i') ? 'an' : 'a'} ${String(io.type)} tensor (a type onnxruntime-node does not hand over)`;
  return io.nonTensor === 'unknown' ? 'not a tensor' : `${io.nonTensor === 'optional' ? 'an' : 'a'} ${io.nonTensor} (not a tensor)`;
}

function refuse(serviceId: string, why: string): never {
  throw new EparaError('LOAD_FAILED', `service ${serviceId}: ${why}`, { serviceId });
}
