import { EparaError } from '@epara/core';
import type { ClusterView, NamedTensors } from '@epara/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';
import { defaultSplitItems, namedItemAxes } from '../gateway-options.js';
import type { GatewayNode, GatewayTensor } from '../gateway-options.js';

/*
 * A request of N items is split into N submits only while the model answers each item with a first dimension
 * of 1. A node whose service concatenates its input with itself over dimension 0 (declared `[-1, 2]` both ways,
 * as exporters write it) answers one item with two rows: stacking those would be a wrong answer with status 200.
 */

const open: Gateway[] = [];
afterEach(async () => {
  for (const g of open.splice(0)) await g.close();
});

/** y = concat(x, x) on dimension 0; takes only one item per submit, like an executor that batches on dim 0. */
function twiceNode(): GatewayNode & { submits: number[] } {
  const submits: number[] = [];
  return {
    id: 'n1',
    submits,
    view: () => ({ entries: {} }) as unknown as ClusterView,
    submit(_service: string, inputs: NamedTensors): Promise<NamedTensors> {
      const x = inputs['x']!;
      submits.push(x.dims[0]!);
      if (x.dims[0] !== 1) return Promise.reject(new EparaError('INVALID_INPUT', `input 'x' dim 0 is ${x.dims[0]}, expected 1`));
      const data = new Float32Array(x.data.length * 2);
      data.set(x.data as Float32Array);
      data.set(x.data as Float32Array, x.data.length);
      return Promise.resolve({ y: { type: 'float32', dims: [2 * x.dims[0]!, ...x.dims.slice(1)], data } });
    },
  };
}

async function post(url: string, shape: number[], data: number[]): Promise<{ status: number; body: { outputs?: { shape: number[]; data: number[] }[]; code?: string } }> {
  const res = await fetch(`${url}/v2/models/twice/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape, data }] }) });
  return { status: res.status, body: (await res.json()) as never };
}

describe('splitting a request into items', () => {
  it('does not stack outputs that are not batched on their first dimension: the request goes whole, refused by a node that takes one item', async () => {
    const node = twiceNode();
    const gateway = createGateway({ node, models: [{ name: 'twice', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] }], http: { port: 0 }, grpc: false });
    open.push(gateway);
    const { http } = await gateway.start();
    const one = await post(http!, [1, 2], [1, 2]);
    expect(one.body.outputs?.[0]).toMatchObject({ shape: [2, 2], data: [1, 2, 1, 2] });
    // Split into three items, each answered [2, 2]: not stacked into [x0,x0,x1,x1,x2,x2] but sent whole.
    const three = await post(http!, [3, 2], [1, 2, 3, 4, 5, 6]);
    expect(three).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT', error: expect.stringMatching(/not one row per item.*send these items one per request/) } });
    expect(node.submits).toEqual([1, 1, 1, 1, 3]);
    // Refused whole, whole is not remembered: a later request is split again (a model whose rows depend on the values
    // answers another request's items one row each), and refused alike here.
    expect(await post(http!, [2, 2], [1, 2, 3, 4])).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT' } });
    expect(node.submits).toEqual([1, 1, 1, 1, 3, 1, 1, 2]);
  });

  it('asks canSplitItems before splitting, each time: false sends the request whole', async () => {
    const node = twiceNode();
    let allowed = false;
    const asked: string[] = [];
    const gateway = createGateway({
      node,
      models: [{ name: 'twice', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] }],
      canSplitItems: (m) => (asked.push(m.serviceId), allowed),
      http: { port: 0 },
      grpc: false,
    });
    open.push(gateway);
    const { http } = await gateway.start();
    await post(http!, [1, 2], [1, 2]);
    expect(asked).toEqual([]); // one item: nothing to split
    expect(await post(http!, [2, 2], [1, 2, 3, 4])).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT' } });
    expect(node.submits).toEqual([1, 2]);
    allowed = true;
    await post(http!, [2, 2], [1, 2, 3, 4]);
    expect(asked).toEqual(['twice', 'twice']);
    expect(node.submits.slice(2, 4)).toEqual([1, 1]);
  });

  it('gives an input the model gives a default to every item whole, even when its first dimension matches the batch', async () => {
    // y = x + bias over x [-1, 2] and bias [2], an initializer a request may override: the node answers each item.
    const seen: number[][] = [];
    const node: GatewayNode = {
      id: 'n1',
      view: () => ({ entries: {} }) as unknown as ClusterView,
      submit(_service: string, inputs: NamedTensors): Promise<NamedTensors> {
        const x = inputs['x']!;
        const bias = inputs['bias']!;
        seen.push([...bias.dims]);
        if (x.dims[0] !== 1) return Promise.reject(new EparaError('INVALID_INPUT', `input 'x' dim 0 is ${x.dims[0]}, expected 1`));
        if (bias.dims[0] !== 2) return Promise.reject(new EparaError('INVALID_INPUT', `input 'bias' dim 0 is ${bias.dims[0]}, expected 2`));
        const data = (x.data as Float32Array).map((v, i) => v + (bias.data as Float32Array)[i]!);
        return Promise.resolve({ y: { type: 'float32', dims: [...x.dims], data } });
      },
    };
    const gateway = createGateway({
      node,
      models: [{ name: 'biased', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }, { name: 'bias', datatype: 'FP32', shape: [2], optional: true }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] }],
      http: { port: 0 },
      grpc: false,
    });
    open.push(gateway);
    const { http } = await gateway.start();
    const res = await fetch(`${http}/v2/models/biased/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] }, { name: 'bias', datatype: 'FP32', shape: [2], data: [10, 20] }] }),
    });
    const body = (await res.json()) as { outputs?: { shape: number[]; data: number[] }[]; error?: string };
    expect(body.error).toBeUndefined();
    expect(body.outputs?.[0]).toMatchObject({ shape: [2, 2], data: [11, 22, 13, 24] });
    expect(seen).toEqual([[2], [2]]);
  });

  it('refuses a canSplitItems that is not a function', () => {
    expect(() => createGateway({ node: twiceNode(), models: [], canSplitItems: true as never })).toThrow(/canSplitItems/);
  });
});

