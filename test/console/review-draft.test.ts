// The review form's drafts: a nested value read back field by field and item by item, each leaf checked against its
// type before anything is sent, and named by the path the API would name.
import { describe, expect, it } from "vitest";
import { emptyDraft, readDraft, readLeaf, setAt, shapeOfValue, toDraft, type ValueShape } from "../../web/src/review-draft.js";

const items: ValueShape = {
  type: "list",
  items: {
    type: "object",
    fields: [
      { name: "product", type: "enum", options: ["filter", "thermostat"] },
      { name: "quantity", type: "integer" },
      { name: "email", type: "string", format: "email" },
    ],
  },
};

describe("a nested draft", () => {
  it("reads back the value it was made from", () => {
    const value = [{ product: "filter", quantity: 2, email: "a@example.com" }];
    expect(readDraft(items, toDraft(items, value), ["items"])).toEqual({ value, problems: [] });
  });

  it("reads an added item with typed fields, and drops an item left blank", () => {
    let draft = toDraft(items, [{ product: "filter", quantity: 2, email: null }]);
    draft = [...(draft as never[]), emptyDraft(items.items!), emptyDraft(items.items!)];
    draft = setAt(draft, [1, "product"], "Thermostat");
    draft = setAt(draft, [1, "quantity"], "1,000");
    expect(readDraft(items, draft, ["items"]).value).toEqual([
      { product: "filter", quantity: 2, email: null },
      { product: "thermostat", quantity: 1000, email: null },
    ]);
  });

  it("names each leaf that is not a value of its type by its path", () => {
    const draft = toDraft(items, [{ product: "hose", quantity: "2.5", email: "call me" }]);
    expect(readDraft(items, draft, ["items"]).problems).toEqual([
      { path: "values.items[0].product", message: "must be one of filter, thermostat" },
      { path: "values.items[0].quantity", message: "must be a whole number" },
      { path: "values.items[0].email", message: expect.stringContaining("e-mail") },
    ]);
  });

  it("reads an object whose every field is blank as null", () => {
    const contact: ValueShape = { type: "object", fields: [{ name: "name", type: "string" }, { name: "phone", type: "string", format: "phone" }] };
    expect(readDraft(contact, emptyDraft(contact), ["contact"]).value).toBeNull();
    expect(readDraft(contact, { name: "", phone: "+1 555 123 4567" }, ["contact"]).value).toEqual({ name: null, phone: "+1 555 123 4567" });
  });

  it("checks dates, booleans, patterns and times as the service does", () => {
    expect(readLeaf({ type: "date" }, "2026-02-30")).toMatchObject({ ok: false });
    expect(readLeaf({ type: "date" }, "2026-02-28")).toEqual({ ok: true, value: "2026-02-28" });
    expect(readLeaf({ type: "boolean" }, "Yes")).toEqual({ ok: true, value: true });
    expect(readLeaf({ type: "string", pattern: "^[A-Z]{2}\\d{4}$" }, "ab1234")).toMatchObject({ ok: false });
    expect(readLeaf({ type: "string", format: "time" }, "14:30")).toEqual({ ok: true, value: "14:30" });
    expect(readLeaf({ type: "list", options: ["urgent", "vip"] }, "VIP, urgent")).toEqual({ ok: true, value: ["vip", "urgent"] });
    expect(readLeaf({ type: "number" }, "")).toEqual({ ok: true, value: null });
  });

  it("shows a value whose variable is unknown in the value's own shape", () => {
    expect(shapeOfValue([{ product: "filter", quantity: 2 }])).toEqual({
      type: "list",
      items: { type: "object", fields: [{ name: "product", type: "string" }, { name: "quantity", type: "number" }] },
    });
  });
});
