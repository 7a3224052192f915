import { EparaError } from '@epara/core';

/** A call from the demo's main process to one of its children. */
export interface CallMessage {
  readonly kind: 'call';
  readonly id: number;
  readonly op: string;
  readonly arg: unknown;
}

/** A child's answer to a {@link CallMessage}, or an event it reports on its own (progress). */
export type ChildMessage =
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: { code: string; message: string } }
  | { readonly kind: 'event'; readonly name: string; readonly value: unknown };

/** Handlers of a child process, by operation name. */
export type ChildHandlers = Readonly<Record<string, (arg: never) => unknown>>;

/**
 * The child side of the demo's process protocol: answers calls from the main process over the IPC channel,
 * and leaves when the main process goes away (its channel disconnects — a crash or Ctrl-C of the parent
 * included), so no child outlives the demo. Ctrl-C reaches the whole process group; children ignore it and let
 * the main process stop them in order. `shutdown` runs `onExit` and ends the process.
 */
export function serveChild(handlers: ChildHandlers, onExit: () => Promise<void>): void {
  if (!process.send) throw new EparaError('INTERNAL', 'this module runs as a child process of the demo');
  // tsx turns on Node's source-mapped stack traces, which formats every error's stack through the source maps
  // (hundreds of microseconds each: a dropped stream frame is an error). A deployed node runs compiled code
  // without them; so do the demo's children, both systems alike (EPARA_DEMO_SOURCE_MAPS=1 keeps them).
  if (process.env.EPARA_DEMO_SOURCE_MAPS !== '1') process.setSourceMapsEnabled(false);
  let leaving = false;
  const leave = (code: number): void => {
    if (leaving) return;
    leaving = true;
    // A hung close must not keep the process alive: leave anyway after a grace period.
    setTimeout(() => process.exit(code), 3000).unref();
    onExit().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => leave(0));
  process.on('disconnect', () => leave(0));
  process.on('message', (raw) => {
    const m = raw as CallMessage;
    if (m?.kind !== 'call') return;
    if (m.op === 'shutdown') {
      reply({ kind: 'reply', id: m.id, ok: true, value: null });
      return leave(0);
    }
    const handler = handlers[m.op] as ((arg: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new EparaError('INVALID_OPTIONS', `unknown operation ${m.op}`);
        return handler(m.arg);
      })
      .then(
        (value) => reply({ kind: 'reply', id: m.id, ok: true, value: value ?? null }),
        (err: unknown) => reply({ kind: 'reply', id: m.id, ok: false, error: { code: (err as { code?: string }).code ?? 'INTERNAL', message: err instanceof Error ? err.message : String(err) } }),
      );
  });
}

/** Sends an event to the main process (ignored when the channel is gone). */
export function emitToParent(name: string, value: unknown): void {
  reply({ kind: 'event', name, value });
}

function reply(m: ChildMessage): void {
  if (process.connected) process.send!(m, undefined, undefined, () => undefined);
}
