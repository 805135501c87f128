// Variable sets each just past one of OpenAI's structured-output limits (and one just inside it), with the sentence
// the 400 must carry: shared by the unit tests and the end-to-end test of POST /v1/extract.
const enumOf = (name: string, count: number, chars = 1) => ({
  name,
  type: "enum",
  description: "x",
  options: Array.from({ length: count }, (_, index) => `${index}`.padStart(chars, "o")),
});

const field = (name: string) => ({ name, type: "string", description: "x" });
const listOf = (name: string, fields: unknown[]) => ({ name, type: "list", description: "x", items: { type: "object", fields } });

export interface LimitCase {
  limit: string;
  over: unknown[];
  inside: unknown[];
  message: string;
}

export const LIMIT_CASES: LimitCase[] = [
  {
    limit: "10 levels of nesting",
    // Four lists of objects, one in another: the leaf is 11 levels down (root, values, then a level per list and object).
    over: [listOf("one", [listOf("two", [listOf("three", [listOf("four", [field("leaf")])])])])],
    inside: [listOf("one", [listOf("two", [listOf("three", [field("leaf")])])])],
    message: "OpenAI structured outputs allow at most 10 levels of nesting: these variables need 11",
  },
  {
    limit: "5,000 object properties in all",
    over: Array.from({ length: 50 }, (_, index) => ({ name: `v${index}`, type: "object", description: "x", fields: Array.from({ length: 100 }, (_, f) => field(`f${f}`)) })),
    inside: Array.from({ length: 45 }, (_, index) => ({ name: `v${index}`, type: "object", description: "x", fields: Array.from({ length: 100 }, (_, f) => field(`f${f}`)) })),
    message: "OpenAI structured outputs allow at most 5,000 object properties in all: these variables have",
  },
  {
    limit: "1,000 enum values in all",
    over: [enumOf("first", 500), { ...enumOf("second", 501), type: "list" }],
    inside: [enumOf("first", 500), { ...enumOf("second", 500), type: "list" }],
    message: "OpenAI structured outputs allow at most 1,000 enum values in all (enum and list options together): these variables have 1,001",
  },
  {
    limit: "120,000 characters of names and enum values",
    // 1,000 options of 125 characters, 250 to a variable (so no enum is past the 250-value rule): 125,000 characters.
    over: ["aa", "bb", "cc", "dd"].map((name) => enumOf(name, 250, 125)),
    inside: ["aa", "bb", "cc", "dd"].map((name) => enumOf(name, 250, 110)),
    message: "OpenAI structured outputs allow at most 120,000 characters of property names, definition names, enum values and const values together",
  },
  {
    limit: "15,000 characters for a string enum of more than 250 values",
    over: [enumOf("product", 251, 60)],
    inside: [enumOf("product", 250, 60), enumOf("plan", 251, 59)],
    message: "OpenAI structured outputs allow a string enum of more than 250 values at most 15,000 characters: product's options have 15,060",
  },
];
