import { EparaError } from '@epara/core';
import type { LoadedModelInfo } from '../devices/device-port.js';
import { argmaxLastPosition, buildStepInputs, type LmExtraInputs } from './generation-step.js';
import { createKvCacheRunner } from './kv-cache-runner.js';
import { isPastInput } from './kv-cache-store.js';
import type { Sequence } from './generation-request.js';
import type { StepResult, StepRunner, StepRunnerContext } from './step-runner-port.js';

export type { StepRunner, StepRunnerContext } from './step-runner-port.js';

/**
 * Picks the runner from the model: a model with cache inputs (`past_*`, `past.N.*`, `past_key_values.N.*`) gets
 * the KV-cache runner. A model that takes no `attention_mask` cannot be told which tokens are padding: its rows
 * of different lengths run apart.
 */
export function createStepRunner(ctx: StepRunnerContext): StepRunner {
  const extra = checkCausalLm(ctx.info);
  const runner = ctx.info.inputs.some((i) => isPastInput(i.name)) ? createKvCacheRunner(ctx, extra) : createRecomputeRunner(ctx, extra);
  return ctx.info.inputs.some((i) => i.name === 'attention_mask') ? runner : unpadded(runner);
}

/**
 * Checks that the engine can drive the model, and returns the extra inputs it fills in: it feeds `input_ids`,
 * `attention_mask` and `position_ids` as int64, `use_cache_branch` as a bool of one element, and the caches,
 * and reads float32 `logits`. A model asking for anything else (another input, int32 ids, logits under another
 * name or type) would load and then fail every request, or — float16 logits read as their bits — pick wrong
 * tokens.
 *
 * @throws EparaError `LOAD_FAILED` naming the input or output that does not fit.
 */
function checkCausalLm(info: LoadedModelInfo): LmExtraInputs {
  const refuse = (why: string): never => {
    throw new EparaError('LOAD_FAILED', `generation: ${why}`, { inputs: info.inputs.map((i) => i.name), outputs: info.outputs.map((o) => o.name) });
  };
  if (!info.inputs.some((i) => i.name === 'input_ids')) refuse(`the model has no input_ids input (inputs: ${info.inputs.map((i) => i.name).join(', ')})`);
  let positionIds = false;
  let useCacheBranch: number[] | undefined;
  for (const i of info.inputs) {
    if (i.name === 'input_ids' || i.name === 'attention_mask' || i.name === 'position_ids') {
      if (i.type !== 'int64') refuse(`input '${i.name}' is ${i.type}; the engine feeds int64`);
      positionIds ||= i.name === 'position_ids';
    } else if (i.name === 'use_cache_branch') {
      if (i.type !== 'bool' || i.dims.length > 1) refuse(`input 'use_cache_branch' is ${i.type}[${i.dims.join(', ')}]; the engine feeds one bool`);
      useCacheBranch = i.dims.length === 0 ? [] : [1];
    } else if (!isPastInput(i.name)) refuse(`input '${i.name}' is not one the engine feeds (input_ids, attention_mask, position_ids, use_cache_branch, past_*, past_key_values.*)`);
  }
  const logits = info.outputs.find((o) => o.name === 'logits');
  if (logits === undefined) refuse(`the model has no logits output (outputs: ${info.outputs.map((o) => o.name).join(', ')})`);
  else if (logits.type !== 'float32') refuse(`output 'logits' is ${logits.type}; the engine reads float32`);
  return { positionIds, useCacheBranch };
}

/**
 * Runs each iteration as one call per sequence length, so that no row is padded: a model without an attention
 * mask reads a pad token as a token (its answer for a left-padded prompt is not the prompt's). A sequence's
 * length decides its padding in both runners: the recompute runner feeds its tokens, the KV-cache runner
 * prefills its prompt or decodes over a cache one shorter than it.
 */
function unpadded(runner: StepRunner): StepRunner {
  return {
    ...runner,
    async run(members, joined) {
      const prefill = runner.kind === 'kv' && joined.length > 0;
      const byLength = new Map<number, Sequence[]>();
      for (const s of prefill ? joined : members) {
        const group = byLength.get(s.tokens.length);
        if (group === undefined) byLength.set(s.tokens.length, [s]);
        else group.push(s);
      }
      const tokens = new Map<Sequence, number>();
      let work = 0;
      let seqLen = 0;
      let computeMs: number | undefined = 0;
      for (const group of byLength.values()) {
        const r: StepResult = await runner.run(group, prefill ? group : []);
        for (const [s, t] of r.tokens) tokens.set(s, t);
        work += r.work;
        seqLen = Math.max(seqLen, r.seqLen);
        computeMs = computeMs === undefined || r.computeMs === undefined ? undefined : computeMs + r.computeMs;
      }
      return computeMs === undefined ? { tokens, work, seqLen } : { tokens, work, seqLen, computeMs };
    },
  };
}

function createRecomputeRunner({ device, key, padToken }: StepRunnerContext, extra: LmExtraInputs): StepRunner {
  return {
    kind: 'recompute',
    async run(members) {
      const { feeds, seqLen } = buildStepInputs(members.map((s) => s.tokens), padToken, extra);
      // The device's own compute time, so that the step estimate never learns queueing or messaging.
      const timed = typeof device.runTimed === 'function' ? await device.runTimed(key, feeds, { outputNames: ['logits'] }) : { outputs: await device.run(key, feeds, { outputNames: ['logits'] }) };
      const next = argmaxLastPosition(timed.outputs['logits']!);
      const result = { tokens: new Map(members.map((s, i) => [s, next[i]!])), work: members.length * seqLen, seqLen };
      return 'runMs' in timed ? { ...result, computeMs: timed.runMs } : result;
    },
    workOf: (members) => members.length * Math.max(...members.map((s) => s.tokens.length)),
    release: () => undefined,
    stepWork: (batch, length) => batch * length,
    prefillWork: (promptTokens) => promptTokens,
    calibrationCalls(maxBatch, maxSeq) {
      return [
        [1, Math.min(8, maxSeq)],
        [maxBatch, maxSeq],
      ].map(([batch, len]) => ({
        work: batch! * len!,
        feeds: buildStepInputs(Array.from({ length: batch! }, () => new Array<number>(len!).fill(padToken)), padToken, extra).feeds,
      }));
    },
  };
}
