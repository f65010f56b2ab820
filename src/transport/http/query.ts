/**
 * The query parameters the protocol reads, each checked here and only here. A request whose query breaks its schema
 * gets 400 with the rule in words.
 */
import { Type, type StaticDecode, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { MAX_REASON_CHARS } from "../limits.ts";

/** Up to 15 decimal digits (so the number stays exact), matching `pattern`, read as a number. */
const wholeNumber = (pattern: string) =>
  Type.Transform(Type.String({ pattern, maxLength: 15 }))
    .Decode((digits) => Number(digits))
    .Encode(String);

/** A close reason, cut to MAX_REASON_CHARS. */
const Reason = Type.Transform(Type.String())
  .Decode((reason) => reason.slice(0, MAX_REASON_CHARS))
  .Encode((reason) => reason);

/** One request's query: its schema, and the rule in words for a query that breaks it. */
export class Query<T extends TSchema> {
  readonly #check: TypeCheck<T>;

  constructor(schema: T, readonly rule: string) {
    this.#check = TypeCompiler.Compile(schema);
  }

  /** The query's values, or undefined when it breaks the schema. A repeated parameter counts by its first value. */
  read(url: URL): StaticDecode<T> | undefined {
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] ??= value;
    return this.#check.Check(query) ? this.#check.Decode(query) : undefined;
  }
}

/** POST <id>/send: the number of the body's first frame. */
export const sendQuery = new Query(Type.Object({ seq: wholeNumber("^0*[1-9][0-9]*$") }), "seq must be a whole number from 1");
/** GET <id>/poll: the last frame the dialer received. */
export const pollQuery = new Query(Type.Object({ ack: wholeNumber("^[0-9]+$") }), "ack must be a whole number");
/** DELETE <id>: why the dialer closed. */
export const closeQuery = new Query(Type.Object({ reason: Type.Optional(Reason) }), "reason must be text");
