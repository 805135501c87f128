// fast-check generators of what a careless or hostile client sends: bodies for POST /v1/extract and POST /v1/calls,
// from each voice platform's transcript shape (valid, then mutated) to garbage, with the headers and encodings around them.
import { brotliCompressSync, constants, deflateSync, gzipSync } from "node:zlib";
import fc from "fast-check";

/** One request the fuzzer sends, as generated: `toSend` encodes its body only when it is about to go out. */
export interface FuzzRequest {
  route: "extract" | "calls";
  /** The query string, with its `?` ("" for none). */
  query: string;
  contentType: string;
  encoding: Encoding;
  json: string;
  /** What was generated, for the report of a failure (cut short). */
  describe: string;
}

// ---- values ----------------------------------------------------------------------------------------------------

const KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "", "\u0000", "name", "type", "role", "text"];

/** A run of one character, long enough to hurt a superlinear tokenizer or a careless regex. */
const repeated = (max: number) =>
  fc
    .tuple(fc.constantFrom("A", " ", "\u0000", "é", "😀", "\n", "!", "ab", "a ", "\\n", "\ud800"), fc.integer({ min: 100, max }))
    .map(([unit, count]) => unit.repeat(Math.ceil(count / unit.length)));

const text = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  { weight: 2, arbitrary: fc.constantFrom("", " ", "\u0000", "null", "true", "2026-06-12T14:22:05Z", "💥💥💥", "\ud800", "a\u2028b", "Customer:", "AI: hi\nCustomer: yes") },
  { weight: 1, arbitrary: repeated(20_000) },
);

const key = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(...KEYS) });

/** Any JSON value: wrong types, nulls, unicode and NUL, `__proto__` keys, a little nesting. */
const anything: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    text,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(0, -1, 1e308, -0, 2 ** 53 + 1),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(key, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** Mostly `valid`, sometimes anything else, sometimes absent (undefined is dropped by JSON.stringify). */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 24, arbitrary: valid }, { weight: 1, arbitrary: anything }, { weight: 1, arbitrary: fc.constant(undefined) });

const sentence = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("Hi, is this Dana?", "We need the AC repaired.", "My boss capped it at four thousand.", "Tuesday works.", "No thanks.", "Call me back next week.") },
  { weight: 1, arbitrary: text },
);
const isoTime = fc.oneof({ weight: 10, arbitrary: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((date) => date.toISOString()) }, { weight: 1, arbitrary: text });
const seconds = fc.oneof(fc.double({ min: 0, max: 4e9, noNaN: true }), fc.integer(), anything);

// ---- transcripts, one shape per platform -------------------------------------------------------------------------

const turns = <T>(turn: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 8, arbitrary: fc.array(turn, { minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: fc.array(turn, { minLength: 500, maxLength: 3_000 }) });

/** Mostly one of the values a platform usually sends, now and then one of its rarer ones. */
const pick = (usual: string[], rare: string[]) => fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...usual) }, { weight: 1, arbitrary: fc.constantFrom(...rare) });

/** A turn's field: almost always what the platform sends (one bad field in a turn makes the whole transcript a 400). */
const field = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 150, arbitrary: valid }, { weight: 1, arbitrary: anything }, { weight: 1, arbitrary: fc.constant(undefined) });

