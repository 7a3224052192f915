import { credentials, makeGenericClientConstructor, Metadata, status } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { servedOipGrpc } from './oip-grpc-client.js';
import { classifierConfig, clsInput } from './serve-process.js';

/*
 * grpc-js with the shipped .proto loaded at run time, as any outside client would: many calls at once on one
 * channel mixing good and malformed requests, a streaming method the protocol does not have, and a burst of
 * cancellations. Every call ends with the code of the error table, and the server keeps serving.
 */

type Call = (req: object, meta: Metadata, opts: object, cb: (err: ServiceError | null, res: { raw_output_contents?: Buffer[] }) => void) => { cancel(): void };
const served = servedOipGrpc<Call>(classifierConfig({ id: 'edge-grpc-outside', deadlineMs: 20_000 }));

const x = Buffer.from(clsInput(0.5).buffer);
const good = { model_name: 'cls', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 192] }], raw_input_contents: [x] };
const outcome = (req: object): Promise<{ code: string; epara?: string }> =>
  new Promise((resolve) =>
    served.client['ModelInfer']!(req, new Metadata(), { deadline: Date.now() + 60_000 }, (err, res) =>
      resolve(err ? { code: status[err.code], epara: err.metadata.get('epara-code')[0] as string } : { code: res.raw_output_contents?.length === 1 ? 'OK' : 'EMPTY' }),
    ),
  );


describe('grpc-js clients from outside, many at once', () => {
  it('120 concurrent calls on one channel, good and malformed mixed: each ends with its own code', async () => {
    const kinds: [string, object, { code: string; epara?: string }][] = [
      ['good', good, { code: 'OK' }],
      ['unknown model', { ...good, model_name: 'nope' }, { code: 'NOT_FOUND', epara: 'UNKNOWN_SERVICE' }],
      ['wrong shape', { ...good, inputs: [{ ...good.inputs[0], shape: [1, 3, 48, 191] }] }, { code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT' }],
      ['no inputs', { model_name: 'cls' }, { code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT' }],
      ['two raw contents', { ...good, raw_input_contents: [x, x] }, { code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT' }],
      ['short raw contents', { ...good, raw_input_contents: [x.subarray(4)] }, { code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT' }],
      ['unknown datatype', { ...good, inputs: [{ ...good.inputs[0], datatype: 'FP99' }] }, { code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT' }],
      ['huge shape', { ...good, inputs: [{ ...good.inputs[0], shape: [1e15, 3, 48, 192] }] }, { code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT' }],
      ['bad deadline', { ...good, parameters: { epara_deadline_ms: { string_param: 'soon' } } }, { code: 'INVALID_ARGUMENT', epara: 'INVALID_INPUT' }],
      ['empty model name', { ...good, model_name: '' }, { code: 'NOT_FOUND', epara: 'UNKNOWN_SERVICE' }],
    ];
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => outcome(kinds[i % kinds.length]![1]).then((r) => [i % kinds.length, r] as const)));
    for (const [k, r] of results) expect({ kind: kinds[k]![0], ...r }).toEqual({ kind: kinds[k]![0], ...kinds[k]![2] });
  });

  it('a streaming method the gateway does not serve is UNIMPLEMENTED on every one of 20 concurrent streams', async () => {
    const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
    const Stream = makeGenericClientConstructor({ ModelStreamInfer: { path: '/inference.GRPCInferenceService/ModelStreamGenerate', requestStream: true, responseStream: true, ...bytes } } as never, 'stream');
    const streaming = new Stream(served.serve.grpc, credentials.createInsecure()) as unknown as Client & { ModelStreamInfer(): NodeJS.ReadWriteStream & { end(): void } };
    try {
      const ends = await Promise.all(
        Array.from({ length: 20 }, () =>
          new Promise<string>((resolve) => {
            const s = streaming.ModelStreamInfer();
            s.on('error', (e: ServiceError) => resolve(status[e.code]));
            s.on('data', () => undefined);
            s.on('end', () => resolve('END'));
            s.write(Buffer.alloc(0));
            s.write(Buffer.alloc(0));
            s.end();
          }),
        ),
      );
      expect(new Set(ends)).toEqual(new Set(['UNIMPLEMENTED']));
    } finally {
      streaming.close();
    }
  });

  it('40 calls cancelled mid-flight all end CANCELLED, and the server still answers', async () => {
    const cancelled = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        new Promise<string>((resolve) => {
          const c = served.client['ModelInfer']!(good, new Metadata(), { deadline: Date.now() + 60_000 }, (err) => resolve(err ? status[err.code] : 'OK'));
          // Half at once, half once the call is under way; a call that finished first is OK, never an error.
          if (i % 2 === 0) c.cancel();
          else setImmediate(() => c.cancel());
        }),
      ),
    );
    for (const c of cancelled) expect(['CANCELLED', 'OK']).toContain(c);
    expect(cancelled.filter((c) => c === 'CANCELLED').length).toBeGreaterThan(0);
    expect(await outcome(good)).toEqual({ code: 'OK' });
  });
});
