// The peers' own definitions (Retell post-call analysis, Vapi structured outputs, ElevenLabs data collection) read
// into Debrief variables. Written from each peer's public API reference; what does not carry over becomes a note.
import { fromJsonSchema, variableName, type Conversion } from "./json-schema.js";
import type { VariableSpec } from "../variables.js";

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

function named(raw: unknown, at: string, notes: string[]): string {
  const name = variableName(String(raw ?? ""));
  if (name !== raw) notes.push(`${at}: "${String(raw)}" renamed to ${name} (names are lower snake case)`);
  return name;
}

function described(raw: unknown, name: string, at: string, notes: string[]): string {
  if (typeof raw === "string" && raw.trim()) return raw.trim();
  notes.push(`${at}: had no description; one was written from its name (the model reads it: improve it)`);
  return `The ${name.replaceAll("_", " ")}`;
}

/** What Retell's system presets are in Debrief (retell-sdk `CallPresetAnalysisData`, `type: "system-presets"`). */
const RETELL_PRESETS: Record<string, string> = {
  call_summary: "is Debrief's default variable summary, extracted on every call",
  call_successful: "is Debrief's default variable status, extracted on every call",
  user_sentiment: "has no Debrief default: add an enum variable (say positive, neutral, negative) to extract it",
};

/**
 * Retell: the agent's `post_call_analysis_data` (retell-sdk `AgentResponse.StringAnalysisData` with `examples`,
 * `EnumAnalysisData` with `choices`, `BooleanAnalysisData`, `NumberAnalysisData`; each may carry `required` and
 * `conditional_prompt`; and `type: "system-presets"` items overriding Retell's own summary, success and sentiment).
 */
export function fromRetell(definition: unknown): Conversion {
  const notes: string[] = [];
  const list = isObject(definition) && Array.isArray(definition.post_call_analysis_data) ? definition.post_call_analysis_data : definition;
  if (!Array.isArray(list)) return { variables: [], notes: ["expected post_call_analysis_data: an array of {type, name, description}"] };
  const variables: VariableSpec[] = [];
  list.forEach((item, index) => {
    const at = `post_call_analysis_data[${index}]`;
    if (!isObject(item)) return void notes.push(`${at}: not an object, left out`);
    if (item.type === "system-presets") {
      const preset = RETELL_PRESETS[String(item.name)];
      return void notes.push(`${at}: the system preset ${String(item.name)} ${preset ?? "has no Debrief equivalent"}; left out`);
    }
    const name = named(item.name, at, notes);
    const description = described(item.description, name, at, notes);
    const examples = Array.isArray(item.examples) ? item.examples.slice(0, 5) : undefined;
    if (Array.isArray(item.examples) && item.examples.length > 5) notes.push(`${at}: only the first 5 examples were kept`);
    const extra = examples && examples.length > 0 ? { examples } : {};
    switch (item.type) {
      case "string":
      case "boolean":
      case "number":
        variables.push({ name, type: item.type, description, ...extra });
        break;
      case "enum": {
        const options = Array.isArray(item.choices) ? [...new Set(item.choices.map(String))] : [];
        if (options.length === 0) return void notes.push(`${at}: an enum without choices was left out`);
        variables.push({ name, type: "enum", options, description, ...extra });
        break;
      }
      default:
        notes.push(`${at}: type "${String(item.type)}" has no Debrief equivalent and was left out`);
    }
    if (item.required !== undefined) notes.push(`${at}: "required" does not carry over: every Debrief value may be null when the call never said it`);
    if (typeof item.conditional_prompt === "string") {
      notes.push(`${at}: conditional_prompt does not carry over: say in the description when the value applies (it is null otherwise)`);
    }
  });
  return { variables, notes };
}

/**
 * Vapi: a structured output (`@vapi-ai/server-sdk` `StructuredOutput`: `name`, `description`, `schema` a `JsonSchema`),
 * an assistant's `analysisPlan` (the older `structuredDataSchema` with `structuredDataPrompt`, or the newer
 * `structuredDataPlan.schema` with `messages`), or an assistant holding one. An object schema's properties become
 * variables; any other schema one variable named after the output.
 */
