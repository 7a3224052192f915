import { randomUUID } from 'node:crypto';
import type { NamedTensors, TensorLike } from '@epara/core';
import { buildStepInputs, type LmExtraInputs } from './generation-step.js';
import type { Sequence } from './generation-request.js';
import type { StepRunner, StepRunnerContext } from './step-runner-port.js';
import { hasResidentKv, KvCacheStore, kvLayoutOf, type KvStepRequest } from './kv-cache-store.js';

/**
 * The KV-cache runner. Joined sequences are prefilled together in one call (the others wait that
 * iteration); otherwise one decode call feeds every sequence's newest token. The caches live in a
 * {@link KvCacheStore}: inside the device's worker when the device supports it (only token ids and the next
 * tokens cross the thread boundary), otherwise on the host, fed to `device.run` at every call.
 */
export function createKvCacheRunner({ device, key, padToken, info }: StepRunnerContext, extra: LmExtraInputs): StepRunner {
  const layout = kvLayoutOf(info, extra);
  let step: (req: KvStepRequest) => Promise<number[]>;
  let release: (seqs: readonly number[]) => void;
  if (hasResidentKv(device)) {
    const store = randomUUID();
    step = (req) => device.kvStep(key, store, layout, req);
    release = (seqs) => void device.kvRelease(key, store, seqs);
  } else {
    const local = new KvCacheStore(layout, (feeds, outputNames) => device.run(key, feeds, { outputNames }));
    step = (req) => local.step(req);
    release = (seqs) => local.release(seqs);
  }
  const call = async (rows: readonly Sequence[], prefill: boolean) => {
    const tokens = rows.map((s) => (prefill ? s.tokens : s.tokens.slice(-1)));
    const cached = rows.map((s) => (prefill ? 0 : s.tokens.length - 1));
    const next = await step({ prefill, seqs: rows.map((s) => s.id), tokens, cached, padToken });
    const seqLen = Math.max(...tokens.map((t) => t.length));
    const pastLen = prefill ? 0 : Math.max(...cached);
    return { tokens: new Map(rows.map((s, i) => [s, next[i]!])), work: rows.length * seqLen, seqLen: pastLen + seqLen };
  };
  return {
    kind: 'kv',
    run: (members, joined) => (joined.length > 0 ? call(joined, true) : call(members, false)),
    release: (seq) => release([seq.id]),
    workOf: (members, joined) => (joined.length > 0 ? joined.length * Math.max(...joined.map((s) => s.tokens.length)) : members.length),
    stepWork: (batch) => batch,
    prefillWork: (promptTokens) => promptTokens,
    calibrationCalls(maxBatch, maxSeq) {
      const zeros = (batch: number, len: number): NamedTensors =>
        Object.fromEntries(layout.pairs.map((p) => [p.past, { type: 'float32', dims: [batch, layout.heads, len, layout.headDim], data: new Float32Array(batch * layout.heads * len * layout.headDim) }]));
      const prefillLen = Math.min(8, maxSeq);
      const prefill = buildStepInputs([new Array<number>(prefillLen).fill(padToken)], padToken, extra).feeds;
      const decode = buildStepInputs(Array.from({ length: maxBatch }, () => [padToken]), padToken, extra, new Array<number>(maxBatch).fill(maxSeq - 1)).feeds;
      const decodeMask: TensorLike = { type: 'int64', dims: [maxBatch, maxSeq], data: new BigInt64Array(maxBatch * maxSeq).fill(1n) };
      return [
        { work: prefillLen, feeds: { ...prefill, ...zeros(1, 0) } },
        { work: maxBatch, feeds: { ...decode, attention_mask: decodeMask, ...zeros(maxBatch, maxSeq - 1) } },
      ];
    },
  };
}
