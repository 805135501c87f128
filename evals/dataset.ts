// Reads labelled calls from .jsonl files and checks every line, with the service's own request and output
// schemas, before any LLM is called.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { InvalidRequestError } from "../src/errors.js";
import { formatPath, outputSchemaFor, parseExtractRequest, type ExtractJob, type VariableLimits } from "../src/schema/index.js";

/** Labelled for every call, but never part of accuracy: a free-text summary has no single right answer (see --judge). */
export const UNSCORED_VARIABLES: ReadonlySet<string> = new Set(["summary"]);

export interface DatasetItem {
  id: string;
  scenario: string;
  /** `file:line`, for messages and the report. */
  source: string;
  job: ExtractJob;
  /** The labels, normalised by the same output schema the model's answer passes through. */
  expected: Record<string, unknown>;
  /** Free labels that group calls across scenarios in the report (`long`, `es`, `asr_noise`…). */
  tags: string[];
  /** Exported from production: true while nobody has reviewed its labels, false once someone has. Scored the same. */
  provisional?: boolean;
  notes?: string;
}

export interface DatasetProblem {
  source: string;
  message: string;
}

export class DatasetError extends Error {
  readonly problems: DatasetProblem[];
  constructor(problems: DatasetProblem[]) {
    super(`The dataset has ${problems.length} problem(s):\n${problems.map((p) => `  ${p.source}: ${p.message}`).join("\n")}`);
    this.problems = problems;
  }
}

/** One line: the body of `POST /v1/extract` (transcript, variables, context) plus the labels. */
const LineSchema = z
  .object({
    id: z.string().min(1),
    scenario: z.string().min(1),
    transcript: z.unknown(),
    variables: z.unknown(),
    context: z.unknown().optional(),
    expected: z.record(z.unknown(), { required_error: "is missing: every call needs its labels" }),
    tags: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, "must be lower_snake_case")).default([]),
    provisional: z.boolean().optional(),
    notes: z.string().optional(),
  })
  .strict();

type LineResult = { ok: true; item: DatasetItem } | { ok: false; messages: string[] };

function parseLine(text: string, source: string, limits: VariableLimits): LineResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, messages: [`not valid JSON (${(error as Error).message})`] };
  }
  const line = LineSchema.safeParse(json);
  if (!line.success) return { ok: false, messages: line.error.issues.map((i) => `${formatPath(i.path) || "(line)"}: ${i.message}`) };
  const { id, scenario, transcript, variables, context, expected, tags, provisional, notes } = line.data;

  let job: ExtractJob;
  try {
    job = parseExtractRequest({ transcript, variables, ...(context === undefined ? {} : { context }) }, limits);
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    return { ok: false, messages: error.details.map((d) => `${d.path || "(request)"}: ${d.message}`) };
  }

  const defined = new Set(job.variables.map((spec) => spec.name));
  const undefinedNames = Object.keys(expected).filter((name) => !defined.has(name));
  if (undefinedNames.length > 0) {
    return { ok: false, messages: undefinedNames.map((name) => `expected.${name}: is labelled but not defined in variables`) };
  }

  // A label must be an answer the model could legally give, so the output schema checks (and normalises) it.
  const schema = outputSchemaFor(job.variables, { evidence: false });
  const all = Object.fromEntries(job.variables.map((spec) => [spec.name, expected[spec.name] ?? null]));
  const labels = schema.zod.safeParse({ values: all });
  if (!labels.success) {
    return { ok: false, messages: labels.error.issues.map((i) => `expected.${formatPath(i.path.slice(1))}: ${i.message}`) };
  }
  const normalised = Object.fromEntries(Object.keys(expected).map((name) => [name, labels.data.values[name] ?? null]));
  const item: DatasetItem = { id, scenario, source, job, expected: normalised, tags: [...new Set(tags)].sort() };
  if (provisional !== undefined) item.provisional = provisional;
  if (notes) item.notes = notes;
  return { ok: true, item };
}

/** Parses one .jsonl text; blank lines are skipped, and every bad line is reported, not just the first. */
export function parseDataset(text: string, file: string, limits: VariableLimits): { items: DatasetItem[]; problems: DatasetProblem[] } {
  const items: DatasetItem[] = [];
  const problems: DatasetProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.trim() === "") return;
    const source = `${file}:${index + 1}`;
    const result = parseLine(raw, source, limits);
    if (result.ok) items.push(result.item);
    else problems.push(...result.messages.map((message) => ({ source, message })));
  });
  return { items, problems };
}

/** A .jsonl file, or every .jsonl file directly inside a folder (in name order). */
function datasetFiles(path: string): string[] {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new DatasetError([{ source: path, message: "no such file or folder" }]);
  if (stat.isFile()) return [path];
  const files = readdirSync(path)
    .filter((name) => name.endsWith(".jsonl"))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) throw new DatasetError([{ source: path, message: "the folder has no .jsonl files" }]);
  return files;
}

/** Loads every dataset named; throws DatasetError listing each bad line (file:line), so nothing runs on a broken set. */
export function loadDatasets(paths: readonly string[], limits: VariableLimits): DatasetItem[] {
  const items: DatasetItem[] = [];
  const problems: DatasetProblem[] = [];
  for (const file of paths.flatMap(datasetFiles)) {
    const parsed = parseDataset(readFileSync(file, "utf8"), file, limits);
    items.push(...parsed.items);
    problems.push(...parsed.problems);
  }
  const firstSeen = new Map<string, string>();
  for (const item of items) {
    const earlier = firstSeen.get(item.id);
    if (earlier) problems.push({ source: item.source, message: `duplicate id "${item.id}" (first at ${earlier})` });
    else firstSeen.set(item.id, item.source);
  }
  if (problems.length === 0 && items.length === 0) problems.push({ source: paths.join(", "), message: "no labelled calls found" });
  if (problems.length > 0) throw new DatasetError(problems);
  return items;
}
