#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { GatewayAddresses } from './gateway.js';

// Each command imports only what it runs (`import()` below): --version, --help and a usage error load no module
// beyond Node's own, --schema the schema's, --check the config's and the model reader's; the server's (HTTP, gRPC,
// the mesh, metrics, the dashboard) load only to serve.

const USAGE = `usage: epara serve <config.yaml|json>      start executor, mesh node and gateway
       epara serve --check <config>          validate the config and exit
       epara serve --schema                  print the config's JSON Schema
       epara --version                       print the version

SIGTERM, SIGINT or SIGHUP drains (not ready at once, accepted requests finish) and exits 0; a second one exits now.`;

const OPTIONS = { check: { type: 'boolean' }, schema: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } } as const;

/** The package's version (the built bin sits in dist/, beside the package.json one folder up). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The command line, or the usage error it makes (an unknown option, a value given to a flag). */
function readArgs(argv: readonly string[]): ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>> | string {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  } catch (err) {
    // node:util reports a misuse as a TypeError whose code starts ERR_PARSE_ARGS_: the user's mistake, not a crash.
    if ((err as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS_')) return (err as Error).message;
    throw err;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const args = readArgs(argv);
  if (typeof args === 'string') {
    console.error(`epara: ${args}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  const [command, file] = positionals;
  if (values.version) {
    console.log(`epara ${version()}`);
    return 0;
  }
  if (values.help || command !== 'serve') {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  if (positionals.length > 2) {
    console.error(`epara serve: one config file, got ${positionals.length - 1} (${positionals.slice(1).join(' ')})\n${USAGE}`);
    return 2;
  }
  if (values.schema) {
    const { serveConfigJsonSchema } = await import('./serve/config-schema.js');
    console.log(JSON.stringify(serveConfigJsonSchema(), null, 2));
    return 0;
  }
  if (file === undefined) {
    console.error(USAGE);
    return 2;
  }
  const { configDir, loadServeConfig } = await import('./serve/load-config.js');
  const config = loadServeConfig(file);
  if (values.check) {
    const [{ readModelIo }, { secretProblems }] = await Promise.all([import('./serve/model-metadata.js'), import('./serve/read-secrets.js')]);
    // The model files are read too (not loaded): a missing or unreadable file fails here, and so does a model
    // with a tensor type EPARA does not carry (the server would serve the others and answer it LOAD_FAILED).
    // The secrets are read as the start reads them (the key's variable or file, the TLS files, the dashboard's
    // token): run the check where the server runs, with its environment.
    const at = (p: string): string => resolve(configDir(file), p);
    const unavailable = [...config.services.map((s) => readModelIo(at(s.model), s).unavailable).filter((w) => w !== undefined), ...secretProblems(config, at, process.env)];
    for (const why of unavailable) console.error(`epara serve: ${why}`);
    if (unavailable.length > 0) return 1;
    console.log(`${file}: ok (node ${config.node.id}, ${config.services.length} service(s))`);
    return 0;
  }
  // Once the config is read, what the process says goes out as the server's log does: JSON lines on stderr at
  // log.level (a log collector reading them met a plain line for each signal).
  const { createLineLogger } = await import('./serve/serve-logger.js');
  const logger = createLineLogger(config.log.level, (line) => void process.stderr.write(line));
  // Signals are handled from the start: one that arrives while models load drains as soon as the server is up.
  let stopping: string | undefined;
  let onStop: ((signal: string) => void) | undefined;
  const signal = (name: string): void => {
    if (onStop) return onStop(name);
    if (stopping === undefined) {
      stopping = name;
      logger.info({ signal: name }, `${name} while starting: draining once the models are loaded (${name} again to exit now)`);
      return;
    }
    // A second signal while the models load (it used to be ignored: a Ctrl-C twice waited for every load) ends
    // the process by that signal. Not process.exit: onnxruntime aborts (a core dump) when a worker it is loading
    // a model in is torn down under it.
    logger.warn({ signal: name }, `${name} again while starting, exiting now`);
    process.removeAllListeners(name);
    process.kill(process.pid, name);
  };
  process.on('SIGTERM', () => signal('SIGTERM'));
  process.on('SIGINT', () => signal('SIGINT'));
  // There is no reload: a hang-up (the terminal closed) drains like SIGTERM rather than killing mid-request.
  process.on('SIGHUP', () => signal('SIGHUP'));
  // The gateway listens (live, not ready) before the models load: its addresses, port 0's included, said at once.
  const live = (addresses: GatewayAddresses): void => console.log(JSON.stringify({ event: 'live', node: config.node.id, ...addresses }));
  const { startServer } = await import('./serve/start-server.js');
  const server = await startServer(config, { baseDir: configDir(file), logger, onLive: live });
  // One JSON line that scripts and tests can read.
  console.log(JSON.stringify({ event: 'listening', node: config.node.id, ...server.addresses }));
  return new Promise<number>((resolve) => {
    let draining = false;
    onStop = (name: string): void => {
      if (draining) {
        logger.warn({ signal: name }, `${name} again, closing now`);
        void server.close().finally(() => resolve(1));
        return;
      }
      draining = true;
      console.log(JSON.stringify({ event: 'draining', signal: name }));
      server.drain().then(
        () => (console.log(JSON.stringify({ event: 'stopped', ...server.gateway.stats() })), resolve(0)),
        (err: unknown) => (logger.error({ err }, `drain failed: ${(err as Error).message}`), resolve(1)),
      );
    };
    if (stopping !== undefined) onStop(stopping);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    const { isEparaError } = await import('@epara/core');
    console.error(isEparaError(err) ? `epara serve: ${err.message}` : err);
    process.exit(1);
  },
);
