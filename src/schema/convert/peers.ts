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

/** Retell: the agent's `post_call_analysis_data` (string, enum with `choices`, boolean, number; `examples`). */
export function fromRetell(definition: unknown): Conversion {
  const notes: string[] = [];
  const list = isObject(definition) && Array.isArray(definition.post_call_analysis_data) ? definition.post_call_analysis_data : definition;
  if (!Array.isArray(list)) return { variables: [], notes: ["expected post_call_analysis_data: an array of {type, name, description}"] };
  const variables: VariableSpec[] = [];
  list.forEach((item, index) => {
    const at = `post_call_analysis_data[${index}]`;
    if (!isObject(item)) return void notes.push(`${at}: not an object, left out`);
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
  });
  return { variables, notes };
}

/**
 * Vapi: a structured output (`{name, description, schema}`), an `analysisPlan.structuredDataSchema`, or an assistant
 * holding one. An object schema's properties become variables; any other schema one variable named after the output.
 */
export function fromVapi(definition: unknown): Conversion {
  if (!isObject(definition)) return { variables: [], notes: ["expected a structured output {name, schema} or a JSON Schema"] };
  const plan = isObject(definition.analysisPlan) ? definition.analysisPlan : undefined;
  const schema = (definition.schema ?? plan?.structuredDataSchema ?? definition.structuredDataSchema ?? definition) as Json;
  const notes: string[] = [];
  if (!isObject(schema)) return { variables: [], notes: ["the structured output has no schema"] };
  if (plan?.structuredDataPrompt) notes.push("analysisPlan.structuredDataPrompt: Debrief has no per-output prompt; put it in the profile's system_prompt");
  if (definition.model) notes.push("model: Debrief picks the model per request (options.model) or per profile, not per output");
  if (schema.type !== "object" && typeof definition.name === "string") {
    const converted = fromJsonSchema({ ...schema, title: definition.name, description: schema.description ?? definition.description });
    return { variables: converted.variables, notes: [...notes, ...converted.notes] };
  }
  const converted = fromJsonSchema(schema);
  // Vapi answers one object per output; Debrief one value per variable: the output's own name and description go.
  if (typeof definition.name === "string") {
    notes.push(`the output "${definition.name}" became one variable per property${typeof definition.description === "string" ? ` (its description: "${definition.description}")` : ""}`);
  }
  return { variables: converted.variables, notes: [...notes, ...converted.notes] };
}

/** ElevenLabs: the agent's `platform_settings.data_collection` map ({type, description, enum?}). */
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
    if (item.dynamic_variable || item.constant_value !== undefined) notes.push(`${at}: dynamic_variable / constant_value do not carry over (Debrief extracts from the transcript only)`);
    if (item.llm) notes.push(`${at}: a per-item model does not carry over (options.model applies to the whole call)`);
  }
  return { variables, notes };
}
