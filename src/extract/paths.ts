// Where a nested value's evidence, confidence and flags sit: its leaves, addressed by path (`contact.email`,
// `items[1].quantity`). Pure and free of Node and zod: the console bundles it.
import type { ValueShape } from "../schema/variables.js";

/**
 * A variable judged per leaf: an object, or a list of objects. Any other (a scalar, a list of strings or options) is
 * judged whole under its name, as variables always were.
 */
export function isNested(shape: Pick<ValueShape, "type" | "items">): boolean {
  return shape.type === "object" || (shape.type === "list" && shape.items?.type === "object");
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * The paths of the non-null leaves of `value` (a value of `shape` at `path`): an object's fields and a list of
 * objects' items are walked into; anything else (a scalar, a list of scalars) is a leaf.
 */
export function leafPaths(shape: ValueShape, value: unknown, path: string, into: string[] = []): string[] {
  if (value === null || value === undefined) return into;
  if (shape.type === "object" && isObject(value)) {
    for (const field of shape.fields ?? []) leafPaths(field, value[field.name], `${path}.${field.name}`, into);
  } else if (shape.type === "list" && shape.items?.type === "object" && Array.isArray(value)) {
    value.forEach((item, index) => leafPaths(shape.items!, item, `${path}[${index}]`, into));
  } else into.push(path);
  return into;
}

/** A list item validation drops (null, a blank string, the word "null"): it takes no index in the list it was in. */
export function isDroppedItem(item: unknown): boolean {
  return item === null || (typeof item === "string" && (item.trim() === "" || item.trim().toLowerCase() === "null"));
}

/** The keys a non-null value is judged under: its name for a flat variable, its leaves' paths for a nested one. */
export function judgedKeys(shape: ValueShape, value: unknown, name: string): string[] {
  if (value === null || value === undefined) return [];
  return isNested(shape) ? leafPaths(shape, value, name) : [name];
}

/** The parts of `contact.email` or `items[1].phone`. */
export function pathParts(path: string): string[] {
  return path.match(/[^.[\]]+/g) ?? [];
}

/** The value at `contact.email` or `items[1].phone`; undefined when the path goes nowhere. */
export function valueAtPath(values: Record<string, unknown>, path: string): unknown {
  let node: unknown = values;
  for (const part of pathParts(path)) {
    if (node === null || typeof node !== "object") return undefined;
    node = Array.isArray(node) ? node[Number(part)] : (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * A path as the model wrote it, in the canonical spelling under variable `name`: `items[1].quantity` from
 * `items.1.quantity`, `[1].quantity` or `1.quantity`; `contact.email` from `email`. Undefined when it is empty.
 */
export function canonicalPath(name: string, written: string): string | undefined {
  const parts = pathParts(written.trim());
  if (parts[0] === name) parts.shift();
  if (parts.length === 0) return undefined;
  return parts.reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${Number(part)}]` : `${out}.${part}`), name);
}

/** Whether `path` is `name` itself or a path inside it (`items` holds `items[0].product`, not `items_total`). */
export function isWithin(path: string, name: string): boolean {
  return path === name || path.startsWith(`${name}.`) || path.startsWith(`${name}[`);
}

/**
 * The paths inside variable `name` that `keyed` (evidence, confidence, review fields) holds, in the order the value
 * writes them: `contact.name` before `contact.email`, `items[0].quantity` before `items[1].product`.
 */
export function pathsWithin(name: string, value: unknown, keyed: Iterable<string>): string[] {
  const order: string[] = [];
  const walk = (node: unknown, path: string) => {
    order.push(path);
    if (Array.isArray(node)) node.forEach((item, index) => walk(item, `${path}[${index}]`));
    else if (isObject(node)) for (const [key, child] of Object.entries(node)) walk(child, `${path}.${key}`);
  };
  walk(value, name);
  const rank = new Map(order.map((path, index) => [path, index]));
  const inside = [...new Set(keyed)].filter((path) => path !== name && isWithin(path, name));
  return inside.sort((a, b) => (rank.get(a) ?? order.length) - (rank.get(b) ?? order.length));
}