const thoughtly = turns(fc.record({ transcript: field(sentence), speaker: field(pick(["ai", "user"], ["AI", "agent", "robot"])), createdAt: field(isoTime) }, { requiredKeys: [] }));
const autocalls = turns(
  fc.record(
    { text: field(sentence), type: field(pick(["transcript"], ["tool_call", "event"])), sender: field(pick(["bot", "human"], ["system"])), timestamp: field(seconds) },
    { requiredKeys: [] },
  ),
);
const vapi = turns(
  fc.record(
    {
      role: field(pick(["bot", "user"], ["system", "tool_calls", "tool_call_result", "assistant"])),
      message: field(sentence),
      time: field(seconds),
      secondsFromStart: field(seconds),
    },
    { requiredKeys: [] },
  ),
);
const retell = turns(
  fc.record(
    {
      role: field(pick(["agent", "user"], ["tool_call_invocation", "tool_call_result"])),
      content: field(sentence),
      words: field(fc.array(fc.record({ word: text, start: seconds, end: seconds }), { maxLength: 3 })),
    },
    { requiredKeys: [] },
  ),
);
const elevenLabs = turns(
  fc.record(
    {
      role: field(fc.constantFrom("agent", "user")),
      message: field(fc.oneof({ weight: 12, arbitrary: sentence }, { weight: 1, arbitrary: fc.constant(null) })),
      tool_calls: field(fc.array(anything, { maxLength: 2 })),
      time_in_call_secs: field(seconds),
    },
    { requiredKeys: [] },
  ),
);
const bland = turns(
  fc.record(
    { id: field(fc.integer()), text: field(sentence), user: field(pick(["user", "assistant"], ["robot", "agent-action"])), created_at: field(isoTime) },
    { requiredKeys: [] },
  ),
);
const labelled = (agent: string, customer: string) =>
  fc.array(fc.tuple(fc.boolean(), sentence), { minLength: 1, maxLength: 12 }).map((lines) => lines.map(([isAgent, line]) => `${isAgent ? agent : customer}: ${line}`).join("\n"));
const textTranscript = fc.oneof(labelled("AI", "Customer"), labelled("bot", "human"), labelled("Agent", "Sarah"), text, repeated(2_000_000).map((run) => `Customer: ${run}`));

/** A transcript as any platform sends it, mutated. */
const transcript = fc.oneof(
  { weight: 6, arbitrary: textTranscript },
  { weight: 3, arbitrary: thoughtly },
  { weight: 3, arbitrary: autocalls },
  { weight: 1, arbitrary: vapi },
  { weight: 1, arbitrary: retell },
  { weight: 1, arbitrary: elevenLabs },
  { weight: 1, arbitrary: bland },
  { weight: 1, arbitrary: anything },
);

// ---- request bodies ------------------------------------------------------------------------------------------------

const variableName = fc.oneof({ weight: 20, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{1,20}$/) }, { weight: 1, arbitrary: text });
const description = fc.oneof({ weight: 12, arbitrary: sentence }, { weight: 1, arbitrary: repeated(5_000) });
const option = fc.oneof({ weight: 8, arbitrary: fc.stringMatching(/^[a-z]{1,12}$/) }, { weight: 1, arbitrary: text });
/** A variable as the schema wants it (an enum with options, a list with or without), then mutated a little. */
const variable = fc
  .oneof(
    fc.record({ type: pick(["string", "number", "integer", "boolean", "date", "datetime", "text", "True/False"], ["money", "Enum", ""]) }),
    fc.record({ type: fc.constantFrom("enum", "list"), options: fc.uniqueArray(option, { minLength: 1, maxLength: 6 }) }),
  )
  .chain((typed) =>
    fc.record(
      { name: field(variableName), type: field(fc.constant(typed.type)), description: field(description), options: field(fc.constant("options" in typed ? typed.options : undefined)) },
      { requiredKeys: [] },
    ),
  );
const variables = fc.oneof({ weight: 6, arbitrary: fc.array(variable, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.array(variable, { minLength: 150, maxLength: 250 }) });
const context = fc.record(
  {
    system_prompt: mostly(fc.oneof(sentence, repeated(150_000))),
    call: mostly(fc.record({ id: mostly(fc.oneof(text, fc.integer())), created_at: mostly(isoTime), timezone: mostly(fc.constantFrom("America/New_York", "UTC", "Mars/Olympus", "")) }, { requiredKeys: [] })),
    input_variables: mostly(fc.dictionary(key, anything, { maxKeys: 6 })),
  },
  { requiredKeys: [] },
);
const options = fc.record({ model: mostly(fc.constantFrom("gpt-4o-mini", "llama3.1", "")), evidence: mostly(fc.boolean()), cache: mostly(fc.boolean()) }, { requiredKeys: [] });
/** Keys a careless client adds or misspells. */
const extraKeys = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("variable", "transcripts", "contxt", "option", "__proto__", "extra"), anything, { minKeys: 1, maxKeys: 2 }) },
);

