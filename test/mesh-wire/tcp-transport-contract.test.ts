import { runTransportContract } from '@epara/mesh/testing';
import { deadPort } from './helpers.js';
import { createTcpTransport } from './tcp-transport.example.js';

// The custom-transport example of docs/mesh-transports.md passes the same contract as the built-in ones.
runTransportContract('tcp (docs example)', {
  createServer: (o) => createTcpTransport(o),
  createClient: (o) => createTcpTransport(o),
  deadAddress: async () => `127.0.0.1:${await deadPort()}`,
});
