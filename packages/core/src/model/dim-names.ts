/**
 * What a model's dimension names say about its batch, read the same way wherever EPARA decides where a batch is:
 * the executor (which dims it stacks requests on) and the gateway (which requests it splits into items).
 */

/** A dim name that says it is the batch (`batch`, `batch_size`, `BatchSize`…). */
export const BATCH_DIM_NAME = /batch/i;

/** A dim name that says it is a length (`seq`, `sequence_length`, `audio_length`, `time`, `frames`, `num_tokens`…). */
export const LENGTH_DIM_NAME = /seq|len|time|frame|token/i;

/**
 * Whether a free leading dim with this name (`undefined`: unnamed) may be taken for the batch without more
 * knowledge: unnamed, or named as the batch, or named anything but a length. A model exported without a batch
 * (`x [audio_length]`, `x [sequence, 80]`) takes a whole signal or sequence per request.
 */
export function mayBeBatchDim(name: string | undefined): boolean {
  return name === undefined || name === '' || BATCH_DIM_NAME.test(name) || !LENGTH_DIM_NAME.test(name);
}
