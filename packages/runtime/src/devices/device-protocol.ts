import type { MessagePort } from 'node:worker_threads';
import type { NamedTensors } from '@epara/core';
import type { BackendModelSource, BackendSpec } from './backend.js';
import type { LoadedModelInfo } from './device-port.js';
import type { KvLayout, KvStepRequest } from '../generation/kv-cache-store.js';
import type { LinkInbound, LinkOutbound } from '../parallel/stage-links.js';
import type { SlabOutput } from './slab-outputs.js';
import type { DoorbellMemory } from './doorbell.js';

/** Data a device worker starts with. */
export interface DeviceWorkerData {
  readonly deviceId: string;
  readonly backend: BackendSpec;
  /** The shared-memory doorbell small batches ring through (absent: every call by message). */
  readonly doorbell?: DoorbellMemory;
  /** With `doorbell`: how long the worker polls it before parking, µs (see `DeviceOptions.doorbellSpinUs`). */
  readonly doorbellSpinUs?: number;
  /**
   * One Int32 word the worker writes the id of each call into as it starts it (ids wrap at 2^32): after a stuck
   * worker is terminated, the host tells the calls that never started — queued behind the stuck one — from it.
   */
  readonly progress?: SharedArrayBuffer;
  /** Where the worker writes when each call reaches its stages (see `recordStageMarks`); absent: it does not. */
  readonly stageMarks?: SharedArrayBuffer;
}

/** Messages from the host to a device worker. */
export type DeviceRequest =
  | {
      readonly op: 'load';
      readonly id: number;
      readonly key: string;
      readonly source: BackendModelSource;
      readonly threads: number;
      readonly spinWait: boolean;
      readonly provider: 'cpu' | 'cuda';
      readonly ordinal: number;
      /**
       * A reload after a restart: the {@link LoadResult.fileStamp} of the first load. A file that no longer has it
       * (replaced, rewritten or removed since) is refused with `LOAD_FAILED` instead of serving another model.
       */
      readonly fileStamp?: string;
      /** Bytes the outputs of one request may take (see `LoadModelOptions.maxResponseBytes`). */
      readonly maxResponseBytes?: number;
    }
  | {
      readonly op: 'run';
      readonly id: number;
      readonly key: string;
      readonly feeds: NamedTensors;
      readonly outputNames?: readonly string[];
      /** Inputs that arrive over links from other workers (pipeline hand-offs). */
      readonly inbound?: readonly LinkInbound[];
      /** Outputs handed to other workers over links instead of returned. */
      readonly outbound?: readonly LinkOutbound[];
      /** With `outbound`: the outputs returned to the host. */
      readonly keep?: readonly string[];
      /** The input slab the feeds are views of (lent with the run; the answer hands it back). */
      readonly slab?: ArrayBuffer;
      /** With `slab`: where the backend should write the outputs in it (all of them known in size). */
      readonly outputsAt?: readonly SlabOutput[];
      /**
       * With `slab` and `outputsAt`: the id under which the worker keeps this batch's layout once it ran in the
       * slab, so that later batches of the same layout can ring in through the doorbell.
       */
      readonly ringPlan?: number;
      /**
       * Requests in the batch, on the batch path: the outputs may take `maxResponseBytes` per request. Absent (a
       * direct run: the host's own at load, a caller of `run`): not checked.
       */
      readonly count?: number;
    }
  /** Attaches one end of a worker-to-worker channel under `link`. */
  | { readonly op: 'link'; readonly id: number; readonly link: string; readonly end: 'out' | 'in'; readonly port: MessagePort }
  | { readonly op: 'unlink'; readonly id: number; readonly link: string }
  | { readonly op: 'unload'; readonly id: number; readonly key: string }
  /** One generation call over the caches the worker keeps for `store` (answers {@link KvStepResult}). */
  | { readonly op: 'kvStep'; readonly id: number; readonly key: string; readonly store: string; readonly layout: KvLayout; readonly request: KvStepRequest }
  /** Frees cached sequences of `store` (all of them when `seqs` is absent). */
  | { readonly op: 'kvRelease'; readonly id: number; readonly key: string; readonly store: string; readonly seqs?: readonly number[] }
  /**
   * Releases every session and cache, after the requests queued before it: the device closes a worker this way
   * before terminating it, because terminating a thread inside a native run can abort the whole process.
   */
  | { readonly op: 'shutdown'; readonly id: number };

/** Result of a load inside the worker. */
export interface LoadResult {
  readonly info: LoadedModelInfo;
  /** Set when the CUDA provider failed and the session was created on the CPU instead. */
  readonly fallbackReason?: string;
  /** A model read from a path: the file's identity when it was loaded (device, inode, size, modification times). */
  readonly fileStamp?: string;
}

/** Result of a run inside the worker. */
export interface RunResult {
  readonly outputs: NamedTensors;
  readonly runMs: number;
  /** Bytes handed to other workers over links. */
  readonly forwardedBytes?: number;
  /** True when the outputs were written into the returned slab at the requested places (`outputs` is empty). */
  readonly inSlab?: boolean;
}

/** Result of a `kvStep` inside the worker: the next token of each row, nothing else. */
export interface KvStepResult {
  readonly tokens: number[];
  readonly runMs: number;
}

/** Messages from a device worker to the host. */
export type DeviceResponse =
  // `rung`: the answer to a call that came through the doorbell (it holds no slab; its slot is freed apart).
  | { readonly id: number; readonly ok: true; readonly result: LoadResult | RunResult | KvStepResult | null; readonly slab?: ArrayBuffer; readonly rung?: true }
  | { readonly id: number; readonly ok: false; readonly error: { code: string; message: string; details?: Record<string, unknown> }; readonly slab?: ArrayBuffer; readonly rung?: true }
  /**
   * A run whose outputs the worker wrote into the returned slab at the planned places: its compute time, nothing
   * else — one object for the host to deserialize per batch, not three.
   */
  | { readonly id: number; readonly ok: 'slab'; readonly runMs: number; readonly slab: ArrayBuffer; /** The worker keeps the run's `ringPlan`. */ readonly kept?: true };
