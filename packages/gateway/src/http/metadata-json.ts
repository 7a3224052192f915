import type { ResolvedGatewayModel } from '../gateway-options.js';
import type { ModelMetadata, TensorMetadata } from '../protocol/infer-types.js';

/** Protocol extensions the gateway implements (`GET /v2`). */
export const EXTENSIONS: readonly string[] = ['binary_tensor_data', 'epara_deadline_priority'];

/** The protocol's model metadata object. */
export function metadataJson(m: ResolvedGatewayModel): ModelMetadata {
  const plain = ({ name, datatype, shape }: TensorMetadata): TensorMetadata => ({ name, datatype, shape });
  return { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs.map(plain), outputs: m.outputs.map(plain) };
}
