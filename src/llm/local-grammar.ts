// The grammar that constrains the local model's answer: node-llama-cpp's JSON-schema grammar for the request's strict
// JSON Schema, with every string and list bounded and the number and date rules tightened to what validation accepts.
import type { GbnfJsonSchema, Llama, LlamaGrammar } from "./node-llama-cpp.js";

/** Most items a list value may hold: with the string bound, every answer has a finite longest form. */
export const MAX_LIST_ITEMS = 50;

type JsonSchema = Record<string, unknown>;

/**
 * Debrief's strict JSON Schema (objects of required properties, `anyOf` with null, type arrays, string enums,
 * date formats, string lists) in node-llama-cpp's GbnfJsonSchema dialect, with length bounds added. Anything
 * outside that subset is a bug in the schema builder, not a client mistake: it throws.
 */
export function toGbnfSchema(schema: JsonSchema, bounds: { maxStringChars: number }): GbnfJsonSchema {
  const convert = (node: JsonSchema): GbnfJsonSchema => {
    if (Array.isArray(node.anyOf)) return { oneOf: (node.anyOf as JsonSchema[]).map(convert) };
    if (Array.isArray(node.enum)) return { enum: node.enum as (string | number | boolean | null)[] };
    if (Array.isArray(node.type)) return { oneOf: (node.type as string[]).map((type) => convert({ ...node, type })) };
    switch (node.type) {
      case "object": {
        const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
        return {
          type: "object",
          properties: Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, convert(value)])),
          required: Object.keys(properties),
          additionalProperties: false,
        };
      }
      case "array":
        return { type: "array", items: convert((node.items ?? {}) as JsonSchema), maxItems: MAX_LIST_ITEMS };
      case "string":
        if (node.format === "date" || node.format === "date-time") return { type: "string", format: node.format };
        return { type: "string", maxLength: bounds.maxStringChars };
      case "number":
      case "integer":
      case "boolean":
      case "null":
        return { type: node.type };
      default:
        throw new Error(`the local model's grammar does not support this JSON Schema node: ${JSON.stringify(node).slice(0, 200)}`);
    }
  };
  return convert(schema);
}

const DAY_OF_MONTH = [
  '("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])',
  '("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30")',
  // 29 February of a non-leap year still reaches validation (and a repair round): rare, and a grammar cannot count years.
  '"02" "-" ("0" [1-9] | [12] [0-9])',
].join(" | ");
const DATE = `[0-9]{4} "-" (${DAY_OF_MONTH})`;
const TIME = '([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? ("Z" | ("+" | "-") ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])';

/**
 * node-llama-cpp's terminals are looser than Debrief's validation: an integer may take a negative exponent (1e-3),
 * a number an exponent that overflows to Infinity (1e999), and a date any day up to 31 in any month. Each would
 * cost a repair round; these rules allow only what validation accepts. Keyed by the generated rule's name.
 */
export const TIGHTER_RULES: Readonly<Record<string, string>> = {
  "integer-number-rule": '"-"? ("0" | [1-9] [0-9]{0,15})',
  "fractional-number-rule": '"-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? ("0" | [1-9] [0-9]?))?',
  "string-format-date-rule": `"\\"" ${DATE} "\\""`,
  "string-format-date-time-rule": `"\\"" ${DATE} "T" ${TIME} "\\""`,
};

export function tightenGrammar(gbnf: string): string {
  return gbnf
    .split("\n")
    .map((line) => {
      const name = /^([\w-]+) ::= /.exec(line)?.[1];
      return name && TIGHTER_RULES[name] ? `${name} ::= ${TIGHTER_RULES[name]}` : line;
    })
    .join("\n");
}

/** Builds (once per compiled schema: the output schema cache keeps the object identity) the grammar of a schema. */
export class GrammarCache {
  readonly #llama: Llama;
  readonly #bounds: { maxStringChars: number };
  readonly #grammars = new WeakMap<JsonSchema, Promise<LlamaGrammar>>();
  #anyJson: Promise<LlamaGrammar> | undefined;

  constructor(llama: Llama, bounds: { maxStringChars: number }) {
    this.#llama = llama;
    this.#bounds = bounds;
  }

  forSchema(schema: JsonSchema): Promise<LlamaGrammar> {
    let grammar = this.#grammars.get(schema);
    if (!grammar) {
      grammar = this.#build(schema);
      this.#grammars.set(schema, grammar);
      // A failed build is not kept: the next request tries again.
      grammar.catch(() => this.#grammars.delete(schema));
    }
    return grammar;
  }

  /** json_object mode has no schema: any JSON value. */
  anyJson(): Promise<LlamaGrammar> {
    return this.#anyJson ?? (this.#anyJson = this.#llama.getGrammarFor("json"));
  }

  async #build(schema: JsonSchema): Promise<LlamaGrammar> {
    const base = await this.#llama.createGrammarForJsonSchema<GbnfJsonSchema>(toGbnfSchema(schema, this.#bounds));
    return this.#llama.createGrammar({
      grammar: tightenGrammar(base.grammar),
      stopGenerationTriggers: base.stopGenerationTriggers,
      trimWhitespaceSuffix: base.trimWhitespaceSuffix,
    });
  }
}
