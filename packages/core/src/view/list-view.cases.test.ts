import { describe, expect, it } from 'vitest';
import type { ServerEntry } from './server-entry.js';
import { createView } from './merge-view.js';
import { isListView, listView } from './entry-list.js';

function entry(serverId: string): ServerEntry {
  return { serverId, epoch: 0, version: 1, updatedAt: 0, alive: true, instances: [], load: 0, freeMemoryBytes: 0, arrivalRates: {} };
}

describe('listView', () => {
  it('falls back to an eager record only for ids that start with a digit, or __proto__', () => {
    // '0' and '9' are the digit range's ends; '/' and ':' the characters just outside it.
    for (const id of ['0', '9', '0x1', '7a', '__proto__']) expect(isListView(listView([entry('a'), entry(id)]))).toBe(false);
    for (const id of ['/', ':', 'a', 's1', '_proto']) expect(isListView(listView([entry('a'), entry(id)]))).toBe(true);
  });

  it('is told apart from views built otherwise', () => {
    expect(isListView(createView([entry('a')]))).toBe(false);
    expect(isListView({ entries: {} })).toBe(false);
  });

  it('shows only an enumerable `entries`, as a record literal would', () => {
    const list = [entry('a'), entry('b')];
    const view = listView(list);
    expect(Object.keys(view)).toEqual(['entries']);
    expect(JSON.stringify(view)).toBe(JSON.stringify(createView(list)));
    expect({ ...view }.entries).toEqual({ a: list[0], b: list[1] });
  });
});
