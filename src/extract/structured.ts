// One structured answer from the model: ask, parse, validate with zod, and on a bad answer send one repair
// round that names exactly which fields were wrong (the instructor-js "reask" pattern).
import { ExtractionFailedError, type ErrorDetail } from "../errors.js";
import type { ChatMessage, Llm, ResponseFormat, Usage } from "../llm/index.js";
import { isDeepStrictEqual } from "node:util";
import type { ModelAnswer, OutputSchema, ValueShape, VariableSpec } from "../schema/index.js";
import { coercedValues, formatPath, settleInvalidFormats } from "../schema/index.js";
import { valueConfidence, type Span } from "./confidence.js";
import { isDroppedItem, isNested, isWithin, judgedKeys, pathParts } from "./paths.js";

export interface StructuredResult {
  answer: ModelAnswer;
  /** Rounds it took to get a valid answer: 1 when the first answer was valid. */
  attempts: number;
  usage: Usage;
  requests: number;
  /**
   * Each non-null value's confidence (0..1) from the valid answer's tokens, by name, or by leaf path for a nested
   * variable (`items[1].quantity`); absent when the server gave no log-probabilities.
   */
  confidence?: Record<string, number>;
  /** Non-null values (names, or leaf paths) an earlier answer got wrong: named by its validation issues, or every one when it was no valid answer at all. */
  repaired: string[];
  /** Non-null values (names, or leaf paths) the schema normalised from the model's spelling ("4,000" → 4000). */
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
  /** The variables asked for: a nested one (an object, a list of objects) is judged per leaf path. Without them, every value is judged whole. */
  variables?: readonly VariableSpec[];
  /** The caller gave up: the LLM call is abandoned. */
  signal?: AbortSignal;
}

type Checked =
  /** `written`: the JSON as the model wrote it, before validation normalised it. */
  | { ok: true; answer: ModelAnswer; coerced: string[]; written: unknown }
  /** `invalid`: the variables the issues name, or "all" when the answer as a whole was wrong; `paths`: where in them. */
  | { ok: false; issues: ErrorDetail[]; invalid: Set<string> | "all"; paths: string[] };

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
    return { ok: false, issues: [{ path: "", message: `not valid JSON (${(error as Error).message})` }], invalid: "all", paths: [] };
  }
  const parsed = schema.zod.safeParse(json);
  if (parsed.success) return { ok: true, answer: parsed.data, coerced: coercedValues(json, parsed.data), written: json };
  let invalid: Set<string> | "all" = new Set();
  const paths: string[] = [];
  for (const issue of parsed.error.issues) {
    const subject = issueSubject(issue.path, issue.code);
    if (subject === "all") invalid = "all";
    else if (subject !== undefined && invalid !== "all") invalid.add(subject);
    if (subject !== undefined && subject !== "all") paths.push(formatPath(issue.path.slice(1)));
  }
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    invalid,
    paths,
  };
}

function settledAnswer(text: string, schema: OutputSchema, nested: ReadonlyMap<string, ValueShape>) {
  if (!schema.lenient) return undefined;
  const range = jsonRange(text);
  let json: unknown;
  try {
    json = JSON.parse(text.slice(range.start, range.end));
  } catch {
    return undefined;
  }
  const settled = settleInvalidFormats(schema, json);
  return settled && { ...settled, coerced: coercedKeys(json, settled.answer, coercedValues(json, settled.answer), nested).filter((key) => !settled.invalidFormat.some((path) => path === key)) };
}

function repairMessage(issues: readonly ErrorDetail[]): string {
  const lines = issues.slice(0, 50).map((issue) => `- ${issue.path || "(the whole answer)"}: ${issue.message}`);
  return [
    "Your answer did not match the required JSON schema:",
    ...lines,
    "Answer again with the complete, corrected JSON object. Keep the values that were right; use null where the call did not establish a value.",
  ].join("\n");
}

