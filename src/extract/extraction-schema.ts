// The schema an extraction asks the model for: the schema module's, with a nested variable's evidence given per leaf
// as a list of {path, quote, turn}. A flat variable set gets the schema module's own schema, unchanged.
// (This belongs beside `rootSchema` in schema/output.ts; it composes that module's schema until it moves there.)
import { z } from "zod";
import { outputSchemaFor, toStrictJsonSchema, type OutputSchema, type VariableSpec } from "../schema/index.js";
import { isNested } from "./paths.js";

/**
 * A list rather than a shape mirroring the value: a list of objects' evidence need not line up item by item with it,
 * and the schema grows by three properties per nested variable, however deep, well inside OpenAI's limits.
 */
const LeafEvidenceSchema = z
  .array(
    z
      .object({
        path: z.string().describe("The field's path inside the variable, as contact.email or items[0].quantity (items numbered from 0)"),
        quote: z.string().describe("The shortest verbatim span of the transcript that establishes the field's value, copied exactly"),
        turn: z.number().int().describe("The [number] of the transcript line the quote comes from"),
      })
      .strict(),
  )
  .nullable()
  .describe("One entry per non-null field; null when the value is null");

const composed = new WeakMap<OutputSchema, OutputSchema>();

/** Swaps each nested variable's evidence for the per-leaf list, in the strict and the lenient root alike. */
function withLeafEvidence(root: z.ZodTypeAny, nested: readonly string[]): z.ZodTypeAny {
  if (!(root instanceof z.ZodObject) || !(root.shape.evidence instanceof z.ZodObject)) {
    throw new Error("the schema module's answer schema is no longer an object with an evidence object: move leaf evidence into it");
  }
  const evidence = (root.shape.evidence as z.AnyZodObject).extend(Object.fromEntries(nested.map((name) => [name, LeafEvidenceSchema])));
  return root.extend({ evidence });
}

/** The answer schema for `specs`, compiled once per distinct variable set (the schema module's is cached, so is this). */
export function extractionSchemaFor(specs: readonly VariableSpec[], options: { evidence: boolean }): OutputSchema {
  const base = outputSchemaFor(specs, options);
  const nested = specs.filter(isNested).map((spec) => spec.name);
  if (!options.evidence || nested.length === 0) return base;
  let schema = composed.get(base);
  if (!schema) {
    const root = withLeafEvidence(base.zod, nested);
    schema = {
      zod: root as unknown as OutputSchema["zod"],
      jsonSchema: toStrictJsonSchema(root),
      ...(base.lenient ? { lenient: withLeafEvidence(base.lenient, nested) as unknown as OutputSchema["zod"] } : {}),
    };
    composed.set(base, schema);
  }
  return schema;
}
