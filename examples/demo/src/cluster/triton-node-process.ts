import { EparaError, type LatencyProfile, type NamedTensors } from '@epara/core';
import { createWebSocketTransport } from '@epara/mesh';
import { createDevice, createGenerationEngine, type GenerationEngine } from '@epara/runtime';
import { createTritonBatcher, type TritonBatcher } from '../baseline/triton-batcher.js';
import { generateWithQueueTimeout } from '../baseline/triton-chat.js';
import type { TritonConfig } from '../baseline/triton-config.js';
import { relayedSequence, sequenceStream } from '../baseline/triton-sequence.js';
import { CHAT_MAX_BATCH, budgetOf, type DemoServiceId, type DemoServiceInfo } from '../catalog.js';
import { LM_SHAPE, buildLanguageModel, detectorPath, vadPath } from '../models.js';
import { chatStepProfile } from '../profiles.js';
import { serveChild } from './child-rpc.js';
import { RedialingEntry, serveEntry } from './entry.js';

/*
 * One site of the Triton-like baseline in its own OS process: one 1-thread worker device holding one instance
 * of each model placed here, each behind Triton's dynamic batcher. The site's entry is also its load
 * balancer: a request is served here when this site hosts the model, otherwise forwarded once (over the
 * delaying link) to a replica chosen by smooth weighted round-robin on replica capacity, as the simulator's
 * Triton baseline does; a forwarded request is never forwarded again.
 */

const index = Number((process.argv[2] ?? 'triton-0').split('-').pop());
const device = createDevice({ id: `triton-${index}`, threads: 1 });
const transport = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
const loaded = new Set<string>();
const batchers = new Map<string, TritonBatcher>();
const peers = new Map<number, RedialingEntry>();
const credit = new Map<string, number[]>();
let chat: GenerationEngine | undefined;
let config: TritonConfig | undefined;
let lm: Uint8Array | undefined;
let chatProfile: LatencyProfile | undefined;
let services: readonly DemoServiceInfo[] = [];
const forwarded: Record<string, number> = {};

function serveHere(serviceId: string, inputs: NamedTensors, timeoutMs: number): Promise<NamedTensors> {
  if (serviceId === 'chat' && chat && hosts('chat').includes(index)) return generateWithQueueTimeout(chat, inputs, timeoutMs);
  const b = batchers.get(serviceId);
  return b ? b.submit(inputs, timeoutMs) : Promise.reject(new EparaError('NO_INSTANCE', `no ${serviceId} on triton-${index}`, { serviceId }));
}

function hosts(serviceId: string): readonly number[] {
  return config?.models.find((m) => m.serviceId === serviceId)?.nodes ?? [];
}

/** Smooth weighted round-robin over the replicas, weights = their capacity (items/s at max_batch_size). */
function pick(serviceId: string): number {
  const m = config!.models.find((x) => x.serviceId === serviceId)!;
  const c = credit.get(serviceId) ?? m.nodes.map(() => 0);
  credit.set(serviceId, c);
  let total = 0;
  let best = 0;
  m.nodes.forEach((_, i) => {
    c[i]! += m.capacityPerSec[i]!;
    total += m.capacityPerSec[i]!;
    if (c[i]! > c[best]!) best = i;
  });
  c[best]! -= total;
  return m.nodes[best]!;
}

