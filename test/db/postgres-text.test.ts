// Text PostgreSQL cannot hold as it is (NUL, lone surrogates) is stored escaped and comes back exactly as it was sent;
// JSON holding it stays JSON that PostgreSQL can query.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restored, restoredJson, restoredRow, storable, storableJson } from "../../src/db/postgres.js";
import { createTestDatabase, type TestDatabase } from "../support/postgres.js";

/** Each one alone, and next to the others: the escape character, text that looks like an escape, backslashes. */
const AWKWARD = [
  "",
  "plain text",
  "\u0000",
  "a\u0000b\u0000",
  "\ue000",
  "\ue0000000",
  "\ue000\ue000e000",
  "e000 0000",
  "\ud800",
  "\udfff",
  "x\udc00\ud800y",
  "\u{1F600}",
  "\ud83d\ude00\ud83d",
  "\uFFFD",
  "\\u0000",
  "\\\\u0000",
  "\\\u0000",
  '"quoted\u0000"',
];
const ALL = [...AWKWARD, AWKWARD.join(" | ")];

const hasUnstorable = (text: string) => /[\u0000\uD800-\uDFFF]/u.test(text);

describe("storable text", () => {
  it("gives every text back exactly, and never stores NUL or a lone surrogate", () => {
    for (const text of ALL) {
      expect(restored(storable(text))).toBe(text);
      expect(hasUnstorable(storable(text))).toBe(false);
    }
  });

  it("never stores two different texts the same way", () => {
    const stored = ALL.map(storable);
    expect(new Set(stored).size).toBe(new Set(ALL).size);
    expect(storable("a\u0000b")).not.toBe(storable("a\uFFFDb"));
  });

  it("leaves text with nothing to escape as it is", () => {
    expect(storable("Dana, +15555550142 😀 é")).toBe("Dana, +15555550142 😀 é");
  });

  it("keeps JSON byte for byte, as JSON that no longer holds the escapes PostgreSQL refuses", () => {
    const value = { [`key\u0000`]: ALL, nested: { text: ALL.join("") } };
    const json = JSON.stringify(value);
    const stored = storableJson(json);
    const strings: string[] = [];
    JSON.parse(stored, (key, value: unknown) => (strings.push(key, typeof value === "string" ? value : ""), value));
    expect(strings.filter(hasUnstorable)).toEqual([]);
    expect(restoredJson(stored)).toBe(json);
  });

  it("restores only the fields it is told to, and leaves null alone", () => {
    const row = { id: "call_\ue0000000", reason: storable("a\u0000b"), payload: storableJson(JSON.stringify({ t: "\u0000" })), last_error: null };
    expect(restoredRow(row, { text: ["reason", "last_error"], json: ["payload"] })).toEqual({
      id: "call_\ue0000000",
      reason: "a\u0000b",
      payload: '{"t":"\\u0000"}',
      last_error: null,
    });
  });
});

describe("on PostgreSQL", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.query("CREATE TABLE texts (n INTEGER PRIMARY KEY, text TEXT NOT NULL, json TEXT NOT NULL)");
  });
  afterAll(() => database.drop());

  it("stores every text and reads it back exactly, and reads fields out of the JSON", async () => {
    for (const [n, text] of ALL.entries()) {
      await database.query("INSERT INTO texts (n, text, json) VALUES ($1, $2, $3)", [n, storable(text), storableJson(JSON.stringify({ text, n }))]);
    }
    const rows = await database.query<{ n: number; text: string; json: string; number: string; as_jsonb: string }>(
      "SELECT n, text, json, json::json ->> 'n' AS number, (json::jsonb - 'n')::text AS as_jsonb FROM texts ORDER BY n",
    );
    expect(rows.map((row) => restored(row.text))).toEqual(ALL);
    expect(rows.map((row) => JSON.parse(restoredJson(row.json)).text)).toEqual(ALL);
    expect(rows.map((row) => Number(row.number))).toEqual(ALL.map((_, n) => n));
    expect(rows.map((row) => JSON.parse(restoredJson(row.as_jsonb)).text)).toEqual(ALL);
  });
});
