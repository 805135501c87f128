// Renders the versioned prompt templates in prompts/ into chat messages for one chunk of a call.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeShape, type ExtractJob, type ValueShape, type VariableSpec } from "../schema/index.js";
import { formatForModel, type Chunk } from "../transcript/index.js";
import type { ChatMessage } from "../llm/index.js";
import { isNested } from "./paths.js";

/** prompts/ sits at the repository root: two levels up from src/extract, three from dist/src/extract. */
function promptsDir(): string {
  const candidates = ["../../prompts/", "../../../prompts/"].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  const found = candidates.find((candidate) => existsSync(`${candidate}VERSION`));
  if (!found) throw new Error(`prompts/ not found (looked in ${candidates.join(", ")})`);
  return found;
}

const dir = promptsDir();
const read = (name: string) => readFileSync(`${dir}${name}`, "utf8");
const templates = {
  system: read("extract.system.md"),
  user: read("extract.user.md"),
  finalize: read("finalize.system.md"),
};

/** The declared version plus a hash of the templates: editing a prompt without bumping VERSION still changes it. */
export const PROMPT_VERSION = `${read("VERSION").trim()}+${createHash("sha256")
  .update(Object.values(templates).join("\u0000"))
  .digest("hex")
  .slice(0, 8)}`;

/** The version of the prompt as sent: `+lean` when the variables' descriptions are left to the JSON Schema (DEBRIEF_SCHEMA_IN_PROMPT). */
export function promptVersion(schemaInPrompt: "always" | "never"): string {
  return schemaInPrompt === "never" ? `${PROMPT_VERSION}+lean` : PROMPT_VERSION;
}

function render(template: string, values: Record<string, string>): string {
  return template
    .replace(/\{\{(\w+)\}\}/g, (_, name: string) => values[name] ?? "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

const formatters = new Map<string, { long: Intl.DateTimeFormat; isoDay: Intl.DateTimeFormat }>();

/** Building an Intl.DateTimeFormat costs more than the rest of the prompt: one pair per time zone, kept. */
function formattersFor(zone: string) {
  let pair = formatters.get(zone);
  if (!pair) {
    pair = {
      long: new Intl.DateTimeFormat("en-GB", {
        timeZone: zone,
        weekday: "long",
        day: "numeric",
        month: "long",
        year: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        hour12: false,
        timeZoneName: "longOffset",
      }),
      isoDay: new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }),
    };
    // Zones are a closed set (~600 names); the bound only guards against an unexpected flood.
    if (formatters.size >= 1_000) formatters.clear();
    formatters.set(zone, pair);
  }
  return pair;
}

/** "Call date: Friday 2026-06-12, 10:22 local time (America/New_York, UTC-04:00).", computed in the call's own time zone. */
export function describeCallDate(createdAt: string | undefined, timezone: string | undefined): string {
  if (!createdAt) return "Call date: unknown: answer null for a relative date (\"tomorrow\") unless the customer states an absolute one.";
  const zone = timezone ?? "UTC";
  const when = new Date(createdAt);
  const { long, isoDay } = formattersFor(zone);
  const parts = long.formatToParts(when);
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? "";
  const isoDate = isoDay.format(when);
  const offset = get("timeZoneName").replace("GMT", "") || "+00:00";
  // Rule 5 of the system prompt says a date-time takes the offset in force on its own date (daylight saving).
  return `Call date: ${get("weekday")} ${isoDate}, ${get("hour")}:${get("minute")} local time (${zone}, UTC${offset === "+00:00" ? "" : offset}).${timezone ? "" : " The call's time zone was not given: UTC is assumed."}`;
}

/**
 * Each variable, its type and what it means. Without `descriptions` (the server shows the model the JSON Schema,
 * which holds them and the options), only names and types: the schema says the rest once.
 */
