// The playground's variables table as data, and what the playground hands out: the rows ↔ the request's `variables`
// (every rich key either in a control or kept as it came, so a round trip is exact), a 400's details by row, the request
// as a curl command and the variables as a profile's YAML. Pure: the tests run the command with a real shell and load
// the YAML with the service's own configuration parser.

/** The string formats the service checks (STRING_FORMATS in src/schema/variables.ts; a test fails when they drift). */
export const STRING_FORMATS = ["email", "phone", "url", "time"] as const;
/** How many examples a variable may give (MAX_EXAMPLES in src/schema/variables.ts). */
export const MAX_EXAMPLES = 5;
/** Objects inside objects, a list of objects counting as one (MAX_OBJECT_DEPTH in src/schema/variables.ts). */
export const MAX_OBJECT_DEPTH = 3;

/** One row of the variables table: a variable, or one field of an object (a nested table of the same rows). */
export interface VariableRow {
  name: string;
  type: string;
  description: string;
  /** Comma-separated, as typed (or a JSON array, for options holding commas): an enum's options, a list's when it is a list of them. */
  options: string;
  /** A string's format: "" (none) or one of STRING_FORMATS. */
  format?: string;
  /** A string's RE2 pattern; empty is none. */
  pattern?: string;
  /** One example per line (or a JSON array, for examples a line cannot hold). */
  examples?: string;
  /** An object's fields. */
  fields?: VariableRow[];
  /**
   * What a list holds: "strings", "options" (one of `options` each), or an item type whose shape is `items`.
   * Absent: "options" when options are typed, else "strings" (the table before lists had items).
   */
  of?: string;
  /** A list's item shape, when `of` is an item type: its format and pattern (string), options (enum), fields (object). */
  items?: ItemRow;
  /** Keys the table has no control for (`default_region`, a field's own keys), kept as they came. */
  extra?: Record<string, unknown>;
}

export type ItemRow = Omit<VariableRow, "name" | "type" | "description" | "examples" | "of" | "items">;

/** A variable as /v1/extract and a profile take it. */
export interface VariableOut {
  name: string;
  type: string;
  description: string;
  options?: string[];
  [key: string]: unknown;
}

export const TYPES_WITH_OPTIONS = new Set(["enum", "list"]);

/** A list's kinds of item that are not an item shape: plain strings, or one of the options. */
export const LIST_OF_STRINGS = "strings";
export const LIST_OF_OPTIONS = "options";

/** What a list row holds: its `of`, or what the table before items meant by its options. */
export function listKind(row: Pick<VariableRow, "of" | "options">): string {
  return row.of ?? (row.options.trim() ? LIST_OF_OPTIONS : LIST_OF_STRINGS);
}

/** Does `shape` take options in the Options column: an enum, or a list of strings or of options. */
export function takesOptions(row: Pick<VariableRow, "type" | "of" | "options">): boolean {
  if (row.type === "enum") return true;
  return row.type === "list" && [LIST_OF_STRINGS, LIST_OF_OPTIONS].includes(listKind(row));
}

/** A variable's keys beyond name, type, description and options, in the order a profile shows them. */
const RICH_KEYS = ["fields", "items", "format", "pattern", "default_region", "examples"] as const;

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Options as typed: comma-separated, or a JSON array of strings (how options holding a comma are written). */
export function optionsFromText(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (Array.isArray(parsed) && parsed.every((option) => typeof option === "string")) return parsed;
    } catch {
      // not JSON: options that start with a bracket
    }
  }
  return text.split(",").map((option) => option.trim()).filter(Boolean);
}

/** Options as the table shows them; as JSON when the comma-separated text would not read back the same. */
export function optionsText(options: readonly string[]): string {
  const text = options.join(", ");
  return same(optionsFromText(text), options) ? text : JSON.stringify(options);
}

/** Types whose examples are text as typed; any other type's lines are JSON values when they parse (4, true, {"a": 1}). */
const TEXT_TYPES = new Set(["string", "enum", "date", "datetime"]);

/** Examples as typed: one per line, blank lines skipped, or the whole text a JSON array. Undefined when there are none. */
export function examplesFromText(text: string, type: string): unknown[] | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  if (trimmed.startsWith("[")) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // a line that starts with a bracket
    }
  }
  const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
  if (TEXT_TYPES.has(type)) return lines;
  return lines.map((line) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      return line;
    }
  });
}

/** Examples as the table shows them: one a line, or a JSON array when lines would not read back the same. */
export function examplesText(examples: readonly unknown[], type: string): string {
  const text = examples.map((example) => (typeof example === "string" ? example : JSON.stringify(example))).join("\n");
  return same(examplesFromText(text, type) ?? [], examples) ? text : JSON.stringify(examples);
}

