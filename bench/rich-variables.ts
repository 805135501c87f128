// Rich variables' figures, run on their own (`npx tsx bench/rich-variables.ts`): the time a request's pattern takes
// against a hostile value (RE2: linear), and the schema tokens a nested variable costs against the same data flat.
import { performance } from "node:perf_hooks";
import { buildOutputSchema, compilePattern, withDefaults, type VariableSpec } from "../src/schema/index.js";
import { tokenCounter } from "../src/transcript/tokens.js";

function patternFigures(): string[] {
  const lines: string[] = [];
  const pattern = compilePattern("^(a+)+$");
  if (!pattern.ok) throw new Error(pattern.reason);
  for (const length of [1_000, 10_000, 30_000, 100_000]) {
    const value = `${"a".repeat(length)}b`;
    const runs: number[] = [];
    for (let run = 0; run < 5; run += 1) {
      const start = performance.now();
      pattern.test(value);
      runs.push(performance.now() - start);
    }
    runs.sort((a, b) => a - b);
    lines.push(`  ^(a+)+$ against ${length.toLocaleString("en-US")} a's and a b: median ${runs[2]!.toFixed(1)} ms (worst of 5: ${runs[4]!.toFixed(1)} ms)`);
  }
  return lines;
}

const FLAT: VariableSpec[] = [
  { name: "customer_email", type: "string", description: "Where the receipt goes" },
  { name: "product_1", type: "string", description: "First product ordered" },
  { name: "quantity_1", type: "integer", description: "How many of the first product" },
  { name: "product_2", type: "string", description: "Second product ordered" },
  { name: "quantity_2", type: "integer", description: "How many of the second product" },
];
const NESTED: VariableSpec[] = [
  {
    name: "order",
    type: "object",
    description: "The order",
    fields: [
      { name: "customer_email", type: "string", format: "email", description: "Where the receipt goes" },
      { name: "line_items", type: "list", description: "Each product ordered", items: { type: "object", fields: [
        { name: "product", type: "string", description: "Product ordered" },
        { name: "quantity", type: "integer", description: "How many" },
      ] } },
    ],
  },
];

function tokenFigures(): string[] {
  const count = tokenCounter("gpt-4o-mini");
  const tokens = (specs: VariableSpec[]) => count(JSON.stringify(buildOutputSchema(withDefaults(specs), { evidence: false }).jsonSchema));
  const base = tokens([]);
  const flat = tokens(FLAT) - base;
  const nested = tokens(NESTED) - base;
  return [
    `  response_format schema tokens (o200k), beyond the defaults' ${base}: flat order (email + 2 products × name, quantity) ${flat}; ` +
      `nested order (email + a list of {product, quantity}, any number of lines) ${nested}`,
  ];
}

console.log(["Rich variables", ...patternFigures(), ...tokenFigures()].join("\n"));