export function fromVapi(definition: unknown): Conversion {
  if (!isObject(definition)) return { variables: [], notes: ["expected a structured output {name, schema} or a JSON Schema"] };
  const plan = isObject(definition.analysisPlan) ? definition.analysisPlan : isAnalysisPlan(definition) ? definition : undefined;
  const dataPlan = plan && isObject(plan.structuredDataPlan) ? plan.structuredDataPlan : undefined;
  // A structured output has a `schema` of its own; an assistant's name and model are not an output's.
  const output = definition.schema !== undefined ? definition : undefined;
  const schema = (output?.schema ?? plan?.structuredDataSchema ?? dataPlan?.schema ?? definition) as Json;
  const notes: string[] = [];
  if (!isObject(schema)) return { variables: [], notes: ["the structured output has no schema"] };
  if (plan?.structuredDataPrompt) notes.push("analysisPlan.structuredDataPrompt: Debrief has no per-output prompt; put it in the profile's system_prompt");
  if (Array.isArray(dataPlan?.messages) && dataPlan.messages.length > 0) {
    notes.push("analysisPlan.structuredDataPlan.messages: Debrief writes its own prompt; put what they add in the profile's system_prompt");
  }
  if (output?.type === "regex") notes.push("type regex: Vapi matches its regex without an LLM; Debrief asks the model (a string's pattern can check the answer)");
  if (output?.model) notes.push("model: Debrief picks the model per request (options.model) or per profile, not per output");
  const outputName = typeof output?.name === "string" ? output.name : undefined;
  if (schema.type !== "object" && outputName) {
    const converted = fromJsonSchema({ ...schema, title: outputName, description: schema.description ?? output!.description });
    return { variables: converted.variables, notes: [...notes, ...converted.notes] };
  }
  const converted = fromJsonSchema(schema);
  // Vapi answers one object per output; Debrief one value per variable: the output's own name and description go.
  if (outputName) {
    notes.push(`the output "${outputName}" became one variable per property${typeof output!.description === "string" ? ` (its description: "${output!.description}")` : ""}`);
  }
  return { variables: converted.variables, notes: [...notes, ...converted.notes] };
}

/** An `analysisPlan` sent on its own rather than inside its assistant. */
function isAnalysisPlan(definition: Json): boolean {
  return definition.structuredDataSchema !== undefined || isObject(definition.structuredDataPlan);
}

/**
 * ElevenLabs: the agent's `platform_settings.data_collection`, a map of name → `LiteralJsonSchemaProperty`
 * (elevenlabs-js: `type` boolean, string, integer or number; `description`, or instead a `dynamic_variable`,
 * `constant_value`, `is_system_provided` or `is_omitted`; `enum` for strings).
 */
export function fromElevenLabs(definition: unknown): Conversion {
  const notes: string[] = [];
  const settings = isObject(definition) && isObject(definition.platform_settings) ? definition.platform_settings : definition;
  const map = isObject(settings) && isObject(settings.data_collection) ? settings.data_collection : settings;
  if (!isObject(map)) return { variables: [], notes: ["expected platform_settings.data_collection: a map of {type, description}"] };
  const variables: VariableSpec[] = [];
  for (const [key, item] of Object.entries(map)) {
    const at = `data_collection.${key}`;
    if (!isObject(item)) {
      notes.push(`${at}: not an object, left out`);
      continue;
    }
    // These are filled without the LLM (ElevenLabs makes them exclusive of `description`): nothing to extract.
    const filled = ["dynamic_variable", "constant_value", "is_system_provided"].find((field) => item[field] !== undefined && item[field] !== false);
    if (filled || item.is_omitted === true) {
      notes.push(`${at}: ${filled ?? "is_omitted"} is not read from the conversation, and Debrief extracts from the transcript only; left out`);
      continue;
    }
    const name = named(key, at, notes);
    const description = described(item.description, name, at, notes);
    const options = Array.isArray(item.enum) ? [...new Set(item.enum.map(String))] : undefined;
    if (options && options.length > 0) {
      variables.push({ name, type: "enum", options, description });
    } else if (item.type === "string" || item.type === "boolean" || item.type === "number" || item.type === "integer") {
      variables.push({ name, type: item.type, description });
    } else {
      notes.push(`${at}: type "${String(item.type)}" has no Debrief equivalent and was left out`);
      continue;
    }
    if (item.llm) notes.push(`${at}: a per-item model does not carry over (options.model applies to the whole call)`);
  }
  return { variables, notes };
}