/** A request as the docs describe it, in the shapes /v1/extract reads today: what gets through to the LLM and back. */
const wellFormedTranscript = fc.oneof(
  { weight: 4, arbitrary: labelled("AI", "Customer") },
  { weight: 2, arbitrary: fc.array(fc.record({ transcript: sentence, speaker: fc.constantFrom("ai", "user"), createdAt: isoTime }), { minLength: 1, maxLength: 12 }) },
  { weight: 2, arbitrary: fc.array(fc.record({ text: sentence, type: fc.constant("transcript"), sender: fc.constantFrom("bot", "human"), timestamp: fc.double({ min: 1e9, max: 2e9, noNaN: true }) }), { minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.array(fc.record({ role: fc.constantFrom("assistant", "user", "system"), content: sentence }), { minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: repeated(2_000_000).map((run) => `AI: Hello.\nCustomer: ${run}`) },
);
const wellFormedVariables = fc.uniqueArray(
  fc.oneof(
    fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9_]{1,20}$/), type: fc.constantFrom("string", "number", "integer", "boolean", "date", "datetime"), description: sentence }),
    fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9_]{1,20}$/), type: fc.constantFrom("enum", "list"), description: sentence, options: fc.uniqueArray(fc.stringMatching(/^[a-z]{1,12}$/), { minLength: 1, maxLength: 5 }) }),
  ),
  { maxLength: 8, selector: (variable) => variable.name },
);
const wellFormedExtract = fc.record(
  {
    transcript: wellFormedTranscript,
    variables: wellFormedVariables,
    context: fc.record({ system_prompt: sentence, call: fc.record({ created_at: fc.constant("2026-06-12T14:22:05Z"), timezone: fc.constantFrom("America/New_York", "Europe/Paris") }) }, { requiredKeys: [] }),
    options: fc.record({ evidence: fc.boolean(), cache: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: ["transcript"] },
);

const extractBody = fc.oneof(
  { weight: 4, arbitrary: wellFormedExtract },
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.record({ transcript, variables: mostly(variables), context: mostly(context), options: mostly(options) }, { requiredKeys: ["transcript"] }), extraKeys)
      .map(([body, extra]) => ({ ...extra, ...body })),
  },
  { weight: 1, arbitrary: anything },
);

const callBody = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        id: mostly(fc.oneof(fc.uuid(), fc.integer(), text)),
        status: mostly(fc.constantFrom("completed", "ended", "no-answer", "voicemail", "in-progress")),
        transcript,
        duration: mostly(fc.integer({ min: 0, max: 7_200 })),
        customer_phone: mostly(fc.constantFrom("+15555550100", "")),
        created_at: mostly(isoTime),
        timezone: mostly(fc.constantFrom("America/New_York", "Mars/Olympus")),
        input_variables: mostly(fc.dictionary(key, anything, { maxKeys: 6 })),
        recording_url: mostly(fc.constantFrom("https://example.com/r.mp3", null)),
      },
      { requiredKeys: ["transcript"] },
    ),
  },
  // Each platform's own webhook, as a whole (issue 12 teaches /v1/calls to read these; a 400 is fine until then).
  { weight: 1, arbitrary: fc.record({ message: fc.record({ type: fc.constant("end-of-call-report"), artifact: fc.record({ messages: vapi }) }) }) },
  { weight: 1, arbitrary: fc.record({ event: fc.constant("call_analyzed"), call: fc.record({ call_id: fc.uuid(), transcript_object: retell }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("post_call_transcription"), data: fc.record({ conversation_id: fc.uuid(), transcript: elevenLabs }) }) },
  { weight: 1, arbitrary: fc.record({ call_id: fc.uuid(), transcripts: bland }) },
  { weight: 1, arbitrary: fc.record({ call: fc.record({ call_id: fc.uuid(), transcript: labelled("bot", "human") }) }) },
  { weight: 1, arbitrary: anything },
);

// ---- the request around the body ------------------------------------------------------------------------------------

