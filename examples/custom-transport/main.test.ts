import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { parseBusMessage } from './wire.js';

describe('examples/custom-transport: two nodes over the broadcast-channel transport', () => {
  it('offloads real inferences (PP-OCR classifier) over the custom transport; answers equal direct runs', async () => {
    const report = await main({ short: true, channel: `main-${process.pid}` });
    expect(report.addresses).toEqual(['bc:server', 'bc:edge']);
    expect(report.answers).toHaveLength(3);
    report.answers.forEach((a, i) => {
      expect(a).toHaveLength(2);
      a.forEach((p, k) => expect(p).toBeCloseTo(report.direct[i]![k]!, 5));
    });
    expect(report.edge).toEqual({ offloaded: 3, ranLocally: 0 });
    expect(report.server.received).toBe(3);
  }, 60_000);

  it('ignores anything on the channel that is not a well-formed message', () => {
    for (const junk of [null, 42, 'x', {}, { v: 2, to: 'a', from: 'b', conn: 'c', op: 'open' }, { v: 1, to: 'a', from: 'b', conn: 'c', op: 'frame', data: 'str' }, { v: 1, to: 'a', from: 'b', conn: 'c', op: 'drop' }]) {
      expect(parseBusMessage(junk)).toBeUndefined();
    }
    expect(parseBusMessage({ v: 1, to: 'a', from: 'b', conn: 'c', op: 'frame', data: new Uint8Array(1) })?.op).toBe('frame');
  });
});
