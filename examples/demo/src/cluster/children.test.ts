import { describe, expect, it } from 'vitest';
import { childFlags } from './children.js';

describe('childFlags', () => {
  it('gives a child the flags of its own entry and of `*`, split on spaces, and none without a spec', () => {
    const spec = 'edge-0:--cpu-prof --cpu-prof-dir=/tmp/prof; *:--max-old-space-size=512;triton-1: --trace-gc ';
    expect(childFlags(spec, 'edge-0')).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/prof', '--max-old-space-size=512']);
    expect(childFlags(spec, 'triton-1')).toEqual(['--max-old-space-size=512', '--trace-gc']);
    expect(childFlags(spec, 'client-0')).toEqual(['--max-old-space-size=512']);
    expect(childFlags(undefined, 'edge-0')).toEqual([]);
    expect(childFlags('no colon here', 'edge-0')).toEqual([]);
  });
});
