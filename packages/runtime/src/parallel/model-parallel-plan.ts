import { EparaError, type TensorType } from '@epara/core';
import type { LoadedModelInfo } from '../devices/device-port.js';

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
 * Works out the dataflow of a pipeline from what each loaded stage declares.
 *
 * @throws EparaError `INVALID_OPTIONS` when a requested output is produced by no stage.
 */
export function planDataflow(infos: readonly LoadedModelInfo[], outputNames?: readonly string[]): PipelineDataflow {
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