/*
 * The gateway reads the model's dimension names by the executor's rule: a first dimension named as a length
 * (`seq`, `sequence_length`, `time`, `frames`, `num_tokens`) is not a batch, and neither is dimension 0 of a tensor
 * whose batch is named elsewhere. Before, only `-1` was read: a sequence model `x [seq, 80]` that the executor runs
 * whole (one sequence per request) had each request of N steps cut into N one-step requests, each answered alone and
 * stacked back — a wrong answer with status 200 whenever no checked local instance was there to say otherwise.
 */
describe('the split rule and dimension names', () => {
  const t = (dimNames?: (string | undefined)[], shape = [-1, 2]): GatewayTensor => ({ name: 't', datatype: 'FP32', shape, ...(dimNames ? { dimNames } : {}) });
  const model = (input: GatewayTensor, output: GatewayTensor = t()) => ({ inputs: [input], outputs: [output] });

  it('splits a first dimension that is unnamed or named as the batch, or named anything else', () => {
    for (const names of [undefined, [undefined, undefined], ['batch', undefined], ['N', undefined], ['batch_size', 'seq'], ['unk__0', undefined]]) {
      expect(defaultSplitItems(model(t(names))), String(names)).toBe(true);
    }
  });

  it('does not split a first dimension named as a length, in an input or an output', () => {
    for (const name of ['seq', 'sequence', 'seq_len', 'sequence_length', 'audio_length', 'time', 'frames', 'num_tokens', 'T_len']) {
      expect(defaultSplitItems(model(t([name, undefined]))), name).toBe(false);
      expect(defaultSplitItems(model(t(), t([name, undefined]))), `${name} (output)`).toBe(false);
    }
  });

  it('does not split dimension 0 of a tensor whose batch is named at another axis (time-major)', () => {
    expect(defaultSplitItems(model(t(['steps', 'batch', undefined], [-1, -1, 80])))).toBe(false);
  });

  it('still needs every first dimension free', () => {
    expect(defaultSplitItems(model(t(['batch', undefined], [1, 2])))).toBe(false);
  });

  it('refuses dimNames that are not names', () => {
    expect(() => createGateway({ node: twiceNode(), models: [{ name: 'm', inputs: [{ ...t(), dimNames: [3] as never }], outputs: [] }] })).toThrow(/inputs\[0\]\.dimNames/);
  });

  it('sends a request of a sequence model whole: the node sees its N steps in one submit', async () => {
    const submits: number[] = [];
    const node: GatewayNode = {
      id: 'n1',
      view: () => ({ entries: {} }) as unknown as ClusterView,
      submit(_service: string, inputs: NamedTensors): Promise<NamedTensors> {
        const x = inputs['x']!;
        submits.push(x.dims[0]!);
        // A running sum over the sequence: each step's answer depends on the steps before it.
        const data = new Float32Array(x.data.length);
        let sum = 0;
        for (let i = 0; i < data.length; i++) data[i] = sum += (x.data as Float32Array)[i]!;
        return Promise.resolve({ y: { type: 'float32', dims: [...x.dims], data } });
      },
    };
    const gateway = createGateway({ node, models: [{ name: 'twice', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1], dimNames: ['seq', undefined] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1], dimNames: ['seq', undefined] }] }], http: { port: 0 }, grpc: false });
    open.push(gateway);
    const { http } = await gateway.start();
    const a = await post(http!, [3, 1], [1, 2, 3]);
    expect(a.body.outputs?.[0]).toMatchObject({ shape: [3, 1], data: [1, 3, 6] });
    expect(submits).toEqual([3]);
  });
});

