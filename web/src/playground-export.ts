// What the playground hands out: its request as a curl command, and its variables as a profile's YAML. Pure: the
// tests run the command with a real shell and load the YAML with the service's own configuration parser.

export interface VariableRow {
  name: string;
  type: string;
  description: string;
  /** Comma-separated, as typed in the table; used by enum and list. For an object: its `fields` as JSON. */
  options: string;
  /** Keys the table has no column for (`items`, `format`, `pattern`, `examples`), kept from a loaded profile. */
  extra?: Record<string, unknown>;
}

export const TYPES_WITH_OPTIONS = new Set(["enum", "list", "object"]);

/** A variable's keys beyond name, type, description and options, in the order a profile shows them. */
const RICH_KEYS = ["fields", "items", "format", "pattern", "default_region", "examples"] as const;

/** Rows from variables /v1/variables/convert answered: the table's columns, the rest kept as they are. */
export function rowsFromVariables(variables: readonly Record<string, unknown>[]): VariableRow[] {
  return variables.map(({ name, type, description, options, fields, ...extra }) => ({
    name: String(name),
    type: String(type),
    description: String(description ?? ""),
    options: fields ? JSON.stringify(fields) : Array.isArray(options) ? options.join(", ") : "",
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  }));
}

/** An object's fields typed as JSON; text that is not a JSON array is sent as it is, for the service's 400 to name. */
function fieldsOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The `variables` of a /v1/extract request (and of a profile) from the table's rows; rows without a name are left out. */
export function variablesFromRows(rows: readonly VariableRow[]) {
  return rows
    .filter((row) => row.name.trim() !== "")
    .map((row) => {
      const options = row.options.split(",").map((option) => option.trim()).filter(Boolean);
      const object = row.type === "object";
      return {
        name: row.name.trim(),
        type: row.type,
        description: row.description.trim(),
        ...(TYPES_WITH_OPTIONS.has(row.type) && !object && options.length > 0 ? { options } : {}),
        ...(object && row.options.trim() ? { fields: fieldsOf(row.options) } : {}),
        ...row.extra,
      };
    });
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
export function profileYaml(variables: ReturnType<typeof variablesFromRows>): string {
  if (variables.length === 0) return "variables: []\n";
  const lines = ["variables:"];
  for (const variable of variables) {
    lines.push(`  - name: ${yamlString(variable.name)}`, `    type: ${yamlString(variable.type)}`);
    if (variable.options) lines.push(`    options: [${variable.options.map((option) => yamlString(option, true)).join(", ")}]`);
    lines.push(`    description: ${yamlString(variable.description)}`);
    // The rich keys as JSON, which YAML reads as flow style: nested fields stay exactly what was sent.
    const rich = variable as Record<string, unknown>;
    for (const key of RICH_KEYS) if (rich[key] !== undefined) lines.push(`    ${key}: ${JSON.stringify(rich[key])}`);
  }
  return `${lines.join("\n")}\n`;
}
