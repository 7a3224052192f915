import type { SimStream } from '../world/types.js';
import type { World } from '../world/world.js';

/** Event kind: a stream client's admission request reaches its access server (`ref`: the stream). */
export const EV_CLIENT_ADMIT = 65;
/** Event kind: the access server's word that a stream is pinned, or no longer, reaches its client (`ref`: the word). */
export const EV_CLIENT_ANSWER = 66;

/** What a stream's client hears from its access server: whether its stream is pinned now. */
interface ClientAnswer {
  readonly stream: SimStream;
  readonly pinned: boolean;
}

/**
 * The stream clients' side of admission: what each client knows of its stream (its access server's last word, one
 * access leg old) and its admission requests, each taking the access leg up (one at a time per stream).
 */
export class StreamClients {
  readonly #pinned = new Map<SimStream, boolean>();
  readonly #asking = new Set<SimStream>();

  /** `listening`: whether clients act on what they hear (they keep frames only then); no words are sent otherwise. */
  constructor(private readonly listening: boolean) {}

  /** The access server tells a stream's client whether its stream is pinned: the word takes the access leg down. */
  tell(world: World, stream: SimStream, pinned: boolean): void {
    if (!this.listening) return;
    world.schedule(world.clock.now() + world.servers[stream.origin]!.preset.accessLatencyMs, EV_CLIENT_ANSWER, 0, { stream, pinned } satisfies ClientAnswer);
  }

  /** A stream's client sends its access server an admission request, unless one is on its way. */
  ask(world: World, stream: SimStream): void {
    if (this.#asking.has(stream)) return;
    this.#asking.add(stream);
    world.schedule(world.clock.now() + world.servers[stream.origin]!.preset.accessLatencyMs, EV_CLIENT_ADMIT, 0, stream);
  }

  /** A request of `stream`'s client reached its access server ({@link EV_CLIENT_ADMIT}). */
  arrived(stream: SimStream): void {
    this.#asking.delete(stream);
  }

  /** A word reached its client ({@link EV_CLIENT_ANSWER}'s `ref`). */
  heard(ref: unknown): void {
    const { stream, pinned } = ref as ClientAnswer;
    if (!stream.ended) this.#pinned.set(stream, pinned);
  }

  /** Whether the client knows its stream pinned. */
  knowsPinned(stream: SimStream): boolean {
    return this.#pinned.get(stream) === true;
  }

  /** The stream ended. */
  forget(stream: SimStream): void {
    this.#pinned.delete(stream);
    this.#asking.delete(stream);
  }
}
