import type { ClusterView, NamedTensors } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { resolveGatewayOptions } from '../gateway-options.js';
import type { InferRequest } from '../protocol/infer-types.js';
import { InferCore } from './infer-core.js';

/*
 * Request and output parameters that change what the answer holds are read exactly: a value of the wrong type,
 * or an extension the gateway does not implement (Triton's shared memory), is a 400 naming it rather than
 * an answer in another form than the client asked for.
 */

const core = new InferCore(
  resolveGatewayOptions({
    node: { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: (_s: string, inputs: NamedTensors) => Promise.resolve({ y: inputs['x']! }) },
    models: [{ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] }],
    http: false,
    grpc: false,
  }),
);

const request = (extra: Partial<InferRequest>): InferRequest => ({ model: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }], ...extra });

describe('request and output parameters', () => {
  it('answers binary outputs as asked, per output or for the whole request', async () => {
    expect((await core.infer(request({ outputs: [{ name: 'y', parameters: { binary_data: true } }] }))).outputs[0]!.binary).toBe(true);
    expect((await core.infer(request({ parameters: { binary_data_output: true } }))).outputs[0]!.binary).toBe(true);
    expect((await core.infer(request({ parameters: { binary_data_output: true }, outputs: [{ name: 'y', parameters: { binary_data: false } }] }))).outputs[0]!.binary).toBe(false);
  });

  it('refuses binary_data and binary_data_output that are not booleans', async () => {
    await expect(core.infer(request({ outputs: [{ name: 'y', parameters: { binary_data: 'true' } }] }))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'outputs[0].parameters.binary_data must be true or false, got "true"' });
    await expect(core.infer(request({ parameters: { binary_data_output: 1 } }))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'parameters.binary_data_output must be true or false, got 1' });
  });

  it('refuses an output asked for twice, as Triton does, instead of answering it once', async () => {
    await expect(core.infer(request({ outputs: [{ name: 'y' }, { name: 'y', parameters: { binary_data: true } }] }))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'outputs[1]: output y is asked for twice' });
  });

  it("answers Triton's classification: the top values of the whole tensor as BYTES \"value:index\", highest first", async () => {
    const res = await core.infer(request({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [0.25, 3.5, -1, 3.5] }], outputs: [{ name: 'y', parameters: { classification: 3 } }] }));
    const y = res.outputs[0]!;
    expect(y).toMatchObject({ name: 'y', datatype: 'BYTES', shape: [3], binary: false });
    // Equal values keep their index order; the value is printed as C's %f.
    expect(Array.from(y.data)).toEqual(['3.500000:1', '3.500000:3', '0.250000:0']);
    // More classes than values: every value, once.
    expect((await core.infer(request({ outputs: [{ name: 'y', parameters: { classification: 9 } }] }))).outputs[0]!.data).toEqual(['2.000000:1', '1.000000:0']);
  });

  it('refuses a class count that is not a positive integer', async () => {
    for (const k of [0, -1, 1.5, '2', true]) {
      await expect(core.infer(request({ outputs: [{ name: 'y', parameters: { classification: k } }] }))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/^outputs\[0\]\.parameters\.classification must be a positive integer/) });
    }
  });

  it("refuses Triton's shared memory extension, which it does not implement, on inputs and outputs", async () => {
    // An output the client expects in its shared memory region would otherwise be answered in the body, and the
    // client would read its region, unwritten.
    await expect(core.infer(request({ outputs: [{ name: 'y', parameters: { shared_memory_region: 'out0', shared_memory_byte_size: 8 } }] }))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/outputs\[0\]\.parameters\.shared_memory_region: the shared memory extension is not supported/),
    });
    const input = { name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { shared_memory_region: 'in0', shared_memory_byte_size: 8 } };
    await expect(core.infer(request({ inputs: [input] }))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/inputs\[0\] \(x\)\.parameters\.shared_memory_region: the shared memory extension is not supported/) });
  });

  it('refuses an output the model does not answer even when its metadata lists no outputs', async () => {
    const unknown = new InferCore(
      resolveGatewayOptions({
        node: { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: (_s: string, inputs: NamedTensors) => Promise.resolve({ y: inputs['x']! }) },
        models: [{ name: 'm', inputs: [], outputs: [] }],
        http: false,
        grpc: false,
      }),
    );
    expect((await unknown.infer(request({ outputs: [{ name: 'y' }] }))).outputs.map((o) => o.name)).toEqual(['y']);
    await expect(unknown.infer(request({ outputs: [{ name: 'nope' }] }))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'model m has no output nope (outputs: y)' });
    // Names of Object.prototype's members are names like any other, not the members.
    for (const name of ['constructor', 'toString', '__proto__']) {
      await expect(unknown.infer(request({ outputs: [{ name }] }))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: `model m has no output ${name} (outputs: y)` });
    }
  });

  it('hands an input named like a member of Object.prototype to the node as that input', async () => {
    let seen: NamedTensors | undefined;
    const core2 = new InferCore(
      resolveGatewayOptions({
        node: { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: (_s: string, inputs: NamedTensors) => ((seen = inputs), Promise.resolve({ y: inputs['__proto__']! })) },
        models: [{ name: 'm', inputs: [], outputs: [] }],
        http: false,
        grpc: false,
      }),
    );
    const res = await core2.infer({ model: 'm', inputs: [{ name: '__proto__', datatype: 'FP32', shape: [1, 2], data: [3, 4] }] });
    expect(Object.keys(seen!)).toEqual(['__proto__']);
    expect(Array.from(res.outputs[0]!.data)).toEqual([3, 4]);
  });

  it("refuses Triton's sequence parameters, whose server-side state it does not keep, instead of running each request alone", async () => {
    const sequences: InferRequest['parameters'][] = [{ sequence_id: 7 }, { sequence_id: 'user-1' }, { sequence_start: true }, { sequence_end: true }];
    for (const parameters of sequences) {
      await expect(core.infer(request({ parameters })), JSON.stringify(parameters)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/sequence batching is not supported/) });
    }
    // What tritonclient sends for a request outside any sequence is accepted.
    expect((await core.infer(request({ parameters: { sequence_id: 0, sequence_start: false, sequence_end: false } }))).outputs).toHaveLength(1);
  });

  it("takes Triton's timeout parameter (microseconds) as the deadline when EPARA's is not given", async () => {
    const deadlines: (number | undefined)[] = [];
    const clock = { now: () => 1000 };
    const timed = new InferCore(
      resolveGatewayOptions({
        node: { id: 'n1', view: () => ({ entries: {} }) as unknown as ClusterView, submit: (_s: string, inputs: NamedTensors, o?: { deadline?: number }) => (deadlines.push(o?.deadline), Promise.resolve({ y: inputs['x']! })) },
        models: [{ name: 'm', inputs: [], outputs: [] }],
        http: false,
        grpc: false,
        clock,
      }),
    );
    await timed.infer(request({ parameters: { timeout: 250_000 } }));
    await timed.infer(request({ parameters: { timeout: 250_000, epara_deadline_ms: 40 } }));
    await timed.infer(request({}));
    expect(deadlines).toEqual([1250, 1040, undefined]);
    await expect(timed.infer(request({ parameters: { timeout: -5 } }))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/timeout must be a positive number of microseconds/) });
  });
});