function describeVariables(specs: readonly VariableSpec[], descriptions: boolean): string {
  if (!descriptions) {
    return `Variables under "values" (each may be null): ${specs.map((spec) => `${spec.name} (${spec.type})`).join(", ")}.`;
  }
  // Nested fields go indented under their variable: a server that shows the model no schema must still name them.
  const describe = (spec: ValueShape & { name?: string; description?: string; examples?: unknown[] }, indent: string, label: string): string[] => {
    const type =
      spec.type === "enum" || (spec.type === "list" && spec.options)
        ? `${spec.type} of ${JSON.stringify(spec.options)}`
        : spec.type === "list"
          ? spec.items ? `list of ${spec.items.type}` : "list of strings"
          : spec.type;
    const rich = spec.format !== undefined || spec.pattern !== undefined || (spec.examples?.length ?? 0) > 0;
    const own = `${indent}- ${label} (${type}, or null): ${rich ? describeShape(spec) : (spec.description ?? "")}`.trimEnd();
    const inner = spec.fields ?? spec.items?.fields;
    const itemLine = spec.items && !spec.items.fields && (spec.items.description || spec.items.format || spec.items.pattern) ? [`${indent}  - each item: ${describeShape(spec.items)}`] : [];
    return [own, ...itemLine, ...(inner ?? []).flatMap((field) => describe(field, `${indent}  `, field.name))];
  };
  const lines = specs.flatMap((spec) => describe(spec, "", spec.name));
  return `Variables to extract, under "values":\n${lines.join("\n")}`;
}

export interface PromptOptions {
  /** json_object mode: the model gets no schema through the API, so the prompt must carry it. */
  schemaInPrompt?: Record<string, unknown>;
  /** Whether each variable's description is in the prompt (DEBRIEF_SCHEMA_IN_PROMPT=always), or only in the schema. */
  descriptions: boolean;
  chunkIndex: number;
  chunkCount: number;
}

export function buildExtractionMessages(job: ExtractJob, chunk: Chunk, options: PromptOptions): ChatMessage[] {
  const evidence = job.options.evidence;
  const system = render(templates.system, {
    evidence_rule: evidence
      ? '8. Under "evidence", give for each non-null value the shortest verbatim quote of the transcript that establishes it and the [number] of its line; null for null values.' +
        (job.variables.some(isNested)
          ? " For an object or a list of objects, give a list with one entry per non-null field: its path (contact.email, items[0].quantity), quote and line."
          : "")
      : "",
  });
  const last = chunk.start + chunk.turns.length - 1;
  const user = render(templates.user, {
    agent_instructions: job.context.systemPrompt
      ? `The agent's instructions (background: what the call was trying to achieve):\n"""\n${job.context.systemPrompt}\n"""`
      : "The agent's instructions: not given.",
    call_date: describeCallDate(job.context.callCreatedAt, job.context.timezone),
    input_variables: job.context.inputVariables
      ? `Known before the call (context, not evidence of what was said): ${JSON.stringify(job.context.inputVariables)}`
      : "",
    variables: options.schemaInPrompt
      ? `${describeVariables(job.variables, options.descriptions)}\nAnswer with JSON matching this JSON Schema:\n${JSON.stringify(options.schemaInPrompt)}`
      : describeVariables(job.variables, options.descriptions),
    chunk_note:
      options.chunkCount > 1
        ? `This is part ${options.chunkIndex + 1} of ${options.chunkCount} of a long call (lines ${chunk.start}–${last}). Extract what this part establishes; answer null for what it does not mention.`
        : "",
    transcript: formatForModel(chunk.turns, { numbered: evidence, offset: chunk.start }),
  });
  return [
    { role: "system", content: system },
    { role: "user", content: user },
  ];
}

export interface PartOutcome {
  summary: unknown;
  status: unknown;
}

/** `descriptions`: as for the extraction prompt; without them the schema alone says what status and summary mean. */
export function buildFinalizeMessages(
  parts: readonly PartOutcome[],
  specs: { status?: VariableSpec; summary?: VariableSpec },
  options: { descriptions: boolean },
): ChatMessage[] {
  const lines = parts.map((part, i) => `Part ${i + 1}: summary=${JSON.stringify(part.summary)}; status=${JSON.stringify(part.status)}`);
  const described = [specs.status, specs.summary]
    .filter((spec): spec is VariableSpec => Boolean(spec))
    .map((spec) => `- ${spec.name}: ${spec.description}`)
    .join("\n");
  const meaning = options.descriptions ? `What each variable means:\n${described}\n\n` : "";
  return [
    { role: "system", content: templates.finalize },
    { role: "user", content: `${meaning}The parts, in order:\n${lines.join("\n")}\n\nAnswer as {"values": {"status": …, "summary": …}}.` },
  ];
}
