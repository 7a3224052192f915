import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const read = (rel: string): string => readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8');

describe('docs/mesh.md quick start', () => {
  it('is shown verbatim in the guide and runs: three nodes, an offloaded request, a remote stream', async () => {
    const code = read('./docs-quickstart.ts');
    const body = code.slice(0, code.indexOf('\nexport const result'));
    expect(read('../../docs/mesh.md')).toContain(body.trim());
    const { result } = await import('./docs-quickstart.js');
    expect(result).toEqual({ doubled: [2, 4], pinnedTo: 'edge-c', summary: { pushed: 3, completed: 3, dropped: 0 } });
  });
});
