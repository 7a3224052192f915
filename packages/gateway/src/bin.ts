#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isEparaError } from '@epara/core';
import { serveConfigJsonSchema } from './serve/config-schema.js';
import { loadServeConfig } from './serve/load-config.js';
import { configDir, startServer } from './serve/start-server.js';

const USAGE = `usage: epara serve <config.yaml|json>      start executor, mesh node and gateway
       epara serve --check <config>          validate the config and exit
       epara serve --schema                  print the config's JSON Schema`;

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { check: { type: 'boolean' }, schema: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  const [command, file] = positionals;
  if (values.help || command !== 'serve') {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  if (values.schema) {
    console.log(JSON.stringify(serveConfigJsonSchema(), null, 2));
    return 0;
  }
  if (file === undefined) {
    console.error(USAGE);
    return 2;
  }
  const config = loadServeConfig(file);
  if (values.check) {
    console.log(`${file}: ok (node ${config.node.id}, ${config.services.length} service(s))`);
    return 0;
  }
  const server = await startServer(config, { baseDir: configDir(file) });
  // One JSON line that scripts and tests can read.
  console.log(JSON.stringify({ event: 'listening', node: config.node.id, ...server.addresses }));
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        console.error(`epara serve: ${signal} again, closing now`);
        void server.close().finally(() => resolve(1));
        return;
      }
      stopping = true;
      console.log(JSON.stringify({ event: 'draining', signal }));
      server.drain().then(
        () => (console.log(JSON.stringify({ event: 'stopped', ...server.gateway.stats() })), resolve(0)),
        (err: unknown) => (console.error(err), resolve(1)),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(isEparaError(err) ? `epara serve: ${err.message}` : err);
    process.exit(1);
  },
);
