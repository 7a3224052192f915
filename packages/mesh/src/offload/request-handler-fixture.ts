import { createManualClock, silentLogger } from '@epara/core';
import type { ClusterView, EparaError, LocalExecutor, ManualClock, NamedTensors, ServerEntry, ServerId, Timers } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { ManualTimers } from '@epara/core/testing';
import { createFakeExecutor } from '../testing/fake-executor.js';
import type { OffloadMessage } from './offload-messages.js';
import { RequestHandler } from './request-handler.js';
import type { RequestHandlerConfig } from './request-handler.js';

/*
 * The set-up the request handler's tests share: a handler on server `a` over a manual clock, a view the test
 * writes, a `send` that records what went where (or refuses it), and hooks that record what the handler reported.
 * Not shipped: only tests import it.
 */

/** One float input of service `s`. */
export const x: NamedTensors = { x: { type: 'float32', dims: [1], data: Float32Array.of(1) } };

/** What a peer's entry says of its instances: one per service, each at 100 items/s. */
export interface PeerEntryOptions {
  /** @default 0 */
  readonly waitMs?: number;
  /** @default 5 */
  readonly runMs?: number;
  /** @default 0 */
  readonly updatedAt?: number;
  /** @default 0 */
  readonly loadPerSec?: number;
  /** @default ['s'] */
  readonly services?: readonly string[];
}

/** An alive peer's view entry with a ready instance of each of its services (`s` by default). */
export const peerEntry = (id: ServerId, o: PeerEntryOptions = {}): ServerEntry => ({
  serverId: id,
  epoch: 1,
  version: 1,
  updatedAt: o.updatedAt ?? 0,
  alive: true,
  load: 0,
  freeMemoryBytes: 0,
  arrivalRates: {},
  instances: (o.services ?? ['s']).map((serviceId) => ({
    instanceId: `${id}/${serviceId}`,
    serviceId,
    status: 'ready' as const,
    requestStrategy: 'batching' as const,
    serviceStrategy: 'single' as const,
    batchSize: 1,
    capacityPerSec: 100,
    loadPerSec: o.loadPerSec ?? 0,
    waitMs: o.waitMs ?? 0,
    runMs: o.runMs ?? 5,
  })),
});

/** Lets the promise chains a response or a timer started run to their end. */
export const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** What the hooks of a fixture's handler were told. */
export interface HandlerEvents {
  readonly offloaded: { to: ServerId; hops: number; retry: boolean }[];
  readonly rejected: string[];
  /** The service of each request run here. */
  readonly local: string[];
  /** The service of each request sent again after an unanswered forward. */
  readonly resent: string[];
}

/** Options of {@link handlerFixture}. */
export interface HandlerFixtureOptions {
  /** The view's entries (the handler reads the same object each time: a test may change it). @default none */
  readonly entries?: Record<ServerId, ServerEntry>;
  /** The clock's start. @default 0 */
  readonly now?: number;
  /** Replaces the manual timers (which the fixture still returns, unused). */
  readonly timers?: Timers;
  /** The executor on `a`. @default a fake of service `s`, hosted when `hosted`, each item `serviceTimeMs` */
  readonly executor?: (clock: ManualClock, timers: Timers) => LocalExecutor;
  /** @default false */
  readonly hosted?: boolean;
  /** @default 5 */
  readonly serviceTimeMs?: number;
  /** A send to `to` throws what this returns (a link that refuses), instead of being recorded. */
  readonly refuse?: (to: ServerId, m: OffloadMessage) => EparaError | undefined;
  /** Settings over the fixture's (`hopLimit` 2, `guardMs` 10, `hopDelayMs` 1, `responseGraceMs` 100). */
  readonly config?: Partial<Omit<RequestHandlerConfig, 'send' | 'clock' | 'timers' | 'executor' | 'view' | 'hooks'>>;
}

/**
 * A handler on `a`, what it sent (`sent`, each on link `links.current`), and what its hooks were told (`events`).
 * `timers` are the manual timers (unused when `timers` was given).
 */
export function handlerFixture(o: HandlerFixtureOptions = {}) {
  const clock = createManualClock(o.now ?? 0);
  const manual: ManualTimers = createManualTimers(clock);
  const timers = o.timers ?? manual;
  const sent: { to: ServerId; m: OffloadMessage }[] = [];
  const events: HandlerEvents = { offloaded: [], rejected: [], local: [], resent: [] };
  const view: ClusterView = { entries: o.entries ?? {} };
  const executor = o.executor?.(clock, timers) ?? createFakeExecutor({ services: { s: { serviceTimeMs: o.serviceTimeMs ?? 5 } }, hosted: o.hosted ? ['s'] : [], clock, timers });
  let id = 1;
  // The link each send goes on (a test switches it to send over a second link to the same peer, or to none).
  const links: { current: string | undefined } = { current: 'L1' };
  const handler = new RequestHandler({
    selfId: 'a',
    clock,
    timers,
    executor,
    view: () => view,
    hopLimit: 2,
    guardMs: 10,
    hopDelayMs: 1,
    responseGraceMs: 100,
    nextId: () => id++,
    logger: silentLogger,
    ...o.config,
    send: (to, m) => {
      const refusal = o.refuse?.(to, m);
      if (refusal) throw refusal;
      sent.push({ to, m });
      return links.current;
    },
    hooks: {
      offloaded: (e) => void events.offloaded.push({ to: e.to, hops: e.hops, retry: e.retry }),
      rejected: (e) => void events.rejected.push(e.code),
      ranLocally: (s) => void events.local.push(s),
      resentUnanswered: (s) => void events.resent.push(s),
    },
  });
  return { clock, timers: manual, sent, events, view, executor, links, handler };
}