export function emptyRow(): VariableRow {
  return { name: "", type: "string", options: "", description: "" };
}

/** The parts of a shape (a variable's, a field's or a list's items) the table has controls for; the rest in `extra`. */
function shapeRow(type: string, spec: Record<string, unknown>, hasItems = false): ItemRow {
  const { options, fields, format, pattern, ...extra } = spec;
  const row: ItemRow = { options: "" };
  const strings = Array.isArray(options) && options.every((option) => typeof option === "string");
  if (options !== undefined && options !== null && strings && TYPES_WITH_OPTIONS.has(type) && !hasItems) {
    row.options = optionsText(options as string[]);
  } else if (options !== undefined && options !== null) extra.options = options;
  if (Array.isArray(fields) && fields.every(isRecord) && type === "object") row.fields = fields.map(rowFromVariable);
  else if (fields !== undefined) extra.fields = fields;
  if (typeof format === "string" && type === "string") row.format = format;
  else if (format !== undefined) extra.format = format;
  if (typeof pattern === "string" && pattern !== "" && type === "string") row.pattern = pattern;
  else if (pattern !== undefined) extra.pattern = pattern;
  if (Object.keys(extra).length > 0) row.extra = extra;
  return row;
}

function rowFromVariable(variable: Record<string, unknown>): VariableRow {
  const { name, type, description, examples, items, ...rest } = variable;
  const kind = String(type);
  const row: VariableRow = { name: String(name ?? ""), type: kind, description: String(description ?? ""), ...shapeRow(kind, rest, items !== undefined) };
  if (Array.isArray(examples)) row.examples = examplesText(examples, kind);
  else if (examples !== undefined) row.extra = { ...row.extra, examples };
  if (kind === "list" && items === undefined) row.of = row.options ? LIST_OF_OPTIONS : LIST_OF_STRINGS;
  if (kind === "list" && isRecord(items) && typeof items.type === "string" && items.type !== "list") {
    const { type: itemType, ...shape } = items;
    row.of = itemType;
    row.items = shapeRow(itemType, shape);
  } else if (items !== undefined) row.extra = { ...row.extra, items };
  return row;
}

/** Rows from variables (a profile's, or what /v1/variables/convert answered): every key a control, or kept as it came. */
export function rowsFromVariables(variables: readonly Record<string, unknown>[]): VariableRow[] {
  return variables.map(rowFromVariable);
}

/** A shape's keys from its row, only those its type takes (a type changed back and forth keeps what was typed). */
function shapeFrom(type: string, row: ItemRow & Pick<VariableRow, "of" | "items">): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const options = optionsFromText(row.options);
  if (type === "enum" && options.length > 0) out.options = options;
  if (type === "list") {
    const kind = listKind(row);
    if (kind === LIST_OF_OPTIONS && options.length > 0) out.options = options;
    if (kind !== LIST_OF_OPTIONS && kind !== LIST_OF_STRINGS) {
      const items = row.items ?? { options: "" };
      out.items = { type: kind, ...shapeFrom(kind, items), ...withRegion(items) };
    }
  }
  if (type === "object" && row.fields) {
    const fields = variablesFromRows(row.fields);
    if (fields.length > 0) out.fields = fields;
  }
  if (type === "string" && row.format) out.format = row.format;
  if (type === "string" && row.pattern) out.pattern = row.pattern;
  return out;
}

/** A row's kept keys; a phone's region goes with the phone format, so it is not sent once the format is changed. */
function withRegion(row: ItemRow): Record<string, unknown> {
  const { default_region: region, ...extra } = row.extra ?? {};
  return { ...extra, ...(region !== undefined && row.format === "phone" ? { default_region: region } : {}) };
}

function variableFromRow(row: VariableRow): VariableOut {
  const examples = examplesFromText(row.examples ?? "", row.type);
  return {
    name: row.name.trim(),
    type: row.type,
    description: row.description.trim(),
    ...shapeFrom(row.type, row),
    ...(examples ? { examples } : {}),
    ...withRegion(row),
  } as VariableOut;
}

/** The `variables` of a /v1/extract request (and of a profile) from the table's rows; rows without a name are left out, at every level. */
export function variablesFromRows(rows: readonly VariableRow[]): VariableOut[] {
  return rows.filter((row) => row.name.trim() !== "").map(variableFromRow);
}