serveEntry(transport, {
  submit(serviceId, inputs, budgetMs, hops) {
    const h = hosts(serviceId);
    if (hops > 0 || h.includes(index)) return serveHere(serviceId, inputs, budgetMs);
    if (h.length === 0) return Promise.reject(new EparaError('NO_INSTANCE', `no replica of ${serviceId}`, { serviceId }));
    const to = pick(serviceId);
    const peer = peers.get(to);
    if (!peer) return Promise.reject(new EparaError('PEER_UNAVAILABLE', `no link to triton-${to}`));
    forwarded[serviceId] = (forwarded[serviceId] ?? 0) + 1;
    const sentAt = performance.now();
    return peer.get().then((c) => c.submit(serviceId, inputs, budgetMs - (performance.now() - sentAt), 1));
  },
  // Sequences (the stateful VAD) go through Triton's sequence batcher with implicit state: bound to one site.
  async openStream(serviceId, rateHz) {
    const svc = services.find((s) => s.id === serviceId);
    if (svc?.id !== 'vad') throw new EparaError('INVALID_INPUT', `${serviceId} is not a sequence model; send its frames as requests`, { serviceId });
    if (hosts(serviceId).includes(index)) {
      return sequenceStream({
        servedBy: `triton-${index}`,
        stalenessMs: budgetOf(svc),
        initialState: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
        stateInput: 'state',
        stateOutput: 'stateN',
        step: (x, timeoutMs) => serveHere(serviceId, x, timeoutMs),
      });
    }
    if (hosts(serviceId).length === 0) throw new EparaError('NO_INSTANCE', `no replica of ${serviceId}`, { serviceId });
    const to = pick(serviceId);
    const peer = peers.get(to);
    if (!peer) throw new EparaError('PEER_UNAVAILABLE', `no link to triton-${to}`);
    forwarded[serviceId] = (forwarded[serviceId] ?? 0) + 1;
    return relayedSequence(await peer.get(), serviceId, rateHz);
  },
});

serveChild(
  {
    async listen(o: { seed: number; chatProfile: LatencyProfile; services: DemoServiceInfo[] }) {
      services = o.services;
      lm = buildLanguageModel(o.seed);
      chatProfile = o.chatProfile;
      return { address: (await transport.listen()).address };
    },
    /** Connects to every other site through its delaying link (`routes`: site index → address). */
    async link(routes: [number, string][]) {
      for (const [to, address] of routes) {
        const peer = new RedialingEntry(transport, address);
        await peer.open();
        peers.set(to, peer);
      }
    },
    /** Applies a configuration: loads the models placed here (once) and rebuilds their batchers. */
    async configure(c: TritonConfig) {
      config = c;
      credit.clear();
      for (const b of batchers.values()) b.close();
      batchers.clear();
      for (const m of c.models) {
        if (!m.nodes.includes(index)) continue;
        if (m.serviceId === 'chat') {
          if (!chat) {
            const maxBatch = Math.min(CHAT_MAX_BATCH, m.maxBatch);
            chat = createGenerationEngine({ device, model: { bytes: lm! }, maxBatch, maxSeq: LM_SHAPE.maxSeq, key: 'chat', maxWaiting: 1_000_000, stepProfile: chatStepProfile(chatProfile!) });
            await chat.start();
          }
          continue;
        }
        if (!loaded.has(m.serviceId)) {
          await device.loadModel(m.serviceId, m.serviceId === 'loop' ? { bytes: lm! } : { path: m.serviceId === 'vad' ? vadPath() : detectorPath() });
          loaded.add(m.serviceId);
        }
        const axes = m.serviceId === ('vad' satisfies DemoServiceId) ? { axes: { state: 1, stateN: 1, sr: null } } : {};
        batchers.set(m.serviceId, createTritonBatcher({ device, modelKey: m.serviceId, maxBatch: m.maxBatch, maxQueueDelayMs: c.maxQueueDelayMs, ...axes }));
      }
    },
    /** Forwards by the load balancer; batches and their items per model (`batches:<model>`, `batchItems:<model>`) since the last configuration. */
    stats: () => ({ offloads: { ...forwarded }, ...Object.fromEntries([...batchers].flatMap(([m, b]) => [[`batches:${m}`, b.stats.batches], [`batchItems:${m}`, b.stats.items]])) }),
  },
  async () => {
    for (const b of batchers.values()) b.close();
    for (const p of peers.values()) p.close();
    await chat?.close().catch(() => undefined);
    await transport.close().catch(() => undefined);
    await device.close().catch(() => undefined);
  },
);
