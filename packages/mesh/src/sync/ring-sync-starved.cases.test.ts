import { describe, expect, it } from 'vitest';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';
import type { SyncMessage, SyncToken } from './sync-types.js';

// A server that starts a round of its own while a lower alive server is the initiator hears no tokens (cut off from
// its ring predecessor one way): whoever receives that round's token straight from it answers it once with the
// receiver's whole view, every entry in full, under the round's number negated (a round no server starts), so the
// token merges and completes nothing. Any other token gets no such answer.
const IDS = ['a', 'b', 'c', 'd'];

function settledRing() {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const nodes = new Map<string, RingSync>();
  const sent: { from: string; to: string; message: SyncMessage }[] = [];
  for (const id of IDS) {
    const sync = new RingSync({
      selfId: id,
      epoch: 1,
      clock,
      timers,
      periodMs: 500,
      ackTimeoutMs: 50,
      attempts: 2,
      fullEvery: 1000,
      seeds: id === 'a' ? [] : ['a'],
      faults: createFaultInjector({}, createSeededRandom(1)),
      logger: silentLogger,
      readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
      send: (target, message) => {
        const to = target.id ?? target.address!;
        sent.push({ from: id, to, message });
        timers.setTimeout(() => nodes.get(to)!.receive(message, (reply) => timers.setTimeout(() => nodes.get(id)!.receive(reply, () => undefined), 1)), 1);
      },
    });
    nodes.set(id, sync);
    sync.start();
  }
  timers.advance(3000);
  for (const s of nodes.values()) expect(s.store.aliveIds()).toEqual(IDS);
  return { clock, timers, nodes, sent };
}

const token = (origin: string, round: number): SyncToken => ({ origin, epoch: 1, round, full: false, wantFull: false, entries: [], stubs: [] });

/** What `receiver` sends back to `to` as an answer (a token under a negative round) once `message` reaches it. */
function answersTo(ring: ReturnType<typeof settledRing>, receiver: string, message: SyncMessage, to: string) {
  const before = ring.sent.length;
  ring.nodes.get(receiver)!.receive(message, () => undefined);
  return ring.sent.slice(before).filter((s) => s.from === receiver && s.to === to && s.message.kind === 'token' && s.message.token.round < 0);
}

describe('RingSync: the answer to a starved server', () => {
  it("answers a starved server's own round once, with every entry in full under the round negated", () => {
    const ring = settledRing();
    // c (not the initiator: a is the lowest alive id) sends its own round 7 straight to d.
    const round = { kind: 'token', from: 'c', token: token('c', 7) } as const;
    const answers = answersTo(ring, 'd', round, 'c');
    expect(answers).toHaveLength(1);
    const answer = answers[0]!.message as Extract<SyncMessage, { kind: 'token' }>;
    expect(answer.from).toBe('d');
    expect(answer.token.origin).toBe('c');
    expect(answer.token.round).toBe(-7);
    expect(answer.token.full).toBe(true);
    expect(answer.token.wantFull).toBe(false);
    expect(answer.token.entries.map((e) => e.serverId).sort()).toEqual(IDS);
    // The same token again is not a first visit: no second answer.
    expect(answersTo(ring, 'd', round, 'c')).toEqual([]);
  });

  it('answers no token relayed by another server, of the initiator, or of the receiver itself', () => {
    const ring = settledRing();
    // c's round relayed by b: c is not starved of b's tokens.
    expect(answersTo(ring, 'd', { kind: 'token', from: 'b', token: token('c', 8) }, 'b')).toEqual([]);
    expect(answersTo(ring, 'd', { kind: 'token', from: 'b', token: token('c', 8) }, 'c')).toEqual([]);
    // The initiator's own round: it is the one expected to start rounds.
    expect(answersTo(ring, 'd', { kind: 'token', from: 'a', token: token('a', 900) }, 'a')).toEqual([]);
    // d's own round coming back from c.
    expect(answersTo(ring, 'd', { kind: 'token', from: 'd', token: token('d', 900) }, 'd')).toEqual([]);
  });
});
