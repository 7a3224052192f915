import type { InferParameters } from '../protocol/infer-types.js';

/*
 * A JSON number is read as a double: an integer past 2^53 sent as a request parameter (a trace id, a uint64
 * sequence number) reads as a neighbour, and echoed as it was read the answer would carry another number. The
 * request's `parameters` are echoed with the digits they were sent with instead, as gRPC echoes an `int64_param`
 * or `uint64_param` exactly.
 */

/** The sent text of each request parameter whose number JSON.parse could not keep, by name. */
export type ParameterText = ReadonlyMap<string, { readonly text: string; readonly value: number }>;

/** Whether a parsed number may differ from the one its text wrote: an integer past 2^53, or past the doubles. */
function inexact(v: unknown): v is number {
  return typeof v === 'number' && (!Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v)));
}

/**
 * The sent text of the numbers of the top-level `parameters` object of `json` (valid JSON whose parse gave
 * `parameters`) that JSON.parse could not keep, or `undefined` when every one was kept (the common case, where
 * the text is not scanned at all).
 */
export function parameterText(json: string, parameters: InferParameters | undefined): ParameterText | undefined {
  if (parameters === undefined) return undefined;
  let any = false;
  for (const k in parameters) if (inexact(parameters[k])) any = true;
  if (!any) return undefined;
  const found = new Map<string, { text: string; value: number }>();
  const s = new Scanner(json);
  s.ws();
  s.i++; // the top-level object's '{'
  let params: number | undefined;
  for (s.ws(); json[s.i] !== '}'; s.ws()) {
    const key = s.key();
    // JSON.parse keeps the last of a repeated key: so does this.
    if (key === 'parameters' && json[s.i] === '{') params = s.i;
    s.skip();
    s.ws();
    if (json[s.i] === ',') s.i++;
  }
  if (params === undefined) return undefined;
  s.i = params + 1;
  for (s.ws(); json[s.i] !== '}'; s.ws()) {
    const key = s.key();
    const from = s.i;
    s.skip();
    const text = json.slice(from, s.i);
    const value = parameters[key];
    if (inexact(value) && Number(text) === value) found.set(key, { text, value });
    else found.delete(key);
    s.ws();
    if (json[s.i] === ',') s.i++;
  }
  return found.size === 0 ? undefined : found;
}

/** The `parameters` object of an answer as JSON text: each value the request sent inexactly with its sent digits. */
export function parametersJson(parameters: InferParameters, sent: ParameterText | undefined): string {
  if (sent === undefined) return JSON.stringify(parameters);
  let out = '';
  for (const k of Object.keys(parameters)) {
    const v = parameters[k];
    const s = sent.get(k);
    out += `${out === '' ? '' : ','}${JSON.stringify(k)}:${s !== undefined && Object.is(s.value, v) ? s.text : JSON.stringify(v)}`;
  }
  return `{${out}}`;
}

/** Walks valid JSON text: whitespace, a member's key, a whole value. */
class Scanner {
  i = 0;
  constructor(readonly text: string) {}

  ws(): void {
    const t = this.text;
    while (this.i < t.length && (t[this.i] === ' ' || t[this.i] === '\n' || t[this.i] === '\r' || t[this.i] === '\t')) this.i++;
  }

  /** A member's key, decoded, and past its ':'. */
  key(): string {
    const from = this.i;
    this.string();
    const key = JSON.parse(this.text.slice(from, this.i)) as string;
    this.ws();
    this.i++; // ':'
    this.ws();
    return key;
  }

  string(): void {
    const t = this.text;
    this.i++; // '"'
    while (t[this.i] !== '"') this.i += t[this.i] === '\\' ? 2 : 1;
    this.i++;
  }

  /** Past one value (a string, a number, a literal, or an array or object with everything inside it). */
  skip(): void {
    const t = this.text;
    const c = t[this.i];
    if (c === '"') return this.string();
    if (c !== '{' && c !== '[') {
      while (this.i < t.length && !',}] \n\r\t'.includes(t[this.i]!)) this.i++;
      return;
    }
    let depth = 0;
    do {
      const d = t[this.i];
      if (d === '"') {
        this.string();
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') depth--;
      this.i++;
    } while (depth > 0);
  }
}
