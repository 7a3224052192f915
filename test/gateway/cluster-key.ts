import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A mesh key of one test cluster's own: returns a function that rewrites a serve config's `security` (the shared
 * test key, or `insecure: true`) to a fresh random key in a file. The test files' clusters run alongside each other
 * on one host with the same node ids (`entry`, `w1`…) and ports probed free; with one shared key, a server of
 * another file that dials a port this cluster took (a seed whose process it restarted, a start tried again on
 * other ports) joins it, and a newer run under an id of this cluster is taken for that server restarted: the
 * server of this cluster is refused as its replaced run, and its instances leave the view for good.
 */
export function ownClusterKey(): (config: string) => string {
  const file = join(mkdtempSync(join(tmpdir(), 'epara-key-')), 'psk');
  writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  const security = `psk: { file: ${JSON.stringify(file)} }`;
  return (config) => {
    const keyed = config.replace('security: { insecure: true }', `security: { ${security} }`).replace('psk: { env: EPARA_TEST_PSK }', security);
    if (keyed === config) throw new Error('ownClusterKey: the config has neither the shared test key nor insecure: true');
    return keyed;
  };
}
