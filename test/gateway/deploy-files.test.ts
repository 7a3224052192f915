import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseServeConfig } from '@epara/gateway';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/* The deployment files docs/deploy.md shows, checked without a Docker engine: the compose file parses and wires three nodes whose configs validate and point at each other. */

const deploy = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'gateway', 'deploy');

interface ComposeService {
  command: string[];
  volumes: string[];
  ports: string[];
  secrets: string[];
  healthcheck: { test: string[] };
  stop_grace_period: string;
  build: { dockerfile: string };
}

describe('packages/gateway/deploy', () => {
  const compose = parse(readFileSync(join(deploy, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService>; secrets: Record<string, { file: string }> };
  const names = Object.keys(compose.services);

  it('defines three nodes built from the Dockerfile, each with its own config, health check and drain grace', () => {
    expect(names).toEqual(['edge-a', 'edge-b', 'edge-c']);
    for (const name of names) {
      const s = compose.services[name]!;
      expect(s.build.dockerfile).toBe('packages/gateway/deploy/Dockerfile');
      expect(s.secrets).toEqual(['epara_psk']);
      expect(s.healthcheck.test.join(' ')).toContain('/v2/health/ready');
      expect(Number.parseInt(s.stop_grace_period, 10)).toBeGreaterThanOrEqual(20);
      const [host, inContainer] = s.volumes[0]!.split(':');
      expect(inContainer).toBe(s.command[0]);
      expect(host).toMatch(/^\.\/node-[abc]\.yaml$/);
    }
    expect(compose.secrets['epara_psk']!.file).toBe('./epara_psk.txt');
    const hostPorts = names.flatMap((n) => compose.services[n]!.ports.map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('gives every node a config that validates, advertises its compose name and seeds the other two', () => {
    const ids = new Set<string>();
    for (const name of names) {
      const file = compose.services[name]!.volumes[0]!.split(':')[0]!;
      const config = parseServeConfig(readFileSync(join(deploy, file), 'utf8'), file);
      ids.add(config.node.id);
      expect(config.node.id).toBe(name);
      expect(config.node.listen.host).toBe('0.0.0.0');
      expect(config.node.advertise).toBe(`ws://${name}:7400/epara`);
      expect(config.node.seeds.map((s) => new URL(s).hostname).sort()).toEqual(names.filter((n) => n !== name));
      expect(config.security).toEqual({ psk: { file: '/run/secrets/epara_psk' } });
      expect(config.gateway.http).toMatchObject({ host: '0.0.0.0', port: 8000 });
      expect(compose.services[name]!.ports).toContain('' + compose.services[name]!.ports[0]!.split(':')[0] + ':8000');
      expect(config.drainTimeoutMs).toBeLessThan(Number.parseInt(compose.services[name]!.stop_grace_period, 10) * 1000);
    }
    expect(ids.size).toBe(3);
  });

  it('has a Dockerfile whose entry point is epara serve', () => {
    const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "packages/gateway/dist/bin.js", "serve"]');
    expect(dockerfile).toMatch(/EXPOSE 7400 8000 8001/);
  });
});
