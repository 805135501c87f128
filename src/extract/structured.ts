// One structured answer from the model: ask, parse, validate with zod, and on a bad answer send one repair
// round that names exactly which fields were wrong (the instructor-js "reask" pattern).
import { ExtractionFailedError, type ErrorDetail } from "../errors.js";
import type { ChatMessage, Llm, ResponseFormat, Usage } from "../llm/index.js";
import type { ModelAnswer, OutputSchema } from "../schema/index.js";
import { formatPath } from "../schema/index.js";

export interface StructuredResult {
  answer: ModelAnswer;
  /** Rounds it took to get a valid answer: 1 when the first answer was valid. */
  attempts: number;
  usage: Usage;
  requests: number;
}

export interface StructuredRequest {
  llm: Llm;
  model: string;
  messages: ChatMessage[];
  schema: OutputSchema;
  mode: "json_schema" | "json_object";
  repairAttempts: number;
  schemaName?: string;
  /** The caller gave up: the LLM call is abandoned. */
  signal?: AbortSignal;
}

type Checked = { ok: true; answer: ModelAnswer } | { ok: false; issues: ErrorDetail[] };

/** Models behind json_object mode often wrap JSON in a Markdown fence; nothing else is forgiven. */
function stripFence(text: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
  return fenced ? fenced[1]! : text;
}

export function checkAnswer(text: string, schema: OutputSchema): Checked {
  let json: unknown;
  try {
    json = JSON.parse(stripFence(text));
  } catch (error) {
    return { ok: false, issues: [{ path: "", message: `not valid JSON (${(error as Error).message})` }] };
  }
  const parsed = schema.zod.safeParse(json);
  if (parsed.success) return { ok: true, answer: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
  };
}

function repairMessage(issues: readonly ErrorDetail[]): string {
  const lines = issues.slice(0, 50).map((issue) => `- ${issue.path || "(the whole answer)"}: ${issue.message}`);
  return [
    "Your answer did not match the required JSON schema:",
    ...lines,
    "Answer again with the complete, corrected JSON object. Keep the values that were right; use null where the call did not establish a value.",
  ].join("\n");
}

export async function completeStructured(request: StructuredRequest): Promise<StructuredResult> {
  const responseFormat: ResponseFormat =
    request.mode === "json_schema"
      ? { type: "json_schema", json_schema: { name: request.schemaName ?? "call_extraction", strict: true, schema: request.schema.jsonSchema } }
      : { type: "json_object" };
  const messages = [...request.messages];
  const usage: Usage = { prompt_tokens: 0, completion_tokens: 0 };
  let requests = 0;
  let issues: ErrorDetail[] = [];
  let lastText = "";

  for (let round = 1; round <= request.repairAttempts + 1; round += 1) {
    const completion = await request.llm.complete({ model: request.model, messages, responseFormat, signal: request.signal });
    usage.prompt_tokens += completion.usage.prompt_tokens;
    usage.completion_tokens += completion.usage.completion_tokens;
    requests += completion.requests;
    if (completion.refusal) {
      throw new ExtractionFailedError(`The model refused to answer: ${completion.refusal}`, {
        code: "llm_refused",
        details: [{ message: completion.refusal }],
      });
    }
    lastText = completion.text;
    const checked = checkAnswer(completion.text, request.schema);
    if (checked.ok) return { answer: checked.answer, attempts: round, usage, requests };
    issues = checked.issues;
    if (completion.finishReason === "length") {
      issues = [{ path: "", message: "the answer was cut off at the model's output limit" }, ...issues];
    }
    messages.push({ role: "assistant", content: completion.text }, { role: "user", content: repairMessage(issues) });
  }
  throw new ExtractionFailedError(
    `The model's answer still broke the schema after ${request.repairAttempts} repair round(s)`,
    { details: issues, rawText: lastText },
  );
}
