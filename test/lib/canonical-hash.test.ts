import { describe, expect, it } from "vitest";
import { canonicalHash, canonicalJson } from "../../src/lib/canonical-hash.js";

describe("canonicalHash", () => {
  it("gives the same hash whatever the order of object keys", () => {
    expect(canonicalHash({ model: "gpt-4o-mini", schema: "v1" })).toBe(canonicalHash({ schema: "v1", model: "gpt-4o-mini" }));
  });

  it("sorts keys in nested objects and inside arrays too", () => {
    const a = { request: { variables: [{ name: "budget", type: "number" }], options: { summary: true, evidence: false } } };
    const b = { request: { options: { evidence: false, summary: true }, variables: [{ type: "number", name: "budget" }] } };
    expect(canonicalHash(a)).toBe(canonicalHash(b));
  });

  it("ignores the whitespace of the JSON text a request arrived as", () => {
    const compact = '{"transcript":[{"speaker":"agent","text":"Hi"}],"variables":["budget"]}';
    const spaced = '{\n  "variables": [ "budget" ],\n  "transcript": [\n    { "text": "Hi", "speaker": "agent" }\n  ]\n}';
    expect(canonicalHash(JSON.parse(spaced))).toBe(canonicalHash(JSON.parse(compact)));
  });

  it("gives different hashes for different values", () => {
    const hashes = new Set([
      canonicalHash({ budget: 5000 }),
      canonicalHash({ budget: "5000" }),
      canonicalHash({ budget: 5001 }),
      canonicalHash({ budget: null }),
      canonicalHash({ budget: 0 }),
      canonicalHash({ budget: false }),
      canonicalHash({ budget: "" }),
      canonicalHash({ Budget: 5000 }),
      canonicalHash({}),
    ]);
    expect(hashes.size).toBe(9);
  });

  it("keeps array order significant", () => {
    expect(canonicalHash(["agent", "customer"])).not.toBe(canonicalHash(["customer", "agent"]));
  });

  it("drops undefined properties, as the JSON the request arrived as would", () => {
    expect(canonicalHash({ budget: 5000, notes: undefined })).toBe(canonicalHash({ budget: 5000 }));
  });

  it("is a SHA-256 hex digest over compact JSON with sorted keys", () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: "x" })).toBe('{"a":"x","b":[1,{"c":2,"d":1}]}');
    expect(canonicalHash("x")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses values with no JSON form instead of hashing something else", () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => canonicalHash(circular)).toThrow(TypeError);
    expect(() => canonicalHash(undefined)).toThrow(TypeError);
    expect(() => canonicalHash({ n: 10n })).toThrow(TypeError);
  });

  it("accepts the same object twice when it is shared rather than circular", () => {
    const shared = { name: "budget" };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"name":"budget"},"b":{"name":"budget"}}');
  });
});
