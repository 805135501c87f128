// Loading labelled calls: every bad line is named by file:line before anything runs; labels are checked by type.
import { describe, expect, it } from "vitest";
import { DatasetError, loadDatasets, parseDataset } from "../../evals/index.js";

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