describe("canSplitItems 'if-refused-whole' (a host whose peers run the model)", () => {
  /** y = x + 1 row by row; `stacks`: takes one item per submit (an instance that stacks), else any rows (runs whole). */
  function plusOneNode(stacks: boolean): GatewayNode & { submits: number[] } {
    const submits: number[] = [];
    return {
      id: 'n1',
      submits,
      view: () => ({ entries: {} }) as unknown as ClusterView,
      submit(_service: string, inputs: NamedTensors): Promise<NamedTensors> {
        const x = inputs['x']!;
        submits.push(x.dims[0]!);
        if (stacks && x.dims[0] !== 1) return Promise.reject(new EparaError('INVALID_INPUT', `input 'x' dim 0 is ${x.dims[0]}, expected 1 (one item per request)`));
        return Promise.resolve({ y: { type: 'float32', dims: [...x.dims], data: Float32Array.from(x.data as Float32Array, (v) => v + 1) } });
      },
    };
  }
  const models = [{ name: 'twice', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] }];

  it('sends a request of several items whole to a node that runs it whole', async () => {
    const node = plusOneNode(false);
    const gateway = createGateway({ node, models, canSplitItems: () => 'if-refused-whole', http: { port: 0 }, grpc: false });
    open.push(gateway);
    const { http } = await gateway.start();
    expect((await post(http!, [2, 2], [1, 2, 3, 4])).body.outputs?.[0]).toMatchObject({ shape: [2, 2], data: [2, 3, 4, 5] });
    expect(node.submits).toEqual([2]);
  });

  it('splits it once the node refuses it whole, and splits that model at once from then on', async () => {
    const node = plusOneNode(true);
    const gateway = createGateway({ node, models, canSplitItems: () => 'if-refused-whole', http: { port: 0 }, grpc: false });
    open.push(gateway);
    const { http } = await gateway.start();
    expect((await post(http!, [2, 2], [1, 2, 3, 4])).body.outputs?.[0]).toMatchObject({ shape: [2, 2], data: [2, 3, 4, 5] });
    expect(node.submits).toEqual([2, 1, 1]);
    expect((await post(http!, [3, 2], [1, 2, 3, 4, 5, 6])).body.outputs?.[0]).toMatchObject({ shape: [3, 2], data: [2, 3, 4, 5, 6, 7] });
    expect(node.submits).toEqual([2, 1, 1, 1, 1, 1]);
  });

  it('splits along the axes axesWhenRefusedWhole gives once refused, and lets the refusal stand when it gives none', async () => {
    const asked: (number | undefined)[] = [];
    const node = plusOneNode(true);
    let axes: { inputs: Record<string, number>; outputs: Record<string, number> } | undefined;
    const gateway = createGateway({
      node,
      models,
      canSplitItems: () => 'if-refused-whole',
      axesWhenRefusedWhole: (_m, request) => (asked.push(request.deadline), Promise.resolve(axes)),
      http: { port: 0 },
      grpc: false,
    });
    open.push(gateway);
    const { http } = await gateway.start();
    const refused = await post(http!, [2, 2], [1, 2, 3, 4]);
    expect(refused.status).toBe(400);
    expect(node.submits).toEqual([2]);
    axes = { inputs: { x: 0 }, outputs: { y: 0 } };
    expect((await post(http!, [2, 2], [1, 2, 3, 4])).body.outputs?.[0]).toMatchObject({ shape: [2, 2], data: [2, 3, 4, 5] });
    expect(node.submits).toEqual([2, 2, 1, 1]);
    expect(asked).toEqual([undefined, undefined]);
  });
});

describe('namedItemAxes: the batch axes dim names give', () => {
  const t = (name: string, shape: number[], dimNames: (string | undefined)[], optional?: boolean) => ({ name, shape, dimNames, ...(optional ? { optional } : {}) });
  it('finds each output’s axis of the inputs’ batch name, an input with a default shared', () => {
    expect(namedItemAxes({ inputs: [t('a', [-1, 3], ['N', undefined]), t('b', [-1, 4], ['N', undefined]), t('opt', [3], [undefined], true), t('k', [2], [undefined])], outputs: [t('y', [-1, 3], ['N', undefined]), t('yt', [3, -1], [undefined, 'N'])] })).toEqual({
      inputs: { a: 0, b: 0, opt: null, k: null },
      outputs: { y: 0, yt: 1 },
    });
  });
  it('says nothing where the names do not: unnamed or differing input dims, an output without the name or with it twice', () => {
    expect(namedItemAxes({ inputs: [t('a', [-1, 3], [undefined, undefined])], outputs: [t('y', [-1, 3], [undefined, undefined])] })).toBeUndefined();
    expect(namedItemAxes({ inputs: [t('a', [-1, 3], ['N', undefined]), t('b', [-1], ['M'])], outputs: [t('y', [-1, 3], ['N', undefined])] })).toBeUndefined();
    expect(namedItemAxes({ inputs: [t('a', [-1, 3], ['N', undefined])], outputs: [t('y', [-1, 3], ['unk__1', undefined])] })).toBeUndefined();
    expect(namedItemAxes({ inputs: [t('a', [-1, 3], ['N', undefined])], outputs: [t('y', [-1, -1], ['N', 'N'])] })).toBeUndefined();
    expect(namedItemAxes({ inputs: [t('a', [-1, 3], ['sequence', undefined])], outputs: [t('y', [-1, 3], ['sequence', undefined])] })).toBeUndefined();
  });
});
