import { describe, expect, it } from 'vitest';
import type { World } from '../world/world.js';
import { ArrivalSlackBook } from './arrival-slack.js';

/** The parts of a world the book reads: two services, three servers, an early-window prior for service 0. */
const world = {
  servers: ['a', 'b', 'c'].map((id) => ({ spec: { id } })),
  services: ['seg', 'hci'].map((id) => ({ spec: { id } })),
  earlyWindowSlackMs: [[[10, 20], [], [30]], [[], [], []]],
} as unknown as World;

describe('ArrivalSlackBook', () => {
  it('hands placement the early window’s slack until a pair has enough arrivals of its own', () => {
    const book = new ArrivalSlackBook(world);
    expect(book.slackMs(world, [0, 1, 2])).toEqual({ seg: { a: [10, 20], c: [30] }, hci: {} });
    for (let i = 0; i < 31; i++) book.record(0, 0, 100);
    expect(book.slackMs(world, [0])['seg']).toEqual({ a: [10, 20] });
  });

  it('then 20 quantiles of the last 256 arrivals, ascending', () => {
    const book = new ArrivalSlackBook(world);
    for (let i = 0; i < 32; i++) book.record(1, 2, 32 - i);
    const q = book.slackMs(world, [2])['hci']!['c']!;
    expect(q).toHaveLength(20);
    expect([...q].sort((x, y) => x - y)).toEqual(q);
    expect(q[0]).toBe(1);
    expect(q[19]).toBe(32);
    // The ring keeps the most recent 256: after 300 arrivals of 1000 ms, the 32 early ones are gone.
    for (let i = 0; i < 300; i++) book.record(1, 2, 1000);
    expect(book.slackMs(world, [2])['hci']!['c']).toEqual(new Array(20).fill(1000));
  });

  it('lists only the zone’s servers', () => {
    const book = new ArrivalSlackBook(world);
    expect(book.slackMs(world, [2])).toEqual({ seg: { c: [30] }, hci: {} });
  });
});