/**
 * What an earlier answer got wrong, among `present` (names and leaf paths): a flat value its issues named; a leaf whose
 * issue sat on it, inside it, or around it (the whole list it is in).
 */
function repairedOf(present: string[], invalid: Set<string> | "all", paths: readonly string[]): string[] {
  if (invalid === "all") return present;
  return present.filter((key) => (invalid.has(key) ? true : key.includes(".") || key.includes("[") ? paths.some((path) => isWithin(key, path) || isWithin(path, key)) : false));
}

/** The shapes of the nested variables asked for, by name: only these are judged per leaf. */
function nestedShapes(variables: readonly VariableSpec[] | undefined): Map<string, ValueShape> {
  return new Map((variables ?? []).filter(isNested).map((spec) => [spec.name, spec]));
}

/** The keys the answer's non-null values are judged under: flat variables' names, nested ones' leaf paths. */
function presentKeys(answer: ModelAnswer, nested: ReadonlyMap<string, ValueShape>): string[] {
  return Object.keys(answer.values).flatMap((name) => {
    const shape = nested.get(name);
    if (!shape) return answer.values[name] !== null ? [name] : [];
    return judgedKeys(shape, answer.values[name], name);
  });
}

/** What the model wrote at a path of the validated values: list items validation dropped take no index. */
function writtenAt(values: unknown, path: string): unknown {
  let node = values;
  for (const part of pathParts(path)) {
    if (node === null || typeof node !== "object") return undefined;
    node = Array.isArray(node) ? node.filter((item) => !isDroppedItem(item))[Number(part)] : (node as Record<string, unknown>)[part];
  }
  return node;
}

/** The coerced values, a nested variable's as the leaves validation changed ("Two" stays, "2" → 2 is named). */
function coercedKeys(raw: unknown, answer: ModelAnswer, coerced: string[], nested: ReadonlyMap<string, ValueShape>): string[] {
  const written = (raw as { values?: unknown } | null)?.values;
  return coerced.flatMap((name) => {
    const shape = nested.get(name);
    if (!shape) return [name];
    return judgedKeys(shape, answer.values[name], name).filter((path) => !isDeepStrictEqual(writtenAt(written, path), writtenAt(answer.values, path)));
  });
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
  const invalidPaths: string[] = [];
  const nested = nestedShapes(request.variables);

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
      const present = presentKeys(checked.answer, nested);
      const confidence = completion.logprobs && valueConfidence(completion.text, completion.logprobs, present, jsonRange(completion.text));
      return {
        answer: checked.answer,
        attempts: round,
        usage,
        requests,
        ...(confidence ? { confidence } : {}),
        repaired: repairedOf(present, invalid, invalidPaths),
        coerced: nested.size > 0 ? coercedKeys(checked.written, checked.answer, checked.coerced, nested) : checked.coerced,
      };
    }
    issues = checked.issues;
    if (invalid !== "all") invalid = checked.invalid === "all" ? "all" : new Set([...invalid, ...checked.invalid]);
    invalidPaths.push(...checked.paths);
    if (completion.finishReason === "length") {
      invalid = "all";
      issues = [{ path: "", message: "the answer was cut off at the model's output limit" }, ...issues];
    }
    // Out of rounds: a value that only breaks its format or pattern becomes null (flagged), never an invented value.
    const settled = round === request.repairAttempts + 1 ? settledAnswer(completion.text, request.schema, nested) : undefined;
    if (settled) {
      const present = presentKeys(settled.answer, nested);
      return { answer: settled.answer, attempts: round, usage, requests, repaired: repairedOf(present, invalid, invalidPaths), coerced: settled.coerced, invalidFormat: settled.invalidFormat };
    }
    messages.push({ role: "assistant", content: completion.text }, { role: "user", content: repairMessage(issues) });
  }
  throw new ExtractionFailedError(
    `The model's answer still broke the schema after ${request.repairAttempts} repair round(s)`,
    { details: issues, rawText: lastText },
  );
}
