import { describe, expect, it } from 'vitest';
import { mayBeBatchDim } from './dim-names.js';

describe('mayBeBatchDim', () => {
  it('takes an unnamed dim, one named as the batch, and one named anything but a length', () => {
    for (const name of [undefined, '', 'batch', 'batch_size', 'BatchSize', 'N', 'unk__12', 'b']) expect(mayBeBatchDim(name), String(name)).toBe(true);
  });

  it('refuses a dim named as a length', () => {
    for (const name of ['seq', 'sequence', 'seq_len', 'sequence_length', 'audio_length', 'time', 'frames', 'num_tokens']) expect(mayBeBatchDim(name), name).toBe(false);
  });
});
