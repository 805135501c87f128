// One structured answer from the model: ask, parse, validate with zod, and on a bad answer send one repair
// round that names exactly which fields were wrong (the instructor-js "reask" pattern).
import { ExtractionFailedError, type ErrorDetail } from "../errors.js";
import type { ChatMessage, Llm, ResponseFormat, Usage } from "../llm/index.js";
import type { ModelAnswer, OutputSchema } from "../schema/index.js";
import { coercedValues, formatPath, settleInvalidFormats } from "../schema/index.js";
import { valueConfidence, type Span } from "./confidence.js";

export interface StructuredResult {
  answer: ModelAnswer;
  /** Rounds it took to get a valid answer: 1 when the first answer was valid. */
  attempts: number;
  usage: Usage;
  requests: number;
  /** Each non-null value's confidence (0..1) from the valid answer's tokens; absent when the server gave no log-probabilities. */
  confidence?: Record<string, number>;
  /** Non-null values an earlier answer got wrong: named by its validation issues, or every one when it was no valid answer at all. */
  repaired: string[];
  /** Non-null values the schema normalised from the model's spelling ("4,000" → 4000). */
  coerced: string[];
  /** Paths (`contact.email`, `items[1].phone`) whose value still broke its format or pattern after the repair rounds: made null. */
  invalidFormat?: string[];
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

type Checked =
  | { ok: true; answer: ModelAnswer; coerced: string[] }
  /** `invalid`: the variables the issues name, or "all" when the answer as a whole was wrong. */
  | { ok: false; issues: ErrorDetail[]; invalid: Set<string> | "all" };

/** Where the JSON is in the answer: models behind json_object mode often wrap it in a Markdown fence; nothing else is forgiven. */
function jsonRange(text: string): Span {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/di.exec(text);
  const inner = fenced?.indices?.[1];
  return inner ? { start: inner[0], end: inner[1] } : { start: 0, end: text.length };
}

/** A variable an issue is about (`values.budget…`); "all" for the answer as a whole; undefined for its evidence. */
function issueSubject(path: readonly (string | number)[], code: string): string | "all" | undefined {
  if (path[0] === "evidence") return undefined;
  if (path[0] === "values" && typeof path[1] === "string") return path[1];
  // An unknown key beside the variables: the variable it displaced has an issue of its own ("Required").
  if (path.length === 1 && path[0] === "values" && code === "unrecognized_keys") return undefined;
  return "all";
}

export function checkAnswer(text: string, schema: OutputSchema): Checked {
  const range = jsonRange(text);
  let json: unknown;
  try {
    json = JSON.parse(text.slice(range.start, range.end));
  } catch (error) {
    return { ok: false, issues: [{ path: "", message: `not valid JSON (${(error as Error).message})` }], invalid: "all" };
  }
  const parsed = schema.zod.safeParse(json);
  if (parsed.success) return { ok: true, answer: parsed.data, coerced: coercedValues(json, parsed.data) };
  let invalid: Set<string> | "all" = new Set();
  for (const issue of parsed.error.issues) {
    const subject = issueSubject(issue.path, issue.code);
    if (subject === "all") invalid = "all";
    else if (subject !== undefined && invalid !== "all") invalid.add(subject);
  }
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    invalid,
  };
}

function settledAnswer(text: string, schema: OutputSchema) {
  if (!schema.lenient) return undefined;
  const range = jsonRange(text);
  let json: unknown;
  try {
    json = JSON.parse(text.slice(range.start, range.end));
  } catch {
    return undefined;
  }
  const settled = settleInvalidFormats(schema, json);
  return settled && { ...settled, coerced: coercedValues(json, settled.answer).filter((name) => !settled.invalidFormat.some((path) => path === name)) };
}

function repairMessage(issues: readonly ErrorDetail[]): string {
  const lines = issues.slice(0, 50).map((issue) => `- ${issue.path || "(the whole answer)"}: ${issue.message}`);
  return [
    "Your answer did not match the required JSON schema:",
    ...lines,
    "Answer again with the complete, corrected JSON object. Keep the values that were right; use null where the call did not establish a value.",
  ].join("\n");
}

function repairedOf(present: string[], invalid: Set<string> | "all"): string[] {
  return invalid === "all" ? present : present.filter((name) => invalid.has(name));
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
  let invalid: Set<string> | "all" = new Set();

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
    if (checked.ok) {
      // The valid answer's own tokens: an earlier, repaired answer's say nothing about these values.
      const present = Object.keys(checked.answer.values).filter((name) => checked.answer.values[name] !== null);
      const confidence = completion.logprobs && valueConfidence(completion.text, completion.logprobs, present, jsonRange(completion.text));
      return {
        answer: checked.answer,
        attempts: round,
        usage,
        requests,
        ...(confidence ? { confidence } : {}),
        repaired: repairedOf(present, invalid),
        coerced: checked.coerced,
      };
    }
    issues = checked.issues;
    if (invalid !== "all") invalid = checked.invalid === "all" ? "all" : new Set([...invalid, ...checked.invalid]);
    if (completion.finishReason === "length") {
      invalid = "all";
      issues = [{ path: "", message: "the answer was cut off at the model's output limit" }, ...issues];
    }
    // Out of rounds: a value that only breaks its format or pattern becomes null (flagged), never an invented value.
    const settled = round === request.repairAttempts + 1 ? settledAnswer(completion.text, request.schema) : undefined;
    if (settled) {
      const present = Object.keys(settled.answer.values).filter((name) => settled.answer.values[name] !== null);
      return { answer: settled.answer, attempts: round, usage, requests, repaired: repairedOf(present, invalid), coerced: settled.coerced, invalidFormat: settled.invalidFormat };
    }
    messages.push({ role: "assistant", content: completion.text }, { role: "user", content: repairMessage(issues) });
  }
  throw new ExtractionFailedError(
    `The model's answer still broke the schema after ${request.repairAttempts} repair round(s)`,
    { details: issues, rawText: lastText },
  );
}
