// A host of the NATS package, typechecked against its published types (strict, skipLibCheck: false). Not with
// exactOptionalPropertyTypes: the NATS client's own declarations (@nats-io/nats-core 3.4) do not pass it.
import { createNode } from '@epara/mesh';
import { connectNats, createNatsTransport, createNatsViewSync } from '@epara/mesh-nats';
import type { NatsConnection } from '@epara/mesh-nats';

export async function start(executor: Parameters<typeof createNode>[0]['executor']): Promise<NatsConnection> {
  const connection = await connectNats({ servers: 'nats://127.0.0.1:4222' });
  const node = createNode({
    id: 'edge-a', executor, security: { psk: process.env['EPARA_PSK'] ?? '' },
    transport: createNatsTransport({ connection, name: 'edge-a' }),
    viewSync: (ctx) => createNatsViewSync({ ...ctx, connection }),
  });
  await node.start();
  return connection;
}
