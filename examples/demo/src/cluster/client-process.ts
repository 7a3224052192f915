import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { EparaError, toEparaError, type NamedTensors } from '@epara/core';
import { createWebSocketTransport } from '@epara/mesh';
import { requestStream } from '../baseline/triton-streams.js';
import { budgetOf, type DemoServiceId, type DemoServiceInfo } from '../catalog.js';
import { drive } from '../driver.js';
import { InputFactory } from '../inputs.js';
import type { FrameOutcome, ServingStream, ServingSystem } from '../system.js';
import { Tally, type ServiceTally, type TallySeries } from '../tally.js';
import { buildWorkload, type DemoWorld } from '../workload.js';
import { emitToParent, serveChild } from './child-rpc.js';
import { RedialingEntry, type EntryClient } from './entry.js';

/*
 * The users near one edge server, in a process of their own: replays that server's share of the seeded
 * workload (its requests and the streams entering there) against the entry of the system under test, and
 * counts every item once (good, late, or dropped by code).
 */

/** Which system a trial drives. */
export type SystemName = 'epara' | 'triton';

/** What a client reports after a run. */
export interface ClientRun {
  readonly services: Record<DemoServiceId, ServiceTally>;
  readonly series: TallySeries;
}

const index = Number((process.argv[2] ?? 'client-0').split('-').pop());
const transport = createWebSocketTransport({ host: '127.0.0.1', port: 0 });
const entries = new Map<SystemName, RedialingEntry>();
let inputs: InputFactory | undefined;
let services: readonly DemoServiceInfo[] = [];

function eparaSystem(c: EntryClient): ServingSystem {
  return {
    name: 'EPARA',
    submit: (_node, id, x, deadline) => c.submit(id, x, deadline - Date.now()),
    openStream: (node, id, rateHz) => entryStream(c, node, id, rateHz),
    offloads: () => ({}),
    close: async () => undefined,
  };
}

/** A stream opened at the entry (`stream-open`): the server side holds it; results come back per frame. */
async function entryStream(c: EntryClient, node: number, id: string, rateHz: number): Promise<ServingStream> {
  const waiting = new Map<number, (o: FrameOutcome) => void>();
  let closed: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (closed = resolve));
  const s = await c.openStream(id, rateHz, (m) => {
    if (m.type === 'stream-result') {
      const settle = waiting.get(m.seq);
      waiting.delete(m.seq);
      settle?.(m.ok ? { ok: true } : { ok: false, code: m.error.code });
    } else {
      const code = m.type === 'error' ? m.error.code : 'CLOSED';
      for (const settle of waiting.values()) settle({ ok: false, code });
      waiting.clear();
      closed!();
    }
  });
  const at = /(?:edge|triton)-(\d+)/.exec(s.servedBy);
  let seq = 0;
  return {
    servedAt: at ? Number(at[1]) : node,
    push(frame, settled) {
      const k = seq++;
      waiting.set(k, settled);
      try {
        s.push(k, frame);
      } catch (err) {
        waiting.delete(k);
        settled({ ok: false, code: toEparaError(err).code });
      }
    },
    async close() {
      try {
        s.close();
        await Promise.race([done, sleep(10_000)]);
      } catch {
        /* the connection is gone: every frame was settled by its close */
      }
      for (const settle of waiting.values()) settle({ ok: false, code: 'CLOSED' });
      waiting.clear();
    },
  };
}

/**
 * Triton clients send each frame of a stateless stream as an ordinary request; the stateful VAD goes to the
 * sequence batcher (server-held implicit state) through the entry's `stream-open`.
 */
function tritonSystem(c: EntryClient): ServingSystem {
  return {
    name: 'Triton-like',
    submit: (_node, id, x, deadline) => c.submit(id, x, deadline - Date.now()),
    async openStream(node, id, rateHz): Promise<ServingStream> {
      if (id === 'vad') return entryStream(c, node, id, rateHz);
      const stalenessMs = budgetOf(services.find((s) => s.id === id)!);
      return requestStream({ servedAt: node, stalenessMs, send: (frame: NamedTensors, timeoutMs: number) => c.submit(id, frame, timeoutMs) });
    },
    offloads: () => ({}),
    close: async () => undefined,
  };
}

serveChild(
  {
    async connect(o: { seed: number; services: DemoServiceInfo[]; entries: [SystemName, string][] }) {
      services = o.services;
      inputs = new InputFactory(o.seed);
      for (const [name, address] of o.entries) {
        const entry = new RedialingEntry(transport, address);
        await entry.open();
        entries.set(name, entry);
      }
    },
    /** Replays this entry's share of the workload on `system`, starting at `startAt` (epoch ms). */
    async run(o: { system: SystemName; seed: number; load: number; nodes: number; durationMs: number; world: DemoWorld; startAt: number }): Promise<ClientRun> {
      const entry = entries.get(o.system);
      if (!entry || !inputs) throw new EparaError('INTERNAL', 'connect first');
      const c = await entry.get();
      const all = buildWorkload({ durationMs: o.durationMs, load: o.load, nodes: o.nodes, seed: o.seed, world: o.world });
      const workload = { ...all, requests: all.requests.filter((r) => r.node === index), streams: all.streams.filter((s) => s.node === index) };
      await sleep(Math.max(0, o.startAt - Date.now()));
      const tally = new Tally(services, performance.now());
      const progress = setInterval(() => emitToParent('progress', { client: index, ...tally.totals() }), 500);
      try {
        await drive({ system: o.system === 'epara' ? eparaSystem(c) : tritonSystem(c), workload, catalog: services, inputs, tally });
      } finally {
        clearInterval(progress);
      }
      return { services: tally.services, series: tally.series };
    },
  },
  async () => {
    for (const c of entries.values()) c.close();
    await transport.close().catch(() => undefined);
  },
);
