// What the review form edits: each value as a draft of texts (an object's fields, a list's items), read back into the
// value to send and checked leaf by leaf against its variable's type, options and format before anything is sent. The
// API checks again and decides (a phone number is normalised there); these checks spare the reviewer a round trip.

/** A variable's shape as GET /v1/profiles/{name} gives it (its own copy: the console keeps no second schema module). */
export interface ValueShape {
  type: string;
  options?: string[] | null;
  fields?: FieldShape[];
  items?: ValueShape;
  format?: string;
  pattern?: string;
}

export interface FieldShape extends ValueShape {
  name: string;
}

/** A scalar's text, a list's items, an object's fields by name. */
export type Draft = string | Draft[] | { [field: string]: Draft };

export interface DraftProblem {
  /** As the API names it: `values.items[1].quantity`. */
  path: string;
  message: string;
}

/** Every call has these unless the profile defines a variable of the same name (as the service adds them). */
const DEFAULT_SHAPES: FieldShape[] = [
  { name: "status", type: "boolean" },
  { name: "summary", type: "string" },
];

export function withDefaultShapes(variables: readonly FieldShape[]): FieldShape[] {
  const own = new Set(variables.map((variable) => variable.name));
  return [...DEFAULT_SHAPES.filter((shape) => !own.has(shape.name)), ...variables];
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** The shape a value shows when its variable is unknown (the profile could not be read): what the value itself holds. */
export function shapeOfValue(value: unknown): ValueShape {
  if (isRecord(value)) return { type: "object", fields: Object.entries(value).map(([name, field]) => ({ name, ...shapeOfValue(field) })) };
  if (Array.isArray(value) && value.some(isRecord)) {
    const names = [...new Set(value.filter(isRecord).flatMap((item) => Object.keys(item)))];
    const first = (name: string) => value.filter(isRecord).map((item) => item[name]).find((field) => field !== null && field !== undefined);
    return { type: "list", items: { type: "object", fields: names.map((name) => ({ name, ...shapeOfValue(first(name)) })) } };
  }
  if (Array.isArray(value)) return { type: "list" };
  if (typeof value === "number") return { type: "number" };
  if (typeof value === "boolean") return { type: "boolean" };
  return { type: "string" };
}

/**
 * Edited field by field, item by item: an object, or a list whose items have their own shape (a list of e-mail
 * addresses too, though it is judged whole). A list of options or of plain strings stays one text ("a, b"), as flat
 * variables always were.
 */
export const editsPerPart = (shape: ValueShape) => shape.type === "object" || (shape.type === "list" && shape.items !== undefined);

/** What an input shows for a value: lists as "a, b", null as blank. */
export function asText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(String).join(", ");
  if (typeof value === "string") return value;
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** A blank object: each field's empty draft (an item added to a list starts as one). */
export function emptyDraft(shape: ValueShape): Draft {
  return toDraft(shape, null);
}

export function toDraft(shape: ValueShape, value: unknown): Draft {
  if (shape.type === "object") {
    const fields = isRecord(value) ? value : {};
    return Object.fromEntries((shape.fields ?? []).map((field) => [field.name, toDraft(field, fields[field.name])]));
  }
  if (shape.type === "list" && shape.items) {
    const items = shape.items;
    return Array.isArray(value) ? value.map((item) => toDraft(items, item)) : [];
  }
  return asText(value);
}

/** `["items", 1, "quantity"]` → `items[1].quantity`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === "number" ? `${out}[${part}]` : out ? `${out}.${part}` : part), "");
}

type Leaf = { ok: true; value: unknown } | { ok: false; message: string };

const NUMBER_TEXT = /^[-+]?\$?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_TEXT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const TIME = /^([01]?\d|2[0-3])[:.h]([0-5]\d)(?::[0-5]\d)?$/i;
const PHONE = /^\+?[\d\s().-]+$/;

/** 2026-02-30 is no date: JavaScript would roll it over into March, so the round trip must give the same text. */
function isRealDate(text: string): boolean {
  const date = new Date(`${text}T00:00:00Z`);
  return DATE_TEXT.test(text) && !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

function matchOption(options: readonly string[], text: string): string | undefined {
  return options.find((option) => option === text) ?? options.find((option) => option.toLowerCase() === text.toLowerCase());
}

function checkFormat(format: string | undefined, text: string): string | undefined {
  if (format === "email" && !EMAIL.test(text.replace(/^mailto:/i, ""))) return "must be an e-mail address such as ana@example.com";
  if (format === "url") {
    let protocol = "";
    try {
      protocol = new URL(text).protocol;
    } catch {
      // refused below
    }
    if (protocol !== "http:" && protocol !== "https:") return "must be an http(s) URL such as https://example.com/page";
  }
  if (format === "time" && !TIME.test(text)) return "must be a 24-hour time HH:MM such as 14:30";
  if (format === "phone" && (!PHONE.test(text) || text.replace(/\D/g, "").length < 7)) return "must be a phone number";
  return undefined;
}

/** The profile's own pattern; one the browser's engine reads otherwise than the service's RE2 is left to the service. */
function breaksPattern(pattern: string | undefined, text: string): boolean {
  if (pattern === undefined) return false;
  try {
    return !new RegExp(pattern, "u").test(text);
  } catch {
    return false;
  }
}

/** One value the reviewer typed, checked as the service checks it; blank is null (the call never said). */
export function readLeaf(shape: ValueShape, text: string): Leaf {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: true, value: null };
  switch (shape.type) {
    case "number":
    case "integer": {
      if (!NUMBER_TEXT.test(trimmed)) return { ok: false, message: shape.type === "integer" ? "must be a whole number" : "must be a number" };
      const value = Number(trimmed.replace(/[$,\s]/g, ""));
      if (shape.type === "integer" && !Number.isInteger(value)) return { ok: false, message: "must be a whole number" };
      return { ok: true, value };
    }
    case "boolean": {
      const word = trimmed.toLowerCase();
      if (word === "true" || word === "yes") return { ok: true, value: true };
      if (word === "false" || word === "no") return { ok: true, value: false };
      return { ok: false, message: "must be true or false" };
    }
    case "enum": {
      const option = matchOption(shape.options ?? [], trimmed);
      return option === undefined ? { ok: false, message: `must be one of ${(shape.options ?? []).join(", ")}` } : { ok: true, value: option };
    }
    case "date":
      return isRealDate(trimmed) ? { ok: true, value: trimmed } : { ok: false, message: "must be a calendar date YYYY-MM-DD" };
    case "datetime":
      return DATETIME_TEXT.test(trimmed) && !Number.isNaN(Date.parse(trimmed))
        ? { ok: true, value: trimmed }
        : { ok: false, message: "must be ISO 8601 with an offset, e.g. 2026-06-16T15:00:00-04:00" };
    case "list": {
      const items = trimmed.split(",").map((item) => item.trim()).filter((item) => item !== "");
      if (!shape.options) return { ok: true, value: items };
      const unknown = items.find((item) => matchOption(shape.options ?? [], item) === undefined);
      return unknown === undefined ? { ok: true, value: items.map((item) => matchOption(shape.options ?? [], item)) } : { ok: false, message: `"${unknown}" is not one of ${shape.options.join(", ")}` };
    }
    default: {
      const problem = checkFormat(shape.format, trimmed);
      if (problem) return { ok: false, message: problem };
      if (breaksPattern(shape.pattern, trimmed)) return { ok: false, message: `must match the pattern ${shape.pattern}` };
      return { ok: true, value: trimmed };
    }
  }
}

/**
 * The value a draft stands for, and every leaf that is not a value of its type (named as the API names it). An object
 * whose every field is blank is null, and so is such an item: it is dropped from its list, as the service drops it.
 */
export function readDraft(shape: ValueShape, draft: Draft, path: (string | number)[]): { value: unknown; problems: DraftProblem[] } {
  const problems: DraftProblem[] = [];
  const read = (shape: ValueShape, draft: Draft, at: (string | number)[]): unknown => {
    if (shape.type === "object") {
      const fields = isRecord(draft) ? draft : {};
      const value = Object.fromEntries((shape.fields ?? []).map((field) => [field.name, read(field, (fields[field.name] as Draft | undefined) ?? emptyDraft(field), [...at, field.name])]));
      return Object.values(value).every((field) => field === null || (Array.isArray(field) && field.length === 0)) ? null : value;
    }
    if (shape.type === "list" && shape.items) {
      const items = shape.items;
      const drafts = Array.isArray(draft) ? draft : [];
      return drafts.map((item, index) => read(items, item, [...at, index])).filter((item) => item !== null);
    }
    const leaf = readLeaf(shape, typeof draft === "string" ? draft : "");
    if (leaf.ok) return leaf.value;
    problems.push({ path: `values.${formatPath(at)}`, message: leaf.message });
    return null;
  };
  const value = read(shape, draft, path);
  return { value, problems };
}

/** The draft with `next` at `path` (a field name or an item's index at each step). */
export function setAt(draft: Draft, path: readonly (string | number)[], next: Draft): Draft {
  if (path.length === 0) return next;
  const [step, ...rest] = path;
  if (Array.isArray(draft)) return draft.map((item, index) => (index === step ? setAt(item, rest, next) : item));
  if (isRecord(draft)) return { ...draft, [String(step)]: setAt((draft as Record<string, Draft>)[String(step)] ?? "", rest, next) };
  return draft;
}
