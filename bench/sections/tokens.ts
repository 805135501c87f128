// Section 6: prompt tokens Debrief spends beyond the transcript itself, for 5 and 20 variables, with the variable
// descriptions in the prompt and in the schema (DEBRIEF_SCHEMA_IN_PROMPT=always) and in the schema only (never), and
// its whole prompt against a naive one (the transcript turns as a JSON array, the JSON Schema and descriptions in the
// user message). And what a nested variable costs: an order as an object with a list of line items, against the same
// data as flat variables (two products' names and quantities), each sent whole through POST /v1/extract.
import { expectOk, lastLlmRequest, type BenchContext, type Figure, type SectionResult } from "../lib/context.js";
import type { DebriefProcess } from "../lib/processes.js";
import { countChatPrompt, countTokensByLine, type PromptMessage } from "../lib/tokens.js";
import { overheadEnv } from "./overhead.js";
import { extractBody, generateTranscript, UNIQUE_MARKER, VARIABLE_POOL, type Transcript, type VariableSpecInput } from "../lib/transcripts.js";

interface CapturedChat {
  messages: PromptMessage[];
  response_format?: { json_schema?: { schema?: unknown } };
}

/** Set explicitly: auto would pick `always` for the bench's loopback LLM, which is not OpenAI's API. */
const MODES = ["always", "never"] as const;

const DEFAULT_DESCRIPTIONS: VariableSpecInput[] = [
  { name: "status", type: "boolean", description: "Whether the call's objective was achieved: true, false, or null if the transcript gives no way to tell." },
  { name: "summary", type: "string", description: "The call in one short sentence, as a neutral note for a CRM." },
];

/** An order as flat variables: two lines at most, each a name and a quantity. */
const FLAT_ORDER: VariableSpecInput[] = [
  { name: "customer_email", type: "string", description: "Where the receipt goes" },
  { name: "product_1", type: "string", description: "First product ordered" },
  { name: "quantity_1", type: "integer", description: "How many of the first product" },
  { name: "product_2", type: "string", description: "Second product ordered" },
  { name: "quantity_2", type: "integer", description: "How many of the second product" },
];
/** The same order as one object with a list of line items (any number), as issue 24's users write it. */
const NESTED_ORDER = [
  {
    name: "order",
    type: "object",
    description: "The order",
    fields: [
      { name: "customer_email", type: "string", format: "email", description: "Where the receipt goes" },
      {
        name: "line_items",
        type: "list",
        description: "Each product ordered",
        items: {
          type: "object",
          fields: [
            { name: "product", type: "string", description: "Product ordered" },
            { name: "quantity", type: "integer", description: "How many" },
          ],
        },
      },
    ],
  },
];

/** What a first attempt usually looks like: everything in one user message, transcript as JSON, schema as JSON. */
export function naivePrompt(transcript: Transcript, variables: readonly VariableSpecInput[], jsonSchema: unknown): PromptMessage[] {
  const described = variables
    .map((spec) => `- ${spec.name} (${spec.type}${spec.options ? `: one of ${spec.options.join(", ")}` : ""}): ${spec.description}`)
    .join("\n");
  return [
    { role: "system", content: "You extract structured data from phone call transcripts. Answer with JSON only." },
    {
      role: "user",
      content: [
        "Extract these variables from the call transcript below. Use null for anything the call does not establish.",
        described,
        `Answer with JSON matching this JSON Schema:\n${JSON.stringify(jsonSchema)}`,
        `Transcript (JSON):\n${JSON.stringify(transcript.turns)}`,
      ].join("\n\n"),
    },
  ];
}

export async function promptTokens(context: BenchContext): Promise<SectionResult> {
  const transcript = generateTranscript({ seed: 600, tokens: 2_000 });
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  for (const mode of MODES) {
    const name = `tokens-${mode}`;
    const debrief = await context.startDebrief(name, { ...overheadEnv(context, name, 0), DEBRIEF_SCHEMA_IN_PROMPT: mode });
    try {
      figures.push(...(await measureMode(context, debrief, transcript, mode, details)));
    } finally {
      await debrief.stop();
    }
  }
  return {
    id: "tokens",
    title: `6. Tokens (a ~${transcript.tokens}-token call, counted with tiktoken o200k_base)`,
    figures,
    notes: [
      "Debrief's figures are meta.usage.prompt_tokens as the fake LLM counted them (messages + response_format schema + chat framing); the transcript part is cut from the captured prompt.",
      "always: the variable descriptions in the prompt and in the JSON Schema; never: in the schema only (what auto picks for OpenAI's API, which shows the schema to the model).",
      "The naive prompt (bench/sections/tokens.ts) is counted with the same function, its schema in the message instead of response_format.",
      "The order figures: the same call, evidence on (the default), once with the order as 5 flat variables and once as one object holding an email and a list of line items; each leaf of the nested one has its own evidence path in the answer's schema.",
    ],
    details,
  };
}