/** JSON text that no object generator makes: nesting thousands deep, truncated, not JSON at all. */
const rawText = fc.oneof(
  fc.integer({ min: 60, max: 20_000 }).map((depth) => `{"transcript": "AI: hi", "context": {"input_variables": {"a": ${"[".repeat(depth)}${"]".repeat(depth)}}}}`),
  fc.integer({ min: 60, max: 5_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`),
  fc.constantFrom('{"transcript": ', "", "null", "[]", '"x"', "{", "\u0000", '{"transcript": "AI: hi"}garbage', '{"__proto__": {"polluted": true}, "transcript": "AI: hi"}'),
  fc.string({ unit: "binary", maxLength: 200 }),
);

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant("application/json") },
  { weight: 1, arbitrary: fc.constantFrom("application/json; charset=utf-8", "application/json; charset=utf-16", "application/vnd.api+json", "APPLICATION/JSON", "application/json; charset=klingon") },
  { weight: 1, arbitrary: fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "*/*", "application/xml") },
);

export type Encoding = "none" | "gzip" | "deflate" | "br" | "bad-gzip" | "bad-deflate" | "bad-br" | "zstd" | "compress" | "gzip, br";
const encoding = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Encoding>("none") },
  { weight: 3, arbitrary: fc.constantFrom<Encoding>("gzip", "deflate", "br") },
  { weight: 2, arbitrary: fc.constantFrom<Encoding>("bad-gzip", "bad-deflate", "bad-br", "zstd", "compress", "gzip, br") },
);

function encode(body: Buffer, how: Encoding): { body: Buffer; header?: string } {
  switch (how) {
    case "none":
      return { body };
    case "gzip":
      return { body: gzipSync(body), header: "gzip" };
    case "deflate":
      return { body: deflateSync(body), header: "deflate" };
    case "br":
      // Quality 4, not the default 11: compressing 12 MB at 11 would hold the fuzzer itself for seconds.
      return { body: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }), header: "br" };
    case "bad-gzip":
      // A valid gzip header, then garbage: the inflater fails part-way.
      return { body: Buffer.concat([gzipSync(body).subarray(0, 10), body]), header: "gzip" };
    case "bad-deflate":
      return { body, header: "deflate" };
    case "bad-br":
      return { body, header: "br" };
    default:
      return { body, header: how };
  }
}

const cut = (value: string) => (value.length > 300 ? `${value.slice(0, 300)}… (${value.length} chars)` : value);

function request(route: FuzzRequest["route"], query: string, payload: fc.Arbitrary<unknown>): fc.Arbitrary<FuzzRequest> {
  const bodyText = fc.oneof({ weight: 12, arbitrary: payload.map((value) => JSON.stringify(value) ?? "null") }, { weight: 1, arbitrary: rawText });
  return fc.tuple(bodyText, contentType, encoding).map(([json, type, how]) => ({
    route,
    query,
    contentType: type,
    encoding: how,
    json,
    describe: `${route}${query} ${JSON.stringify(type)} ${how} ${cut(json)}`,
  }));
}

/** The headers and body bytes of a generated request, encoded now. */
export function toSend(req: FuzzRequest): { headers: Record<string, string>; body: Buffer } {
  const encoded = encode(Buffer.from(req.json, "utf8"), req.encoding);
  const headers: Record<string, string> = {};
  if (req.contentType !== "") headers["content-type"] = req.contentType;
  if (encoded.header) headers["content-encoding"] = encoded.header;
  return { headers, body: encoded.body };
}

/** Bodies for POST /v1/extract. */
export const extractRequests = request("extract", "", extractBody);

/** Bodies for POST /v1/calls; most name the configured profile, some name none, another, or several. */
export function callRequests(profile: string): fc.Arbitrary<FuzzRequest> {
  const query = fc.oneof(
    { weight: 10, arbitrary: fc.constant(`?profile=${profile}`) },
    { weight: 1, arbitrary: fc.constantFrom("", "?profile=", "?profile=nope", `?profile=${profile}&profile=${profile}`, "?profile[a]=b", "?profile=%E0%A4%A", `?profile=${"x".repeat(5_000)}`) },
  );
  return query.chain((q) => request("calls", q, callBody));
}
