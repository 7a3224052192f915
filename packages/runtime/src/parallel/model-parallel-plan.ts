import { EparaError, type TensorType } from '@epara/core';
import type { LoadedModelInfo } from '../devices/device-port.js';
import { carried, what } from '../executor/servable-io.js';

/** How values flow through a loaded pipeline. */
export interface PipelineDataflow {
  /** Per stage: the values it reads and the values it produces. */
  readonly stages: readonly { readonly inputs: readonly string[]; readonly outputs: readonly string[] }[];
  /** Values a request must provide, with their element types. */
  readonly requestInputs: ReadonlyMap<string, TensorType>;
  /** Values returned per item. */
  readonly outputNames: readonly string[];
  /** Index of the last stage that reads each value (`Infinity` for returned outputs). */
  readonly lastUse: ReadonlyMap<string, number>;
}

/**
 * Works out the dataflow of a pipeline from what each loaded stage declares. A stage output that is not a
 * tensor EPARA carries (a ZipMap's sequence of maps, an int4 tensor) and that nothing reads or returns is not
 * fetched.
 *
 * @throws EparaError `INVALID_OPTIONS` when a requested output is produced by no stage; `LOAD_FAILED` naming a
 * stage input, a returned output or a value handed between stages that is not a tensor (onnxruntime-node can
 * neither feed nor return one), or a stage whose model has no outputs.
 */
export function planDataflow(infos: readonly LoadedModelInfo[], outputNames?: readonly string[]): PipelineDataflow {
  const refuse = (why: string): never => {
    throw new EparaError('LOAD_FAILED', `pipeline: ${why}`, {});
  };
  for (const [i, info] of infos.entries()) for (const v of info.inputs) if (!carried(v)) refuse(`stage ${i} input '${v.name}' is ${what(v)}, which onnxruntime-node cannot feed`);
  // A stage model with no outputs at all loads, and then fails every run (onnxruntime fetches nothing).
  for (const [i, info] of infos.entries()) if (info.outputs.length === 0) refuse(`stage ${i} returns nothing: its model has no outputs, so no later stage or answer can read it`);
  const flow = plan(infos, outputNames);
  const nonTensor = new Map(infos.flatMap((info) => info.outputs.filter((v) => !carried(v)).map((v) => [v.name, v] as const)));
  if (nonTensor.size === 0) return flow;
  const tensors = infos.flatMap((info) => info.outputs.filter(carried).map((v) => v.name));
  for (const [name, v] of nonTensor) {
    const use = flow.lastUse.get(name);
    if (use === Number.POSITIVE_INFINITY) refuse(`output '${name}' is ${what(v)}, which onnxruntime-node cannot return; list the outputs to return in outputNames (tensors: ${tensors.join(', ')})`);
    if (use !== undefined) refuse(`value '${name}' is ${what(v)}, which onnxruntime-node cannot hand from one stage to the next (stage ${use} reads it)`);
  }
  const stages = flow.stages.map((s, i) => {
    const outputs = s.outputs.filter((name) => !nonTensor.has(name));
    if (outputs.length === 0) refuse(`stage ${i} would return nothing: its outputs (${s.outputs.join(', ')}) are not tensors, and nothing reads or returns them`);
    return { inputs: s.inputs, outputs };
  });
  return { ...flow, stages };
}

function plan(infos: readonly LoadedModelInfo[], outputNames?: readonly string[]): PipelineDataflow {
  const stages = infos.map((info) => ({ inputs: info.inputs.map((v) => v.name), outputs: info.outputs.map((v) => v.name) }));
  const produced = new Set<string>();
  const requestInputs = new Map<string, TensorType>();
  infos.forEach((info, i) => {
    for (const v of info.inputs) if (!produced.has(v.name) && !requestInputs.has(v.name)) requestInputs.set(v.name, v.type);
    for (const name of stages[i]!.outputs) produced.add(name);
  });
  const lastUse = new Map<string, number>();
  stages.forEach((s, i) => s.inputs.forEach((name) => lastUse.set(name, i)));
  const outputs = outputNames ?? stages.flatMap((s, i) => s.outputs.filter((name) => !((lastUse.get(name) ?? -1) > i)));
  for (const name of outputs) {
    if (!produced.has(name)) {
      throw new EparaError('INVALID_OPTIONS', `output ${name} is produced by no stage`, { field: 'outputNames', value: name });
    }
    lastUse.set(name, Number.POSITIVE_INFINITY);
  }
  return { stages, requestInputs, outputNames: outputs, lastUse };
}
