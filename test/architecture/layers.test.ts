// Imports form layers: at every level of the tree, the folders and files side by side never import each other in a
// circle (directly or through others), and no two files do. A new import that closes a circle fails here, naming it.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
/** The repository's own code: the service, the console, and the tools beside them. */
const CODE = ["src", "web/src", "evals", "bench", "fuzz"];
const SOURCE = /\.(ts|tsx|mts|mjs)$/;

function listFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (name === "node_modules" || name === "dist") return [];
    if (statSync(path).isDirectory()) return listFiles(path);
    return SOURCE.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Relative imports of each file, resolved to files of the repository (`.js` specifiers name `.ts` sources). */
export function importGraph(): Map<string, string[]> {
  const files = CODE.flatMap((folder) => listFiles(join(ROOT, folder))).map((file) => relative(ROOT, file));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
    const targets = importedFiles
      .map(({ fileName }) => fileName)
      .filter((name) => name.startsWith("."))
      .map((name) => resolveImport(join(ROOT, dirname(file)), name))
      .filter((target): target is string => target !== undefined)
      .map((target) => relative(ROOT, target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

function resolveImport(from: string, specifier: string): string | undefined {
  const base = resolve(from, specifier);
  const candidates = [base, base.replace(/\.js$/, ".ts"), base.replace(/\.js$/, ".tsx"), base.replace(/\.mjs$/, ".mts"), `${base}.ts`, join(base, "index.ts")];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

/** Every circle in a directed graph, each once (as its strongly connected component, when it has more than one node). */
export function circles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  // Tarjan's algorithm, iteratively: a deep import chain must not overflow the stack.
  for (const start of edges.keys()) {
    if (index.has(start)) continue;
    const work: [string, string[]][] = [];
    const enter = (node: string) => {
      index.set(node, next);
      low.set(node, next++);
      stack.push(node);
      onStack.add(node);
      work.push([node, [...(edges.get(node) ?? [])]]);
    };
    enter(start);
    while (work.length > 0) {
      const [node, pending] = work[work.length - 1]!;
      const target = pending.shift();
      if (target !== undefined) {
        if (!index.has(target)) enter(target);
        else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent[0], Math.min(low.get(parent[0])!, low.get(node)!));
      if (low.get(node) === index.get(node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== node);
        if (component.length > 1) found.push(component.sort());
      }
    }
  }
  return found;
}

/** The graph between the entries (child folders and files) of each folder: an import from a/x/… to a/y/… is a → … edge x → y. */
function siblingGraphs(graph: Map<string, string[]>): Map<string, Map<string, Set<string>>> {
  const levels = new Map<string, Map<string, Set<string>>>();
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = from.split(sep);
      const b = to.split(sep);
      let common = 0;
      while (common < a.length - 1 && common < b.length - 1 && a[common] === b[common]) common++;
      const folder = a.slice(0, common).join("/") || ".";
      const edge = [a[common]!, b[common]!] as const;
      if (edge[0] === edge[1]) continue;
      const level = levels.get(folder) ?? new Map<string, Set<string>>();
      levels.set(folder, level);
      level.set(edge[0], (level.get(edge[0]) ?? new Set()).add(edge[1]));
    }
  }
  return levels;
}

describe("the import graph", () => {
  const graph = importGraph();

  it("reads the code it is meant to check", () => {
    expect(graph.has("src/server.ts")).toBe(true);
    expect(graph.get("src/server.ts")!.length).toBeGreaterThan(5);
  });

  it("has no two files importing each other, directly or through others", () => {
    const edges = new Map([...graph].map(([file, targets]) => [file, new Set(targets)]));
    expect(circles(edges)).toEqual([]);
  });

  it("has no two folders (or a folder and a file beside it) importing each other, at any level", () => {
    const found = [...siblingGraphs(graph)].flatMap(([folder, edges]) => circles(edges).map((circle) => `${folder}: ${circle.join(" ↔ ")}`));
    expect(found).toEqual([]);
  });

  it("finds a circle when there is one", () => {
    const edges = new Map([
      ["a", new Set(["b"])],
      ["b", new Set(["c"])],
      ["c", new Set(["a"])],
      ["d", new Set(["a"])],
    ]);
    expect(circles(edges)).toEqual([["a", "b", "c"]]);
  });
});
