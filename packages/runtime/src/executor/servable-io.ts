import { EparaError, invalidOption } from '@epara/core';
import type { LoadedModelInfo, ModelIoInfo } from '../devices/device-port.js';
import type { ExecutorServiceOptions } from './executor-options.js';

/**
 * Checks, once a model is loaded, that the service can be served by it: every input is a tensor (onnxruntime-node
 * feeds nothing else), every output a run fetches is one (it returns nothing else: a model whose sequence or map
 * output is not fetched still serves its tensors), and the outputs and state the service names exist.
 *
 * @throws EparaError `LOAD_FAILED` naming a non-tensor input or fetched output; `INVALID_OPTIONS` naming an
 * `outputNames` or `stateful.state` entry the model does not have.
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
  for (const i of info.inputs) if (i.nonTensor !== undefined) refuse(service.id, `input '${i.name}' is ${what(i)}, which onnxruntime-node cannot feed`);
  const fetched = service.outputNames ? [...service.outputNames, ...Object.values(service.stateful?.state ?? {})] : [...outputs.keys()];
  for (const name of fetched) {
    const o = outputs.get(name)!;
    if (o.nonTensor === undefined) continue;
    const tensors = info.outputs.filter((x) => x.nonTensor === undefined).map((x) => x.name);
    const hint = tensors.length > 0 ? `; list the outputs to return in outputNames (tensors: ${tensors.join(', ')})` : '';
    refuse(service.id, `output '${name}' is ${what(o)}, which onnxruntime-node cannot return${hint}`);
  }
}

/** What a value that is not a tensor is, for a message: `a sequence (not a tensor)`, `an optional (not a tensor)`. */
export function what(io: ModelIoInfo): string {
  return io.nonTensor === 'unknown' ? 'not a tensor' : `${io.nonTensor === 'optional' ? 'an' : 'a'} ${io.nonTensor} (not a tensor)`;
}

function refuse(serviceId: string, why: string): never {
  throw new EparaError('LOAD_FAILED', `service ${serviceId}: ${why}`, { serviceId });
}
