import type { ResolvedGatewayModel } from '../gateway-options.js';
import type { TensorMetadata } from '../protocol/infer-types.js';
import { modelConfigJson } from '../http/metadata-json.js';
import { varintSize } from './proto-wire.js';
import { field, messageField, stringField, varintField } from './message-fields.js';
import type { Fields } from './message-fields.js';

/** Triton's `inference.DataType` number of each protocol data type (`model_config.proto`). */
const DATA_TYPE: Readonly<Record<string, number>> = {
  BOOL: 1,
  UINT8: 2,
  UINT16: 3,
  UINT32: 4,
  UINT64: 5,
  INT8: 6,
  INT16: 7,
  INT32: 8,
  INT64: 9,
  FP16: 10,
  FP32: 11,
  FP64: 12,
  BYTES: 13,
  BF16: 14,
};

/** A repeated int64 field, packed (proto3's default; parsers read packed and unpacked alike). */
function packedInt64(fields: Fields, n: number, values: readonly number[]): void {
  if (values.length === 0) return;
  let len = 0;
  for (const v of values) len += varintSize(v);
  field(fields, 10 + 5 + len, (w) => {
    w.tag(n, 2);
    w.varint(len);
    for (const v of values) w.varint(v);
  });
}

/** `ModelInput` (dims field 4, optional 8) or `ModelOutput` (dims field 3): name 1, data_type 2. */
function tensor(t: TensorMetadata & { readonly optional?: boolean }, dimsField: 3 | 4): Buffer {
  const f: Fields = [];
  stringField(f, 1, t.name);
  varintField(f, 2, DATA_TYPE[t.datatype] ?? 0);
  packedInt64(f, dimsField, t.shape);
  if (dimsField === 4 && t.optional === true) varintField(f, 8, 1);
  return Buffer.concat(f);
}

/**
 * Triton's `ModelConfigResponse` for a model (the `ModelConfig` RPC of Triton's `GRPCInferenceService`, which
 * tritonclient's `get_model_config` and perf_analyzer call): the fields `GET /v2/models/{name}/config` answers —
 * `name` (1), `platform` (2), `max_batch_size` (4) 0, `input` (5), `output` (6), `backend` (17) — in a
 * `config` (1).
 */
export function encodeModelConfigResponse(m: ResolvedGatewayModel): Buffer {
  const json = modelConfigJson(m) as { name: string; platform: string; backend: string; max_batch_size: number };
  const c: Fields = [];
  stringField(c, 1, json.name);
  stringField(c, 2, json.platform);
  varintField(c, 4, json.max_batch_size);
  for (const t of m.inputs) messageField(c, 5, tensor(t, 4));
  for (const t of m.outputs) messageField(c, 6, tensor(t, 3));
  stringField(c, 17, json.backend);
  const response: Fields = [];
  messageField(response, 1, Buffer.concat(c));
  return Buffer.concat(response);
}