/** The row at a key of problemsByRow (`0.items.fields.2`), if the table has one there. */
export function rowAt(rows: readonly VariableRow[], key: string): VariableRow | undefined {
  let level: readonly VariableRow[] | undefined = rows;
  let row: VariableRow | undefined;
  // `items.fields` is one step: the fields of the list's items.
  for (const part of key.replaceAll("items.fields", "items").split(".")) {
    if (part === "fields") level = row?.fields;
    else if (part === "items") level = row?.items?.fields;
    else row = level?.[Number(part)];
  }
  return row;
}

/** One of a 400's details at the row it names: the key of the row it names (`pattern`, `options`…), when it names one. */
export interface RowProblem {
  path: string;
  message: string;
  key?: string;
}

/**
 * Each of a 400's details by the row it names: `variables[0].fields[1].pattern` → the key of that row in the table
 * (`0.fields.1`), walked as the request was built (rows without a name were not sent). Details naming no row (a limit
 * over all variables) are left out: the error box shows them.
 */
export function problemsByRow(rows: readonly VariableRow[], details: readonly { path?: string; message: string }[]): Record<string, RowProblem[]> {
  const sent = new Map<string, string>();
  const walk = (level: readonly VariableRow[] | undefined, at: string, key: string) => {
    let index = 0;
    (level ?? []).forEach((row, position) => {
      if (row.name.trim() === "") return;
      const path = `${at}[${index++}]`;
      const rowKey = `${key}${position}`;
      sent.set(path, rowKey);
      if (row.type === "object") walk(row.fields, `${path}.fields`, `${rowKey}.fields.`);
      if (row.type === "list" && listKind(row) === "object") walk(row.items?.fields, `${path}.items.fields`, `${rowKey}.items.fields.`);
    });
  };
  walk(rows, "variables", "");
  const problems: Record<string, RowProblem[]> = {};
  for (const { path, message } of details) {
    if (!path) continue;
    // The longest sent path the detail's path starts with: the deepest row it names.
    let best: string | undefined;
    for (const sentPath of sent.keys()) {
      const under = path === sentPath || path.startsWith(`${sentPath}.`) || path.startsWith(`${sentPath}[`);
      if (under && (!best || sentPath.length > best.length)) best = sentPath;
    }
    if (!best) continue;
    const key = /^\.([a-z_]+)/.exec(path.slice(best.length))?.[1];
    (problems[sent.get(best)!] ??= []).push({ path, message, ...(key ? { key } : {}) });
  }
  return problems;
}

/** 'text' for a POSIX shell: single quotes, with each ' written as '\'' (nothing inside single quotes is expanded). */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A curl command that sends `body` to /v1/extract at `origin`; with auth on, the key comes from $DEBRIEF_API_KEY, never pasted in. */
export function curlCommand(origin: string, body: unknown, options: { auth: boolean }): string {
  const lines = [
    `curl -sS ${shellQuote(`${origin}/v1/extract`)}`,
    `-H 'content-type: application/json'`,
    ...(options.auth ? [`-H "authorization: Bearer $DEBRIEF_API_KEY"`] : []),
    `--data-binary ${shellQuote(JSON.stringify(body, null, 2))}`,
  ];
  return lines.join(" \\\n  ");
}

const YAML_PLAIN = /^[A-Za-z][A-Za-z0-9 _.,()/$%+-]*$/;
const YAML_RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

/**
 * A YAML scalar: plain when nothing in it could read as something else, else a JSON string (YAML reads JSON strings).
 * Inside a flow list ([a, b]) a comma would end the item.
 */
function yamlString(text: string, inFlow = false): string {
  const plain = YAML_PLAIN.test(text) && !YAML_RESERVED.test(text) && !text.endsWith(" ") && !/ #|: /.test(text) && !(inFlow && text.includes(","));
  return plain ? text : JSON.stringify(text);
}

/** The variables as the `variables:` key of a profile in a DEBRIEF_CONFIG YAML file. */
export function profileYaml(variables: readonly VariableOut[]): string {
  if (variables.length === 0) return "variables: []\n";
  const lines = ["variables:"];
  for (const variable of variables) {
    lines.push(`  - name: ${yamlString(variable.name)}`, `    type: ${yamlString(variable.type)}`);
    if (variable.options) lines.push(`    options: [${variable.options.map((option) => yamlString(option, true)).join(", ")}]`);
    lines.push(`    description: ${yamlString(variable.description)}`);
    // The rich keys as JSON, which YAML reads as flow style: nested fields stay exactly what was sent.
    const others = Object.keys(variable).filter((key) => !["name", "type", "options", "description", ...RICH_KEYS].includes(key));
    for (const key of [...RICH_KEYS, ...others]) if (variable[key] !== undefined) lines.push(`    ${key}: ${JSON.stringify(variable[key])}`);
  }
  return `${lines.join("\n")}\n`;
}
