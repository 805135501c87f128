// List cursors: a position bound to its filters and signed, so any other string is a clear 400.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { readCursor, writeCursor } from "../../../src/calls/api/list-cursor.js";

const key = randomBytes(32);
const position = { created_at: 1_767_225_600_123, id: "call_0123456789abcdef0123456789abcdef" };
const filters = { profile: "booking", states: ["delivered"] };

describe("list cursors", () => {
  it("read back the position they were written for, with the same filters in any key order", () => {
    const cursor = writeCursor(key, position, filters);
    expect(cursor).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(readCursor(key, cursor, { states: ["delivered"], profile: "booking" })).toEqual(position);
  });

  it.each([
    ["a changed position", (c: string) => `${Buffer.from(JSON.stringify([0, position.id, "x"])).toString("base64url")}.${c.split(".")[1]}`],
    ["a changed signature", (c: string) => `${c.slice(0, -2)}${c.endsWith("AA") ? "BB" : "AA"}`],
    ["no signature", (c: string) => c.split(".")[0]!],
    ["an extra part", (c: string) => `${c}.x`],
    ["garbage", () => "not a cursor"],
    ["a huge string", () => "a".repeat(100_000)],
  ])("refuse %s with invalid_cursor naming the parameter", (_name, tamper) => {
    const cursor = tamper(writeCursor(key, position, filters));
    expect(() => readCursor(key, cursor, filters)).toThrow(expect.objectContaining({ code: "invalid_cursor", status: 400, details: [expect.objectContaining({ path: "cursor" })] }));
  });

  it("refuse a cursor from another database's key, or for other filters", () => {
    const cursor = writeCursor(key, position, filters);
    expect(() => readCursor(randomBytes(32), cursor, filters)).toThrow(/not one this service wrote/);
    expect(() => readCursor(key, cursor, { ...filters, profile: "support" })).toThrow(/other filters/);
  });
});
