import type { ResolvedGatewayModel } from '../gateway-options.js';
import type { ModelMetadata, TensorMetadata } from '../protocol/infer-types.js';

/**
 * Protocol extensions the gateway implements (`GET /v2`, `ServerMetadata`), by Triton's names where they are
 * Triton's: binary tensors, classification, statistics, the model repository (index, load, unload), the model
 * configuration (`/config`, `ModelConfig`) and request parameters (passed through and echoed); then EPARA's own.
 */
export const EXTENSIONS: readonly string[] = ['binary_tensor_data', 'classification', 'statistics', 'model_repository', 'model_configuration', 'parameters', 'epara_deadline_priority'];

/** Triton's model configuration `data_type` of each protocol data type. */
const CONFIG_DATA_TYPE: Readonly<Record<string, string>> = { BYTES: 'TYPE_STRING', BF16: 'TYPE_BF16' };

/**
 * Triton's model configuration (`GET /v2/models/{name}/config`, what tritonclient's `get_model_config` and
 * perf_analyzer read): `max_batch_size` 0, so each tensor's `dims` is its whole shape, batch dimension included.
 */
export function modelConfigJson(m: ResolvedGatewayModel): Record<string, unknown> {
  const tensor = ({ name, datatype, shape, optional }: TensorMetadata & { readonly optional?: boolean }): Record<string, unknown> => ({
    name,
    data_type: CONFIG_DATA_TYPE[datatype] ?? `TYPE_${datatype}`,
    dims: shape,
    ...(optional === true ? { optional: true } : {}),
  });
  return { name: m.name, platform: m.platform, backend: m.platform === 'onnxruntime_onnx' ? 'onnxruntime' : '', max_batch_size: 0, input: m.inputs.map(tensor), output: m.outputs.map(tensor) };
}

/** The protocol's model metadata object. */
export function metadataJson(m: ResolvedGatewayModel): ModelMetadata {
  const plain = ({ name, datatype, shape }: TensorMetadata): TensorMetadata => ({ name, datatype, shape });
  return { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs.map(plain), outputs: m.outputs.map(plain) };
}
