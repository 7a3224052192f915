import { describe, expect, it } from 'vitest';
import { EgressHistory } from './egress-history.js';

describe('EgressHistory', () => {
  it('serializes each server’s sends from the later of now and its backlog’s end', () => {
    const h = new EgressHistory(2);
    h.send(0, 10, 5);
    h.send(0, 12, 5);
    h.send(0, 30, 1);
    h.send(1, 11, 2);
    expect(h.freeAt(0)).toBe(31);
    expect(h.freeAt(1)).toBe(13);
  });

  it('tells what the backlog’s end was at an earlier time: the last send at or before it', () => {
    const h = new EgressHistory(1);
    h.send(0, 10, 5);
    h.send(0, 12, 5);
    h.send(0, 30, 1);
    expect(h.at(0, 9)).toBe(0);
    expect(h.at(0, 10)).toBe(15);
    expect(h.at(0, 11.9)).toBe(15);
    expect(h.at(0, 12)).toBe(20);
    expect(h.at(0, 29)).toBe(20);
    expect(h.at(0, 40)).toBe(31);
  });

  it('knows nothing older than its last 64 changes: 0, never a later backlog', () => {
    const h = new EgressHistory(1);
    for (let i = 0; i < 100; i++) h.send(0, i, 10);
    // Sends at 0 … 99 ms of 10 ms each: after the send at i the link is busy until 10·(i + 1); 36 … 99 are kept.
    expect(h.at(0, 35.5)).toBe(0);
    expect(h.at(0, 36)).toBe(370);
    expect(h.at(0, 50.5)).toBe(510);
    expect(h.at(0, 99)).toBe(h.freeAt(0));
    expect(h.freeAt(0)).toBe(1000);
  });
});
