// JSON Schema → Debrief variables: each property a variable (objects → object, arrays → list with items, enum → enum,
// string formats and `pattern` kept where Debrief checks the same thing); what cannot carry over becomes a note.
import type { ItemSpec, StringFormat, VariableSpec } from "../variables.js";
import { VARIABLE_NAME } from "../variables.js";

type Json = Record<string, unknown>;

export interface Conversion {
  variables: VariableSpec[];
  notes: string[];
}

/** JSON Schema formats Debrief has a check of its own for (date and date-time are types of their own here). */
const FORMATS: Record<string, StringFormat | "date" | "datetime"> = {
  email: "email",
  "idn-email": "email",
  uri: "url",
  url: "url",
  "iri": "url",
  phone: "phone",
  "phone-number": "phone",
  date: "date",
  "date-time": "datetime",
  datetime: "datetime",
};

/** A peer's field name as a Debrief name: lower snake case, 2 to 64 characters. */
export function variableName(raw: string): string {
  let name = raw
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .replace(/_+/g, "_");
  if (!/^[a-z]/.test(name)) name = `v_${name}`;
  if (name.length < 2) name = `${name}_value`;
  return name.slice(0, 64);
}

function typeOf(node: Json): string | undefined {
  if (Array.isArray(node.type)) return (node.type as unknown[]).find((type) => type !== "null") as string | undefined;
  if (typeof node.type === "string") return node.type;
  if (Array.isArray(node.enum)) return "string";
  if (node.properties) return "object";
  if (node.items) return "array";
  // A nullable written as anyOf [X, null]: X is the shape.
  const branches = (node.anyOf ?? node.oneOf) as Json[] | undefined;
  const real = branches?.filter((branch) => branch && branch.type !== "null");
  if (real?.length === 1) return typeOf(real[0]!);
  return undefined;
}

function unwrap(node: Json): Json {
  const branches = (node.anyOf ?? node.oneOf) as Json[] | undefined;
  const real = branches?.filter((branch) => branch && branch.type !== "null");
  return real?.length === 1 && node.type === undefined ? { ...real[0], description: node.description ?? real[0]!.description } : node;
}

/** The shape of one JSON Schema node, or undefined (with a note) when Debrief has none for it. */
function shapeOf(raw: Json, path: string, depth: number, notes: string[]): ItemSpec | undefined {
  const node = unwrap(raw);
  const type = typeOf(node);
  const description = typeof node.description === "string" && node.description.trim() ? node.description.trim() : undefined;
  if (Array.isArray(node.enum)) {
    const options = [...new Set((node.enum as unknown[]).filter((value) => value !== null).map(String))];
    if (options.length === 0) {
      notes.push(`${path}: an enum with no values other than null was left out`);
      return undefined;
    }
    if ((node.enum as unknown[]).some((value) => value !== null && typeof value !== "string")) notes.push(`${path}: non-string enum values became strings`);
    return { type: "enum", options, ...(description ? { description } : {}) };
  }
  switch (type) {
    case "string": {
      const shape: ItemSpec = { type: "string", ...(description ? { description } : {}) };
      if (typeof node.format === "string") {
        const format = FORMATS[node.format];
        if (format === "date" || format === "datetime") shape.type = format;
        else if (format) shape.format = format;
        else notes.push(`${path}: format "${node.format}" has no Debrief check and was left out (say it in the description)`);
      }
      if (typeof node.pattern === "string") shape.pattern = node.pattern;
      return shape;
    }
    case "number":
    case "integer":
    case "boolean":
      return { type, ...(description ? { description } : {}) };
    case "object": {
      if (depth >= 3) {
        notes.push(`${path}: objects nested deeper than 3 levels were left out`);
        return undefined;
      }
      const fields = convertProperties(node, path, depth + 1, notes);
      if (fields.length === 0) {
        notes.push(`${path}: an object without properties was left out`);
        return undefined;
      }
      return { type: "object", fields, ...(description ? { description } : {}) };
    }
    case "array": {
      const items = node.items && typeof node.items === "object" && !Array.isArray(node.items) ? (node.items as Json) : undefined;
      if (!items) return { type: "list", ...(description ? { description } : {}) };
      const item = shapeOf(items, `${path}[]`, depth, notes);
      if (!item) return undefined;
      if (item.type === "list") {
        notes.push(`${path}: a list of lists was left out (Debrief's list items cannot be lists)`);
        return undefined;
      }
      // `list` with `options` is Debrief's list of enum values: the plainer form.
      if (item.type === "enum") return { type: "list", options: item.options!, ...(description ? { description } : {}) };
      if (item.type === "string" && !item.format && item.pattern === undefined) return { type: "list", ...(description ? { description } : {}) };
      return { type: "list", items: item, ...(description ? { description } : {}) };
    }
    default:
      notes.push(`${path}: ${type ? `type "${type}"` : "a schema without a type"} has no Debrief equivalent and was left out`);
      return undefined;
  }
}

function convertProperties(node: Json, at: string, depth: number, notes: string[]): VariableSpec[] {
  const properties = (node.properties ?? {}) as Record<string, Json>;
  const variables: VariableSpec[] = [];
  for (const [key, child] of Object.entries(properties)) {
    const path = at ? `${at}.${key}` : key;
    const name = variableName(key);
    if (name !== key) notes.push(`${path}: renamed to ${name} (names are lower snake case)`);
    if (!VARIABLE_NAME.test(name)) continue;
    const shape = shapeOf(child ?? {}, path, depth, notes);
    if (!shape) continue;
    const { description, ...rest } = shape;
    variables.push({ name, ...rest, description: description ?? `The ${name.replaceAll("_", " ")} (no description was given)` } as VariableSpec);
    if (!description) notes.push(`${path}: had no description; one was written from its name (the model reads it: improve it)`);
    if (Array.isArray(child?.examples)) variables.at(-1)!.examples = (child.examples as unknown[]).slice(0, 5);
  }
  return variables;
}

export function fromJsonSchema(schema: unknown): Conversion {
  const notes: string[] = [];
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) return { variables: [], notes: ["the definition is not a JSON Schema object"] };
  const root = schema as Json;
  if (typeOf(root) !== "object") {
    // A bare value schema (Vapi allows a string or boolean output): one variable named after it.
    const shape = shapeOf(root, String(root.title ?? "value"), 0, notes);
    const name = variableName(String(root.title ?? "value"));
    if (!shape) return { variables: [], notes };
    const { description, ...rest } = shape;
    return { variables: [{ name, ...rest, description: description ?? `The ${name}` } as VariableSpec], notes };
  }
  return { variables: convertProperties(root, "", 0, notes), notes };
}
