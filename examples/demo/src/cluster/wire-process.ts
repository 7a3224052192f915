import { serveChild } from './child-rpc.js';
import { startDelayLink, type DelayLink, type DelayLinkOptions } from './delay-link.js';

/*
 * The emulated network between the edge sites, in a process of its own (so relaying bytes does not compete
 * with the demo's orchestration or with any node's event loop): one delaying TCP link per ordered pair of
 * nodes and per system.
 */

const links = new Map<string, DelayLink>();

serveChild(
  {
    /** Starts links; answers `{ key: address }` (`host:port`). */
    async open(specs: readonly (DelayLinkOptions & { key: string })[]) {
      const out: Record<string, string> = {};
      for (const s of specs) {
        const link = await startDelayLink(s);
        links.set(s.key, link);
        out[s.key] = link.address;
      }
      return out;
    },
    /** Bytes carried so far by every link. */
    bytes: () => [...links.values()].reduce((a, l) => a + l.bytes(), 0),
  },
  async () => {
    await Promise.all([...links.values()].map((l) => l.close()));
  },
);
