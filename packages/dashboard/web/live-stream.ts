import type { HistoryMessage, TickMessage } from '../src/collect/snapshot-types.js';

/** What a live stream tells its reader. */
export interface LiveStreamEvents {
  history(data: HistoryMessage): void;
  tick(data: TickMessage): void;
  /** The stream is down; it is being opened again. */
  down(): void;
  /** The server refuses this browser's credentials (it came back with another token): the stream stops. */
  signedOut(): void;
}

/** A live stream of the dashboard's updates; {@link LiveStream.resume} opens it again after a sign-out. */
export interface LiveStream {
  /** Opens the stream again if it stopped for good (signed out); does nothing while it runs or retries. */
  resume(): void;
}

const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 10_000;

/**
 * The dashboard's event stream (`<prefix>/events`), opened again whatever ends it. An EventSource reconnects by
 * itself only after a network error: an answer other than 200 ends it for good — the 503 of a dashboard that is
 * closing while its server stops (the page reconnects at once and the HTTP port still answers), of a server with
 * too many streams, or the 401 of a server back with another token. The page then said "reconnecting…" for ever.
 * After such an answer this asks again, every 1 s doubling to 10 s; a 401 on the snapshot means the browser's
 * session no longer opens the page, and is reported (the page then shows its sign-in form) instead.
 */
export function openLiveStream(prefix: string, on: LiveStreamEvents): LiveStream {
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let delay = FIRST_RETRY_MS;
  const connect = (): void => {
    const s = new EventSource(`${prefix}/events`);
    source = s;
    s.addEventListener('open', () => (delay = FIRST_RETRY_MS));
    s.addEventListener('history', (ev) => on.history(JSON.parse((ev as MessageEvent<string>).data) as HistoryMessage));
    s.addEventListener('tick', (ev) => on.tick(JSON.parse((ev as MessageEvent<string>).data) as TickMessage));
    s.addEventListener('error', () => {
      on.down();
      if (s.readyState !== EventSource.CLOSED || retry !== undefined) return;
      retry = setTimeout(() => void again(), delay);
      delay = Math.min(delay * 2, LAST_RETRY_MS);
    });
  };
  const again = async (): Promise<void> => {
    const status = await fetch(`${prefix}/snapshot.json`, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' }).then(
      (r) => r.status,
      () => 0,
    );
    retry = undefined;
    if (status === 401) {
      source = undefined;
      on.signedOut();
      return;
    }
    connect();
  };
  connect();
  return {
    resume: () => {
      if (source === undefined && retry === undefined) connect();
    },
  };
}
