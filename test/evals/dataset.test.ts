// Loading labelled calls: every bad line is named by file:line before anything runs; labels are checked by type.
// Then the shipped datasets themselves: they load, and they hold the mix evals/README.md claims.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { get_encoding } from "tiktoken";
import { describe, expect, it } from "vitest";
import { buildLongCalls } from "../../evals/datasets/long-calls/build.js";
import { DatasetError, loadDatasets, parseDataset, UNSCORED_VARIABLES } from "../../evals/index.js";
import { formatForModel } from "../../src/transcript/index.js";

const LIMITS = { maxVariables: 200, maxDescriptionChars: 2000 };
const FIXTURES = "test/fixtures/evals";

const line = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: "call-1",
    scenario: "sales",
    transcript: "AI: Hi, this is Sarah from RouteIQ.\nCustomer: We run forty-five trucks.",
    variables: [
      { name: "fleet_size", type: "integer", description: "Number of vehicles" },
      { name: "demo_date", type: "date", description: "Date of the demo" },
      { name: "plan", type: "enum", options: ["basic", "pro"], description: "Plan chosen" },
    ],
    expected: { fleet_size: 45, demo_date: null, status: true },
    ...overrides,
  });

describe("parseDataset", () => {
  it("turns a line into the job the service would run, with its labels", () => {
    const { items, problems } = parseDataset(line(), "calls.jsonl", LIMITS);
    expect(problems).toEqual([]);
    expect(items).toHaveLength(1);
    const [item] = items;
    expect(item).toMatchObject({ id: "call-1", scenario: "sales", source: "calls.jsonl:1", expected: { fleet_size: 45, demo_date: null, status: true } });
    expect(item!.job.variables.map((spec) => spec.name)).toEqual(["status", "summary", "fleet_size", "demo_date", "plan"]);
    expect(item!.job.turns[1]).toEqual({ speaker: "customer", text: "We run forty-five trucks." });
  });

  it("normalises labels the way the model's answers are normalised", () => {
    const { items } = parseDataset(line({ expected: { fleet_size: "45", demo_date: "2026-06-16T00:00:00Z", plan: "Pro" } }), "calls.jsonl", LIMITS);
    expect(items[0]!.expected).toEqual({ fleet_size: 45, demo_date: "2026-06-16", plan: "pro" });
  });

  it("reads the provisional mark of a call exported from production, and its tags", () => {
    const [exported] = parseDataset(line({ provisional: true, tags: ["long", "es", "long"] }), "calls.jsonl", LIMITS).items;
    expect(exported).toMatchObject({ provisional: true, tags: ["es", "long"] });
    const [reviewed] = parseDataset(line({ provisional: false }), "calls.jsonl", LIMITS).items;
    expect(reviewed).toMatchObject({ provisional: false, tags: [] });
    expect(parseDataset(line(), "calls.jsonl", LIMITS).items[0]).not.toHaveProperty("provisional");
  });

  it.each([
    ["invalid JSON", "{\"id\": \"call-1\",", /^not valid JSON/],
    ["a transcript the service rejects", line({ transcript: 42 }), /^transcript: must be a string or an array of turns/],
    ["a variable type the service rejects", line({ variables: [{ name: "deal", type: "currency", description: "d" }], expected: {} }), /^variables\[0\]\.type: must be one of/],
    ["no labels", line({ expected: undefined }), /^expected: is missing/],
    ["a label for a variable the call does not define", line({ expected: { fleet_size: 45, budget: 100 } }), /^expected\.budget: is labelled but not defined/],
    ["a label that is not one of the enum's options", line({ expected: { plan: "enterprise" } }), /^expected\.plan: Invalid enum value/],
    ["a label that is not a calendar date", line({ expected: { demo_date: "2026-02-30" } }), /^expected\.demo_date: .*calendar date/],
    ["an unknown key (a typo)", line({ expectd: {} }), /Unrecognized key\(s\) in object: 'expectd'/],
    ["no scenario", line({ scenario: "" }), /^scenario:/],
    ["a provisional mark that is not a boolean", line({ provisional: "yes" }), /^provisional: Expected boolean/],
    ["a tag that is not lower_snake_case", line({ tags: ["Long call"] }), /^tags\[0\]: must be lower_snake_case/],
  ])("reports %s with its line number", (_name, text, message) => {
    const { items, problems } = parseDataset(`\n${text}\n`, "calls.jsonl", LIMITS);
    expect(items).toEqual([]);
    expect(problems[0]!.source).toBe("calls.jsonl:2");
    expect(problems[0]!.message).toMatch(message);
  });
});

