import { EparaError, type LatencyProfile, type NamedTensors } from '@epara/core';
import { createDevice, createGenerationEngine, type DeviceHandle, type GenerationEngine } from '@epara/runtime';
import { CHAT_NEW_TOKENS, budgetOf, type DemoService, type DemoServiceId } from '../catalog.js';
import { CHAT_MAX_BATCH } from '../executor-services.js';
import { LM_SHAPE, detectorPath, vadPath } from '../models.js';
import { chatStepProfile } from '../profiles.js';
import type { ServingSystem } from '../system.js';
import { maxBatchWithin, type TritonConfig } from './triton-config.js';
import { createTritonBatcher, type TritonBatcher } from './triton-batcher.js';
import { requestStream, statefulStream } from './triton-streams.js';
import { startRemoteLinks, type RemoteLinks } from './remote-link.js';

interface NodeSide {
  readonly device: DeviceHandle;
  readonly batchers: Map<DemoServiceId, TritonBatcher>;
  chat?: GenerationEngine;
}

const AXES: Partial<Record<DemoServiceId, Record<string, number | null>>> = { vad: { state: 1, stateN: 1, sr: null } };

/**
 * The Triton-like baseline: per node one 1-thread worker device holding one instance of each model placed
 * there, each behind its own dynamic batcher; no offloading. A request is served at its entry node when that
 * node has the model, otherwise by a replica chosen round-robin (a static load balancer), reached over a real
 * loopback WebSocket as EPARA's offloads are. Chat runs on the
 * same generation engine with in-flight batching (as Triton serves LLMs), with the SLO as its queue timeout.
 */
export async function startTriton(o: {
  catalog: readonly DemoService[];
  config: TritonConfig;
  profiles: Readonly<Record<DemoServiceId, LatencyProfile>>;
  lm: Uint8Array;
  nodes: number;
}): Promise<ServingSystem> {
  const sides: NodeSide[] = Array.from({ length: o.nodes }, (_, i) => ({ device: createDevice({ id: `triton-${i}`, threads: 1 }), batchers: new Map() }));
  const close = async (): Promise<void> => {
    for (const s of sides) for (const b of s.batchers.values()) b.close();
    await Promise.all(sides.map((s) => s.chat?.close().catch(() => undefined)));
    await Promise.all(sides.map((s) => s.device.close()));
  };
  try {
    for (const m of o.config.models) {
      for (const n of m.nodes) {
        const side = sides[n]!;
        if (m.serviceId === 'chat') {
          const maxBatch = Math.min(CHAT_MAX_BATCH, maxBatchWithin(o.profiles.chat, budgetOf(o.catalog.find((s) => s.id === 'chat')!)));
          side.chat = createGenerationEngine({ device: side.device, model: { bytes: o.lm }, maxBatch, maxSeq: LM_SHAPE.maxSeq, key: 'chat', maxWaiting: 1_000_000, stepProfile: chatStepProfile(o.profiles.chat) });
          await side.chat.start();
          continue;
        }
        const source = m.serviceId === 'loop' ? { bytes: o.lm } : { path: m.serviceId === 'vad' ? vadPath() : detectorPath() };
        await side.device.loadModel(m.serviceId, source);
        side.batchers.set(m.serviceId, createTritonBatcher({ device: side.device, modelKey: m.serviceId, maxBatch: m.maxBatch, maxQueueDelayMs: o.config.maxQueueDelayMs, ...(AXES[m.serviceId] ? { axes: AXES[m.serviceId]! } : {}) }));
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  const rr = new Map<DemoServiceId, number>();
  const remote: Record<string, number> = {};
  const route = (node: number, id: DemoServiceId): number => {
    const hosts = o.config.models.find((m) => m.serviceId === id)?.nodes ?? [];
    if (hosts.length === 0) throw new EparaError('NO_INSTANCE', `no replica of ${id}`, { serviceId: id });
    if (hosts.includes(node)) return node;
    const k = rr.get(id) ?? 0;
    rr.set(id, k + 1);
    return hosts[k % hosts.length]!;
  };
  const serve = (node: number, id: string, inputs: NamedTensors, timeoutMs: number): Promise<NamedTensors> => {
    const side = sides[node]!;
    if (id === 'chat' && side.chat) return generateWithQueueTimeout(side.chat, inputs, timeoutMs);
    const b = side.batchers.get(id as DemoServiceId);
    return b ? b.submit(inputs, timeoutMs) : Promise.reject(new EparaError('NO_INSTANCE', `no ${id} on node ${node}`));
  };
  let links: RemoteLinks;
  try {
    links = await startRemoteLinks({ nodes: o.nodes, serve });
  } catch (err) {
    await close();
    throw err;
  }
  const send = (from: number, to: number, id: DemoServiceId, inputs: NamedTensors, timeoutMs: number): Promise<NamedTensors> =>
    from === to ? serve(to, id, inputs, timeoutMs) : links.call(from, to, id, inputs, timeoutMs);
  return {
    name: 'Triton-like',
    async submit(node, id, inputs, deadline) {
      const target = route(node, id);
      if (target !== node) remote[id] = (remote[id] ?? 0) + 1;
      return send(node, target, id, inputs, deadline - Date.now());
    },
    async openStream(node, id) {
      const target = route(node, id);
      const stalenessMs = budgetOf(o.catalog.find((s) => s.id === id)!);
      const sender = (frame: NamedTensors, timeoutMs: number): Promise<NamedTensors> => send(node, target, id, frame, timeoutMs);
      if (id === 'vad') {
        const initialState = { type: 'float32' as const, dims: [2, 1, 128], data: new Float32Array(256) };
        return statefulStream({ servedAt: target, stalenessMs, initialState, send: sender });
      }
      return requestStream({ servedAt: target, stalenessMs, send: sender });
    },
    offloads: () => ({ ...remote }),
    close: async () => {
      await links.close();
      await close();
    },
  };
}

/** One chat turn: queue timeout = the SLO until the first token (Triton rejects only queued requests). */
async function generateWithQueueTimeout(engine: GenerationEngine, inputs: NamedTensors, timeoutMs: number): Promise<NamedTensors> {
  const ids = Array.from(inputs['input_ids']!.data as BigInt64Array, Number);
  const abort = new AbortController();
  let started = false;
  const timer = setTimeout(() => started || abort.abort(), Math.max(0, timeoutMs));
  const tokens: number[] = [];
  try {
    for await (const t of engine.generate({ tokens: ids, maxNewTokens: CHAT_NEW_TOKENS, signal: abort.signal })) {
      started = true;
      tokens.push(t);
    }
  } catch (err) {
    if (abort.signal.aborted && !started) throw new EparaError('DEADLINE_EXCEEDED', 'chat turn timed out in the queue (timeout_action: REJECT)');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { tokens: { type: 'int64', dims: [1, tokens.length], data: BigInt64Array.from(tokens, BigInt) } };
}
