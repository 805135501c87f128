// Reading an OpenAPI document in tests: follow local references, list every reference.

/** Follows a local `#/…` reference. */
export function resolve(document: any, ref: string): any {
  return ref
    .slice(2)
    .split("/")
    .reduce((node, key) => (node === undefined ? undefined : node[key.replace(/~1/g, "/").replace(/~0/g, "~")]), document);
}

export function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (node && typeof node === "object") {
    return Object.entries(node).flatMap(([key, value]) => (key === "$ref" && typeof value === "string" ? [value] : refsIn(value)));
  }
  return [];
}