describe("loadDatasets", () => {
  it("loads every .jsonl file of a folder, in name order", () => {
    const items = loadDatasets([`${FIXTURES}/calls`], LIMITS);
    expect(items.map((item) => item.id)).toEqual(["hvac-001", "hvac-002", "plumb-003", "sales-001", "sales-002", "support-001"]);
    expect(new Set(items.map((item) => item.scenario))).toEqual(new Set(["home_services", "sales", "support"]));
  });

  it("refuses a file with bad lines, naming each one, and keeps the good ones out of the run", () => {
    const error = (() => {
      try {
        loadDatasets([`${FIXTURES}/broken.jsonl`], LIMITS);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).problems.map((p) => p.source)).toEqual([2, 4, 5, 6, 7].map((n) => `${FIXTURES}/broken.jsonl:${n}`));
  });

  it("refuses duplicate ids across files, a missing path and an empty folder", () => {
    const file = `${FIXTURES}/calls/sales.jsonl`;
    expect(() => loadDatasets([file, file], LIMITS)).toThrow(/duplicate id "sales-001"/);
    expect(() => loadDatasets([`${FIXTURES}/nope.jsonl`], LIMITS)).toThrow(/no such file or folder/);
    expect(() => loadDatasets(["test/evals"], LIMITS)).toThrow(/no \.jsonl files/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The shipped datasets: every file loads with the service's own schemas, and the mix evals/README.md claims holds.

const DATASETS = "evals/datasets";
const FILES = readdirSync(DATASETS)
  .filter((name) => name.endsWith(".jsonl"))
  .sort();

interface RawCall {
  file: string;
  id: string;
  tags?: string[];
  transcript: unknown;
  variables: { name: string; type: string }[];
  expected: Record<string, unknown>;
  notes?: string;
}

const CALLS: RawCall[] = FILES.flatMap((file) =>
  readFileSync(join(DATASETS, file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => ({ file, ...(JSON.parse(line) as Omit<RawCall, "file">) })),
);

const tagged = (tag: string) => CALLS.filter((call) => call.tags?.includes(tag));
type Turn = Record<string, unknown>;
const turnsOf = (call: RawCall) => (Array.isArray(call.transcript) ? (call.transcript as Turn[]) : []);

/** Which platform's transcript shape a call is in, read from the raw JSON (not through the normaliser). */
function shapeOf(transcript: unknown): string {
  if (typeof transcript === "string") return /^(bot|human): /m.test(transcript) && !/^(AI|Agent|Customer): /m.test(transcript) ? "synthflow" : "speaker_lines";
  const turns = transcript as Turn[];
  const some = (test: (turn: Turn) => boolean) => turns.some(test);
  if (some((t) => "speaker" in t && "transcript" in t)) return "thoughtly";
  if (some((t) => "sender" in t)) return some((t) => t.type !== "transcript") ? "autocalls_with_tool_calls" : "autocalls";
  if (some((t) => "user" in t && "text" in t)) return "bland";
  if (some((t) => "time_in_call_secs" in t)) return some((t) => t.message === null) ? "elevenlabs_with_tool_turns" : "elevenlabs";
  if (some((t) => t.role === "tool_call_invocation")) return "retell_transcript_with_tool_calls";
  if (some((t) => "words" in t)) return "retell_transcript_object";
  if (some((t) => "secondsFromStart" in t)) return some((t) => t.role === "tool_calls") ? "vapi_with_tool_calls" : "vapi";
  return "unknown";
}

/** Seconds from the first turn to the last, from each platform's own time fields. */
function durationOf(call: RawCall): number {
  const turns = turnsOf(call);
  const span = (values: number[]) => Math.max(...values) - Math.min(...values);
  switch (shapeOf(call.transcript)) {
    case "thoughtly":
      return span(turns.map((t) => Date.parse(t.createdAt as string))) / 1000;
    case "autocalls":
    case "autocalls_with_tool_calls":
      return span(turns.map((t) => t.timestamp as number));
    case "vapi":
    case "vapi_with_tool_calls":
      return span(turns.map((t) => t.secondsFromStart as number));
    case "elevenlabs":
    case "elevenlabs_with_tool_turns":
      return span(turns.map((t) => t.time_in_call_secs as number));
    default:
      return Number.NaN;
  }
}

/** What the customer said, in every shape. */
function customerText(call: RawCall): string {
  if (typeof call.transcript === "string") {
    return call.transcript
      .split("\n")
      .filter((line) => !/^(AI|Agent|bot):/.test(line))
      .map((line) => line.replace(/^[^:]+:\s*/, ""))
      .join("\n");
  }
  return turnsOf(call)
    .filter((t) => ["user", "human"].includes(String(t.speaker ?? t.sender ?? t.role ?? t.user)))
    .map((t) => String(t.transcript ?? t.text ?? t.message ?? t.content ?? ""))
    .join("\n");
}

const SPANISH = new Set("de que el la los las y en un una por para con es mi me lo se sí pero muy está tengo gracias".split(" "));
const ENGLISH = new Set("the and to of is it i you that my for on in with we be have this but so yes okay".split(" "));

function languageMix(text: string): { spanish: number; english: number } {
  const words = text.toLowerCase().match(/[a-záéíóúñü']+/g) ?? [];
  return { spanish: words.filter((w) => SPANISH.has(w)).length, english: words.filter((w) => ENGLISH.has(w)).length };
}

const DIGIT = "(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|cero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve)";
/** What speech recognition leaves in a transcript: digits read one by one or with "oh", spelled letters, cut-off words, stutters. */
const ASR_NOISE = [
  new RegExp(`\\b${DIGIT}(?:[\\s,.-]+${DIGIT}){2,}\\b`, "i"),
  /\b(?:teen|ty|hundred|nineteen|twenty|fourteen)\s+oh\b/i,
  /\b[A-Z](?:-[A-Z]){2,}\b/,
  /\b[A-Z] [A-Z]\b/,
  /\b[A-Za-z]+-(?=[\s,.])/,
  /\b(\w+),? \1\b/i,
];

describe("the shipped datasets in evals/datasets", () => {
  it.each(FILES)("%s loads with the service's own request and output schemas", (file) => {
    const text = readFileSync(join(DATASETS, file), "utf8");
    const { items, problems } = parseDataset(text, file, LIMITS);
    expect(problems).toEqual([]);
    expect(items).toHaveLength(text.split("\n").filter((line) => line.trim() !== "").length);
  });

  it("has at least 150 labelled calls with unique ids, each with notes saying where its labels come from", () => {
    expect(CALLS.length).toBeGreaterThanOrEqual(150);
    expect(new Set(CALLS.map((call) => call.id)).size).toBe(CALLS.length);
    expect(CALLS.filter((call) => !call.notes?.trim()).map((call) => call.id)).toEqual([]);
  });

  it("uses every variable name in at least two calls that label it, with one type per name", () => {
    const uses = new Map<string, { calls: number; types: Set<string> }>();
    for (const call of CALLS) {
      for (const spec of call.variables) {
        const use = uses.get(spec.name) ?? { calls: 0, types: new Set<string>() };
        uses.set(spec.name, use);
        use.types.add(spec.type);
        if (spec.name in call.expected) use.calls += 1;
      }
    }
    expect([...uses].filter(([, use]) => use.calls < 2).map(([name]) => name)).toEqual([]);
    expect([...uses].filter(([, use]) => use.types.size > 1).map(([name]) => name)).toEqual([]);
  });

  it("keeps about 30% of the scored labels null: what the call never said", () => {
    const labels = CALLS.flatMap((call) => Object.entries(call.expected).filter(([name]) => !UNSCORED_VARIABLES.has(name)));
    const share = labels.filter(([, value]) => value === null).length / labels.length;
    expect(share).toBeGreaterThanOrEqual(0.25);
    expect(share).toBeLessThanOrEqual(0.35);
  });

  it("has every platform's transcript shape, tool turns included", () => {
    const shapes = new Set(CALLS.map((call) => shapeOf(call.transcript)));
    expect([...shapes].sort()).toEqual(
      [
        "autocalls",
        "autocalls_with_tool_calls",
        "bland",
        "elevenlabs",
        "elevenlabs_with_tool_turns",
        "retell_transcript_object",
        "retell_transcript_with_tool_calls",
        "speaker_lines",
        "synthflow",
        "thoughtly",
        "vapi",
        "vapi_with_tool_calls",
      ].sort(),
    );
    // Vapi's artifact.messages carry the system prompt as a turn; Bland's a robot voice and agent actions.
    expect(CALLS.some((call) => turnsOf(call).some((t) => t.role === "system" && "secondsFromStart" in t))).toBe(true);
    expect(CALLS.some((call) => turnsOf(call).some((t) => t.user === "robot")) && CALLS.some((call) => turnsOf(call).some((t) => t.user === "agent-action"))).toBe(true);
  });

  it("has calls over an hour long, by their own turn times, of at least 12,000 tokens as the model reads them (o200k_base)", () => {
    const long = tagged("long");
    expect(long.length).toBeGreaterThanOrEqual(4);
    const encoder = get_encoding("o200k_base");
    try {
      for (const call of long) {
        expect(durationOf(call), call.id).toBeGreaterThan(3600);
        const { file, ...line } = call;
        const [item] = parseDataset(JSON.stringify(line), file, LIMITS).items;
        expect(encoder.encode(formatForModel(item!.job.turns)).length, call.id).toBeGreaterThanOrEqual(12_000);
      }
    } finally {
      encoder.free();
    }
  });

  it("ships long_calls.jsonl exactly as its seeded build script writes it", () => {
    expect(readFileSync(join(DATASETS, "long_calls.jsonl"), "utf8")).toBe(buildLongCalls().text);
  });

  it("has Spanish calls and code-switching calls, and their customers really speak that way", () => {
    const spanish = tagged("es");
    const switching = tagged("code_switching");
    expect(spanish.length).toBeGreaterThanOrEqual(3);
    expect(switching.length).toBeGreaterThanOrEqual(2);
    for (const call of spanish) {
      const mix = languageMix(customerText(call));
      expect(mix.spanish / (mix.spanish + mix.english), call.id).toBeGreaterThanOrEqual(0.8);
    }
    for (const call of switching) {
      const mix = languageMix(customerText(call));
      expect(Math.min(mix.spanish, mix.english), call.id).toBeGreaterThanOrEqual(5);
    }
  });

  it("has calls with ASR noise, each showing it in what the customer said", () => {
    const noisy = tagged("asr_noise");
    expect(noisy.length).toBeGreaterThanOrEqual(20);
    expect(noisy.filter((call) => !ASR_NOISE.some((pattern) => pattern.test(customerText(call)))).map((call) => call.id)).toEqual([]);
  });
});
