import { runTransportContract } from '@epara/mesh/testing';
import { createBroadcastTransport } from './broadcast-transport.js';

// The shared contract every EPARA transport passes (memory, WebSocket, NATS, the TCP docs example).
// A channel per run keeps parallel test files from seeing each other's messages.
const channel = `contract-${process.pid}`;
runTransportContract('broadcast-channel (examples/custom-transport)', {
  createServer: (o) => createBroadcastTransport({ channel, ...o }),
  createClient: (o) => createBroadcastTransport({ channel, ...o }),
  deadAddress: () => 'bc:nobody-listens-here',
});
