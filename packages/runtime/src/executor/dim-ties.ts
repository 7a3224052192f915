import { EparaError, type NamedTensors } from '@epara/core';
import type { ModelIoInfo } from '../devices/device-port.js';

/** One place of a tied dim: an input and an axis of it. */
export interface DimPlace {
  readonly input: string;
  readonly axis: number;
}

/**
 * Dims the model names alike (`input_ids [batch, seq]` and `attention_mask [batch, seq]`): onnxruntime reads one
 * symbol as one size, so a request must give every place the same size.
 */
export interface DimTie {
  readonly symbol: string;
  readonly places: readonly DimPlace[];
}

/**
 * The symbols that name more than one dim of the inputs, with their places. `skip` leaves a place out (a batch
 * axis, which holds one item per request; an input whose dims the service overrides). Unnamed free dims
 * (onnxruntime reports them as `''`) tie nothing.
 */
export function dimTies(inputs: readonly ModelIoInfo[], skip: (input: string, axis: number, symbol: string) => boolean): DimTie[] {
  const bySymbol = new Map<string, DimPlace[]>();
  for (const io of inputs) {
    io.dims.forEach((d, axis) => {
      if (typeof d !== 'string' || d === '' || skip(io.name, axis, d)) return;
      let places = bySymbol.get(d);
      if (places === undefined) bySymbol.set(d, (places = []));
      places.push({ input: io.name, axis });
    });
  }
  const ties: DimTie[] = [];
  for (const [symbol, places] of bySymbol) if (places.length > 1) ties.push({ symbol, places });
  return ties;
}

/**
 * Checks that a request gives every place of each tie one size (places of inputs it does not carry — a state a
 * stream provides — are left out).
 *
 * @throws EparaError `INVALID_INPUT` naming the symbol and the two places that disagree.
 */
export function checkDimTies(ties: readonly DimTie[], inputs: NamedTensors, serviceId: string): void {
  for (let t = 0; t < ties.length; t++) {
    const tie = ties[t]!;
    let first: DimPlace | undefined;
    let size = 0;
    for (const place of tie.places) {
      const d = inputs[place.input]?.dims[place.axis];
      if (d === undefined) continue;
      if (first === undefined) {
        first = place;
        size = d;
      } else if (d !== size) {
        throw new EparaError(
          'INVALID_INPUT',
          `${serviceId}: input '${place.input}' dim ${place.axis} is ${d}, but input '${first.input}' dim ${first.axis} is ${size}: the model names both '${tie.symbol}', one size`,
          { serviceId, input: place.input, symbol: tie.symbol },
        );
      }
    }
  }
}
