import type { AbortSignalLike } from '@epara/core';
import { EparaError } from '@epara/core';
import { signalError } from '@epara/core/internal';
import type { TokenChannel } from './token-channel.js';

/** One generation request. */
export interface GenerationRequest {
  /** Prompt token ids (integers ≥ 0, below the vocabulary size). */
  readonly tokens: readonly number[] | Int32Array;
  /** Most tokens to generate (fewer when the EOS token comes first). */
  readonly maxNewTokens: number;
  /** Absolute time (engine clock, ms) by which the first token must come. @default now + the engine's `ttftMs` */
  readonly ttftDeadline?: number;
  /** Time-per-output-token SLO of this request, ms. @default the engine's `tpotMs` */
  readonly tpotMs?: number;
  /** Absolute time by which the whole generation must finish. @default none */
  readonly deadline?: number;
  readonly signal?: AbortSignalLike;
}

/** A request inside the engine. */
export interface Sequence {
  readonly id: number;
  /** Prompt followed by the tokens generated so far. */
  readonly tokens: number[];
  readonly promptTokens: number;
  readonly maxNewTokens: number;
  generated: number;
  readonly ttftDeadline: number;
  readonly tpotMs: number;
  readonly deadline: number;
  readonly channel: TokenChannel;
  state: 'pending' | 'waiting' | 'active' | 'done';
  cleanup: () => void;
}

/** Checks a request and builds its {@link Sequence}, or returns the `INVALID_INPUT` error. */
export function validateRequest(
  request: GenerationRequest,
  ctx: { id: number; now: number; channel: TokenChannel; maxSeq: number; ttftMs: number | undefined; tpotMs: number | undefined },
): Sequence | EparaError {
  const bad = (message: string, field: string): EparaError => new EparaError('INVALID_INPUT', message, { field });
  if (typeof request !== 'object' || request === null) return bad('a generation request must be an object', 'request');
  const tokens = request.tokens;
  if (!(Array.isArray(tokens) || tokens instanceof Int32Array) || tokens.length === 0) return bad('tokens must be a non-empty array of token ids', 'tokens');
  const list = Array.from(tokens as ArrayLike<number>);
  if (list.some((t) => !Number.isInteger(t) || t < 0)) return bad('token ids must be integers ≥ 0', 'tokens');
  const n = request.maxNewTokens;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return bad(`maxNewTokens must be a positive integer, got ${String(n)}`, 'maxNewTokens');
  if (list.length + n > ctx.maxSeq) return bad(`prompt (${list.length}) + maxNewTokens (${n}) exceeds maxSeq (${ctx.maxSeq})`, 'maxNewTokens');
  const badSignal = signalError(request.signal);
  if (badSignal) return badSignal;
  for (const field of ['ttftDeadline', 'tpotMs', 'deadline'] as const) {
    const v = request[field];
    if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v))) return bad(`${field} must be a number`, field);
  }
  return {
    id: ctx.id,
    tokens: list,
    promptTokens: list.length,
    maxNewTokens: n,
    generated: 0,
    ttftDeadline: request.ttftDeadline ?? (ctx.ttftMs === undefined ? Infinity : ctx.now + ctx.ttftMs),
    tpotMs: request.tpotMs ?? ctx.tpotMs ?? Infinity,
    deadline: request.deadline ?? Infinity,
    channel: ctx.channel,
    state: 'pending',
    cleanup: () => undefined,
  };
}
