import type { HistoryMessage, TickMessage } from '../src/collect/snapshot-types.js';
import { openLiveStream } from './live-stream.js';
import type { LiveStream } from './live-stream.js';

/**
 * The shared worker every tab of the dashboard in one browser talks to: it holds the one live event stream and
 * hands each update to every tab. A browser opens at most six HTTP/1.1 connections to one origin; with a stream
 * per tab, the seventh tab waited forever for its page (and every other request to that origin waited too).
 *
 * Messages to a tab: `{ type: 'history', data }` once on connect (the points so far), then `{ type: 'tick', data }`,
 * `{ type: 'down' }` while the stream reconnects, and `{ type: 'signed-out' }` when the server no longer takes the
 * browser's session (it came back with another token). A tab says `{ type: 'bye' }` when it goes away.
 */

/** The parts of a worker's and a port's API used here (the page's tsconfig carries DOM types, not WebWorker's). */
interface Port {
  postMessage(message: unknown): void;
  start(): void;
  addEventListener(type: 'message', listener: (ev: { data: unknown }) => void): void;
}
interface SharedScope {
  location: { search: string };
  addEventListener(type: 'connect', listener: (ev: { ports: readonly Port[] }) => void): void;
}

const scope = self as unknown as SharedScope;
const prefix = new URLSearchParams(scope.location.search).get('prefix') ?? '/dashboard';
const ports = new Set<Port>();
let history: HistoryMessage | undefined;
let points: HistoryMessage['points'][number][] = [];
let last: TickMessage | undefined;

function send(message: unknown): void {
  for (const port of ports) port.postMessage(message);
}

let stream: LiveStream | undefined;
function connect(): LiveStream {
  return openLiveStream(prefix, {
    history: (h) => {
      history = h;
      points = [...h.points];
      send({ type: 'history', data: h });
    },
    tick: (t) => {
      last = t;
      if (points[points.length - 1]?.t !== t.point.t) points.push(t.point);
      const windowSec = (history?.windowMs ?? 300_000) / 1000;
      while (points.length > 0 && t.point.t - points[0]!.t > windowSec) points.shift();
      send({ type: 'tick', data: t });
    },
    down: () => send({ type: 'down' }),
    // The tabs show the sign-in form; the stream opens again for the tab that signs in.
    signedOut: () => send({ type: 'signed-out' }),
  });
}

scope.addEventListener('connect', (ev) => {
  const port = ev.ports[0]!;
  ports.add(port);
  port.addEventListener('message', (m) => {
    if ((m.data as { type?: unknown } | null)?.type === 'bye') ports.delete(port);
  });
  port.start();
  if (history) port.postMessage({ type: 'history', data: { ...history, points } });
  if (last) port.postMessage({ type: 'tick', data: last });
  // A stream stopped for a sign-out (or never opened) is opened again for a new tab.
  if (stream === undefined) stream = connect();
  else stream.resume();
});
