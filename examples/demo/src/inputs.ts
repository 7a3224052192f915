import { createSeededRandom, type NamedTensors, type TensorLike } from '@epara/core';
import { CHAT_PROMPT, FRAME_SIDE, IMAGE_SIDE, LOOP_WINDOW, type DemoServiceId } from './catalog.js';
import { audioChunk, chatPrompt, imageInput, loopWindow, vadRate } from './models.js';

const POOL = 8;

function copy(t: NamedTensors): NamedTensors {
  const out: Record<string, TensorLike> = {};
  for (const [name, v] of Object.entries(t)) out[name] = { ...v, dims: [...v.dims], data: v.data.slice() as TensorLike['data'] };
  return out;
}

/**
 * Inputs of every request and frame, deterministic from the seed. Pools of pre-generated tensors keep input
 * synthesis off the hot path; every use gets a fresh copy because devices take ownership of buffers they are given.
 */
export class InputFactory {
  readonly #pools: Record<DemoServiceId, NamedTensors[]>;

  constructor(seed: number) {
    const random = createSeededRandom(seed ^ 0x5eed);
    const span = CHAT_PROMPT.max - CHAT_PROMPT.min + 1;
    this.#pools = {
      image: Array.from({ length: POOL }, () => imageInput(IMAGE_SIDE, random)),
      video: Array.from({ length: POOL }, () => imageInput(FRAME_SIDE, random)),
      chat: Array.from({ length: span }, (_, i) => chatPrompt(random, CHAT_PROMPT.min + i)),
      loop: Array.from({ length: POOL }, () => loopWindow(random, LOOP_WINDOW)),
      vad: Array.from({ length: POOL }, (_, i) => ({ ...audioChunk(random, i % 3 !== 0), ...vadRate() })),
    };
  }

  /** The input of a request or frame: `variant` picks it from the service's pool. */
  get(serviceId: DemoServiceId, variant: number): NamedTensors {
    const pool = this.#pools[serviceId];
    return copy(pool[variant % pool.length]!);
  }
}