async function measureMode(
  context: BenchContext,
  debrief: DebriefProcess,
  transcript: Transcript,
  mode: (typeof MODES)[number],
  details: Record<string, unknown>,
): Promise<Figure[]> {
  const figures: Figure[] = [];
  const extras: Record<number, number> = {};
  for (const count of [5, 20]) {
    const body = { ...extractBody(transcript, count), options: { cache: false } };
    const response = await expectOk(debrief, JSON.stringify(body).replaceAll(UNIQUE_MARKER, `tokens-${mode}-${count}`));
    const chat = JSON.parse(await lastLlmRequest(context)) as CapturedChat;
    const user = chat.messages.filter((message) => message.role === "user").at(-1)?.content ?? "";
    const at = user.lastIndexOf("Transcript:\n");
    if (at < 0) throw new Error("the captured prompt has no 'Transcript:' section");
    const transcriptTokens = countTokensByLine(user.slice(at + "Transcript:\n".length));
    const total = response.body.meta!.usage.prompt_tokens;
    const extra = total - transcriptTokens;
    extras[count] = extra;
    const naive = countChatPrompt(naivePrompt(transcript, [...DEFAULT_DESCRIPTIONS, ...VARIABLE_POOL.slice(0, count)], chat.response_format?.json_schema?.schema));
    details[`${count}_variables_${mode}`] = { total, transcriptTokens, extra, naive };
    figures.push(
      {
        id: `tokens.extra_${count}_variables_${mode}`,
        label: `${count} variables (+status, summary), ${mode}: prompt tokens beyond the transcript`,
        value: extra,
        unit: "tokens/call",
        baseline: { label: "the transcript itself", value: transcriptTokens, unit: "tokens" },
        ratio: Math.round((1000 * extra) / transcriptTokens) / 1000,
        note: "instructions, call date, variable list, response_format schema, chat framing",
      },
      {
        id: `tokens.total_${count}_variables_${mode}`,
        label: `${count} variables, ${mode}: Debrief's whole prompt`,
        value: total,
        unit: "tokens/call",
        baseline: { label: "naive prompt (JSON turns + schema in the message)", value: naive, unit: "tokens" },
        ratio: Math.round((1000 * total) / naive) / 1000,
      },
    );
  }
  const order: Record<string, number> = {};
  for (const [shape, variables] of [["flat", FLAT_ORDER], ["nested", NESTED_ORDER]] as const) {
    const body = { transcript: transcript.text, variables, options: { cache: false } };
    const response = await expectOk(debrief, JSON.stringify(body).replaceAll(UNIQUE_MARKER, `tokens-${mode}-${shape}`));
    order[shape] = response.body.meta!.usage.prompt_tokens;
  }
  details[`order_${mode}`] = order;
  figures.push({
    id: `tokens.nested_order_${mode}`,
    label: `an order as one nested variable (an email and a list of {product, quantity}), ${mode}: Debrief's whole prompt`,
    value: order.nested!,
    unit: "tokens/call",
    baseline: { label: "the same data flat (an email, two products' names and quantities: 5 variables)", value: order.flat!, unit: "tokens" },
    ratio: Math.round((1000 * order.nested!) / order.flat!) / 1000,
    note: `${order.nested! - order.flat! >= 0 ? "+" : ""}${order.nested! - order.flat!} tokens; the nested one holds any number of lines, the flat one two`,
  });
  figures.push({
    id: `tokens.per_variable_${mode}`,
    label: `marginal prompt tokens per variable (5 → 20), ${mode}`,
    value: Math.round(((extras[20]! - extras[5]!) / 15) * 10) / 10,
    unit: "tokens/variable",
  });
  return figures;
}
