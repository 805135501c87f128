// The one-pass scan of JSON bytes: it finds the first container past a limit, with where it is, reads nothing into
// memory, and reads a string field as JSON.parse would, whatever tricks the text plays with strings and escapes.
import { describe, expect, it } from "vitest";
import { findLimitBreach, JSON_BODY_LIMITS, readStringAt } from "../../src/lib/json-scan.js";

const bytes = (text: string) => Buffer.from(text, "utf8");
const breach = (text: string) => findLimitBreach(bytes(text), JSON_BODY_LIMITS);

describe("limits", () => {
  it("passes 64 levels of nesting and refuses 65, naming the path", () => {
    expect(breach(`${"[".repeat(64)}${"]".repeat(64)}`)).toBeUndefined();
    expect(breach(`{"a": {"b": ${"[".repeat(63)}${"]".repeat(63)}}}`)).toEqual({ limit: "maxDepth", path: ["a", "b", ...Array(62).fill(0)] });
  });

  it("refuses a million-deep nesting at once", () => {
    expect(breach(`${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`)?.limit).toBe("maxDepth");
  });

  it("passes an array of 100,000 elements and an object of 10,000 keys, and refuses one more of each", () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(breach(JSON.stringify({ a: Array(100_000).fill(0), b: keys(10_000) }))).toBeUndefined();
    expect(breach(JSON.stringify({ context: { input_variables: { ids: Array(100_001).fill(0) } } }))).toEqual({
      limit: "maxArrayLength",
      path: ["context", "input_variables", "ids"],
    });
    expect(breach(JSON.stringify({ list: [{}, { o: keys(10_001) }] }))).toEqual({ limit: "maxObjectKeys", path: ["list", 1, "o"] });
  });

  it("counts nothing inside strings, however they escape their quotes", () => {
    const tricky = JSON.stringify({ a: '[[[[,,,,{{{{"', "b\\\"[": `\\${"\\".repeat(5)}"` });
    expect(breach(tricky)).toBeUndefined();
    expect(breach(JSON.stringify({ t: `${"x".repeat(100)}\\"${",".repeat(200_000)}` }))).toBeUndefined();
    expect(breach(JSON.stringify({ t: ",".repeat(200_000) }))).toBeUndefined();
  });

  it("cuts a long key in the path it reports", () => {
    const key = "k".repeat(1_000);
    expect(breach(JSON.stringify({ [key]: Array(100_001).fill(0) }))?.path).toEqual([`${"k".repeat(64)}…`]);
  });

  it("takes any bytes, JSON or not, without throwing", () => {
    for (const text of ["", "\"", "\"\\", "]]]}}}", ",,,,", "{\"a\"", "\u0000", "\ud800"]) expect(() => breach(text)).not.toThrow();
  });
});

describe("reading one string field", () => {
  it.each([
    ['{"call": {"call_id": "a"}}', "a"],
    ['{"call": {"call_id": "a", "call_id": "b"}}', "b"],
    ['{"call": {"call_id": "a", "call_id": 5}}', undefined],
    ['{"call": {"call_id": "a"}, "call": {"x": 1}}', undefined],
    ['{"call": {"call_id": "a"}, "call": null}', undefined],
    ['{"c\\u0061ll": {"call_id": "a\\"b"}}', 'a"b'],
    ['{"x": {"call": {"call_id": "no"}}, "call": {"y": [{"call_id": "no"}], "call_id": "yes"}}', "yes"],
    ['[{"call": {"call_id": "a"}}]', undefined],
    ['{"call": "{\\"call_id\\": \\"a\\"}"}', undefined],
    [' { "call" : { "call_id" : "spaced" } } ', "spaced"],
    ['{"call": {"call_id": "😀 é"}}', "😀 é"],
  ])("reads call.call_id of %s as JSON.parse does", (text, expected) => {
    expect(readStringAt(bytes(text), ["call", "call_id"], 64)).toBe(expected);
    expect((JSON.parse(text) as { call?: { call_id?: unknown } }).call?.call_id === expected || expected === undefined).toBe(true);
  });

  it("gives up on text nested past its depth", () => {
    expect(readStringAt(bytes(`{"call": {"call_id": "a"}, "x": ${"[".repeat(70)}${"]".repeat(70)}}`), ["call", "call_id"], 64)).toBeUndefined();
  });
});
