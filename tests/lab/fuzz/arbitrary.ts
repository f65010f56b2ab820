/**
 * Values for fuzzing, made from the very TypeBox schemas the instance checks its input with: mostly values the schema
 * accepts (so they get past validation and reach the code behind it, edge values favoured by fast-check), and now and
 * then a value of any shape in place of a field (so the checks themselves are tried too).
 */
import type { TSchema } from "@sinclair/typebox";
import { Kind, OptionalKind } from "@sinclair/typebox";
import fc from "fast-check";

export interface ArbitraryOptions {
  /** Chance, per field, of a value of any shape instead of one the schema accepts. @default 0.02 */
  hostile?: number;
  /** Most items of an array or record made, whatever the schema allows (its limits are tried by other frames). @default 8 */
  maxItems?: number;
  /** Values for string fields by pattern: the fuzzer's known room ids, node ids and file ids, so frames name real things. */
  known?: Map<string, string[]>;
}

/** An arbitrary of values for `schema`. */
export function arbitraryOf(schema: TSchema, options: ArbitraryOptions = {}): fc.Arbitrary<unknown> {
  const hostile = options.hostile ?? 0.02;
  const maxItems = options.maxItems ?? 8;
  const any = fc.anything({ maxDepth: 2, withNullPrototype: false });
  const walk = (s: TSchema): fc.Arbitrary<unknown> => {
    const fair = shape(s);
    if (hostile <= 0) return fair;
    const weight = Math.max(1, Math.round(1 / hostile) - 1);
    return fc.oneof({ arbitrary: fair, weight }, { arbitrary: any, weight: 1 });
  };
  const shape = (s: TSchema): fc.Arbitrary<unknown> => {
    switch (s[Kind]) {
      case "Literal":
        return fc.constant(s.const);
      case "Boolean":
        return fc.boolean();
      case "Null":
        return fc.constant(null);
      case "Integer":
        return fc.integer({ min: Math.max(s.minimum ?? Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER), max: Math.min(s.maximum ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) });
      case "Number":
        return fc.double({ min: s.minimum ?? -1e308, max: s.maximum ?? 1e308, noNaN: true });
      case "String": {
        const known = s.pattern ? options.known?.get(s.pattern) : undefined;
        const made = s.pattern
          ? fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length <= (s.maxLength ?? Infinity) && v.length >= (s.minLength ?? 0))
          : fc.string({ unit: "grapheme", minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 64, 64) });
        return known && known.length > 0 ? fc.oneof({ arbitrary: fc.constantFrom(...known), weight: 3 }, { arbitrary: made, weight: 1 }) : made;
      }
      case "Array":
        return fc.array(walk(s.items), { minLength: s.minItems ?? 0, maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? maxItems, maxItems)) });
      case "Object": {
        const required = new Set<string>(s.required ?? []);
        const fields: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [key, field] of Object.entries(s.properties as Record<string, TSchema>)) fields[key] = walk(field);
        const optional = Object.keys(fields).filter((k) => !required.has(k) || (s.properties[k] as TSchema)[OptionalKind] === "Optional");
        return fc.record(fields, { requiredKeys: Object.keys(fields).filter((k) => !optional.includes(k)) });
      }
      case "Record": {
        const [pattern, value] = Object.entries(s.patternProperties as Record<string, TSchema>)[0]!;
        const key = options.known?.get(pattern)?.length ? fc.oneof(fc.constantFrom(...options.known.get(pattern)!), fc.stringMatching(new RegExp(pattern))) : fc.stringMatching(new RegExp(pattern));
        return fc.dictionary(key, walk(value), { maxKeys: Math.min(s.maxProperties ?? maxItems, maxItems) });
      }
      case "Union":
        return fc.oneof(...(s.anyOf as TSchema[]).map(walk));
      default:
        return any;
    }
  };
  return walk(schema);
}

/** Byte-level damage to an encoded frame: flipped bits, cut short, lengthened, spliced with noise. */
export const damaged = (bytes: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.integer({ min: 0, max: Math.max(0, bytes.byteLength * 8 - 1) }).map((bit) => {
      const out = bytes.slice();
      if (out.byteLength > 0) out[bit >> 3]! ^= 1 << (bit & 7);
      return out;
    }),
    fc.integer({ min: 0, max: bytes.byteLength }).map((n) => bytes.slice(0, n)),
    fc.uint8Array({ maxLength: 64 }).map((tail) => new Uint8Array([...bytes, ...tail])),
    fc.tuple(fc.integer({ min: 0, max: bytes.byteLength }), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, noise]) => {
      const out = bytes.slice();
      out.set(noise.subarray(0, Math.max(0, out.byteLength - at)), at);
      return out;
    }),
  );

/** A deterministic stream of samples: `next()` draws from `arbitrary` under `seed`, batch by batch. */
export function sampler<T>(arbitrary: fc.Arbitrary<T>, seed: number, batch = 64): () => T {
  let round = 0;
  let queue: T[] = [];
  return () => {
    if (queue.length === 0) queue = fc.sample(arbitrary, { seed: seed + round++, numRuns: batch });
    return queue.pop()!;
  };
}
