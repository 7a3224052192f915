import type { WireMessage } from '../protocol/messages.js';

/**
 * The protocol messages of request offloading and remote streams (the wire layer's types, so the node and
 * the codec never drift apart). Request ids are chosen by the sender and unique per link; a stream's
 * messages share the id of its `stream-open`.
 */
export type OffloadMessage = Extract<
  WireMessage,
  { type: 'submit' | 'result' | 'error' | 'cancel' | 'stream-open' | 'stream-accepted' | 'stream-frame' | 'stream-result' | 'stream-close' }
>;
