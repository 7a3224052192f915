import type { Logger } from '@epara/core';

/** Levels of the `log.level` setting of `epara serve`, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * A pino-compatible logger writing one JSON object per line (`{"time","level","msg",…}`) through `write`
 * (stderr in `epara serve`, so that stdout keeps only the `event` lines scripts read). Errors in the object are
 * written as `{ code, message }`. Entries below `level` are dropped.
 */
export function createLineLogger(level: LogLevel, write: (line: string) => void): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const at = (name: Exclude<LogLevel, 'silent'>) => {
    if (LOG_LEVELS.indexOf(name) < min) return (): void => undefined;
    return (obj: object | string, msg?: string): void => {
      const fields = typeof obj === 'string' ? { msg: obj } : { ...plain(obj), ...(msg !== undefined ? { msg } : {}) };
      let line: string;
      try {
        line = JSON.stringify({ time: new Date().toISOString(), level: name, ...fields });
      } catch {
        line = JSON.stringify({ time: new Date().toISOString(), level: name, msg: msg ?? String(obj) });
      }
      write(`${line}\n`);
    };
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function plain(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!(v instanceof Error)) {
      out[k] = v;
      continue;
    }
    const code: unknown = (v as Error & { code?: unknown }).code;
    out[k] = { ...(typeof code === 'string' ? { code } : {}), message: v.message };
  }
  return out;
}
