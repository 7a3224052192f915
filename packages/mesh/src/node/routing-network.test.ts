import { describe, expect, it } from 'vitest';
import { PeerDelays } from '../placement/peer-delays.js';
import { routingNetwork } from './node-parts.js';

describe('routingNetwork: the delays routing prices peers with', () => {
  it('is the configured model while nothing is measured', () => {
    const configured = { delayMs: { b: 5 }, bandwidthBytesPerMs: { b: 1000 } };
    const network = routingNetwork(configured, () => undefined);
    expect(network()).toBe(configured);
  });

  it('takes the measured one-way delays for peers the host did not configure, and the configured ones over them', () => {
    const delays = new PeerDelays('a');
    delays.sample('b', 0, 40); // 20 ms one way
    delays.sample('c', 0, 8); // 4 ms one way
    const network = routingNetwork({ delayMs: { c: 12 }, bandwidthBytesPerMs: { c: 500 } }, () => delays.own());
    expect(network()).toEqual({ delayMs: { b: 20, c: 12 }, bandwidthBytesPerMs: { c: 500 } });
  });

  it('keeps one merged model until a probe changes the measurements', () => {
    const delays = new PeerDelays('a');
    delays.sample('b', 0, 10);
    const network = routingNetwork({}, () => delays.own());
    const first = network();
    expect(network()).toBe(first);
    delays.sample('b', 100, 130); // 15 ms: smoothed 5 + 0.3 × (15 − 5) = 8
    const second = network();
    expect(second).not.toBe(first);
    expect(second.delayMs).toEqual({ b: 8 });
  });
});
