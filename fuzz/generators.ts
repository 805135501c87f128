// fast-check generators of what a careless or hostile client sends: bodies for POST /v1/extract and POST /v1/calls,
// from each voice platform's transcript shape (valid, then mutated) to garbage, with the headers and encodings around them;
// NUL in every string of a body, times no Date can hold in every platform's time fields, and signed profiles posted to
// with bad signatures and hostile bodies (always a 401) or with good ones (never a 5xx).
import { createHmac } from "node:crypto";
import { brotliCompressSync, constants, deflateSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import type { SourceName } from "../src/sources/index.js";
import { fixture, type PlatformFixture } from "../test/fixtures/platforms.js";
import { signAs, WHSEC } from "../test/support/platform-signing.js";

/** One request the fuzzer sends, as generated: `toSend` encodes its body only when it is about to go out. */
export interface FuzzRequest {
  route: "extract" | "calls";
  /** The query string, with its `?` ("" for none). */
  query: string;
  contentType: string;
  encoding: Encoding;
  json: string;
  /** Signature headers to compute as the request goes out (their timestamps must be fresh). */
  signing?: Signing;
  /** The only statuses this request may get (a forged signature must be a 401); by default, anything but a 5xx. */
  expect?: number[];
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

// ---- NUL in every string, impossible times in every platform's time fields ----------------------------------------

/** The value with a NUL put into every string (values, and keys too when `keys`), at a place `seed` picks. */
function withNul(value: unknown, seed: number, keys: boolean): unknown {
  let n = seed;
  const nul = (text: string) => {
    n = (n * 31 + 7) >>> 0;
    const at = n % (text.length + 1);
    return `${text.slice(0, at)}\u0000${text.slice(at)}`;
  };
  const walk = (node: unknown): unknown => {
    if (typeof node === "string") return nul(node);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === "object") return Object.fromEntries(Object.entries(node).map(([key, child]) => [keys ? nul(key) : key, walk(child)]));
    return node;
  };
  return walk(value);
}

/** Any body, now with NUL in every string value (and, a third of the time, every key). */
const nulEverywhere = (body: fc.Arbitrary<unknown>) =>
  fc.tuple(body, fc.nat(), fc.nat({ max: 2 })).map(([value, seed, keys]) => withNul(value, seed, keys === 0));

/** Numbers past what a Date holds (8.64e15 ms either side of 1970), or past a double's integers; and instants at its edges. */
const impossibleTime = fc.constantFrom<unknown>(
  9e15,
  -9e15,
  8.64e15,
  8.64e15 + 1,
  8.64e12 + 1,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  -1,
  5e-324,
  "+275760-09-13T00:00:00.000Z",
  "-271821-04-20T00:00:00.000Z",
  "9999-12-31T23:59:59.999Z",
  "0000-01-01T00:00:00Z",
  "2026-02-30T25:61:61Z",
  "9e15",
);

type Path = (string | number)[];
/** Each platform's post-call payload, where its id is, and every field that holds a time or a duration (`*`: each turn). */
const TIME_FIELDS: [PlatformFixture, Path, Path[]][] = [
  ["autocalls-post-call", ["id"], [["duration"], ["created_at"], ["finished_at"], ["transcript", "*", "timestamp"]]],
  ["thoughtly-new-response", ["call", "id"], [["call", "duration_seconds"], ["call", "started_at"], ["call", "ended_at"], ["transcript", "*", "createdAt"]]],
  ["thoughtly-response", ["id"], [["duration_ms"], ["start_time"], ["end_time"], ["conversation_history", "*", "date"], ["conversation_history", "*", "cumulative_duration_ms"]]],
  [
    "vapi-end-of-call-report",
    ["message", "call", "id"],
    [["message", "timestamp"], ["message", "startedAt"], ["message", "endedAt"], ["message", "durationSeconds"], ["message", "call", "startedAt"], ["message", "call", "endedAt"], ["message", "artifact", "messages", "*", "time"], ["message", "artifact", "messages", "*", "secondsFromStart"]],
  ],
  ["retell-call_analyzed", ["call", "call_id"], [["call", "start_timestamp"], ["call", "end_timestamp"], ["call", "duration_ms"], ["call", "transcript_object", "*", "words", "*", "start"], ["call", "transcript_object", "*", "words", "*", "end"]]],
  [
    "elevenlabs-post_call_transcription",
    ["data", "conversation_id"],
    [["event_timestamp"], ["data", "metadata", "start_time_unix_secs"], ["data", "metadata", "call_duration_secs"], ["data", "transcript", "*", "time_in_call_secs"]],
  ],
  ["bland-call", ["call_id"], [["call_length"], ["created_at"], ["started_at"], ["end_at"], ["transcripts", "*", "created_at"]]],
  ["synthflow-post-call", ["call", "call_id"], [["call", "duration"], ["call", "start_time"]]],
];

/** Sets `value` at `path` in `node`, at every element where the path says `*`. */
function setAt(node: unknown, path: Path, value: unknown): void {
  if (node === null || typeof node !== "object" || path.length === 0) return;
  const [step, ...rest] = path;
  const children = step === "*" ? (Array.isArray(node) ? node.map((_, index) => index) : []) : [step!];
  for (const child of children) {
    const container = node as Record<string | number, unknown>;
    if (rest.length === 0) container[child] = value;
    else setAt(container[child], rest, value);
  }
}

/** A platform's own post-call payload with a fresh id and some of its time fields impossible. */
const impossibleTimes = fc.constantFrom(...TIME_FIELDS).chain(([name, idPath, fields]) =>
  fc.tuple(fc.uuid(), fc.array(fc.tuple(fc.boolean(), impossibleTime), { minLength: fields.length, maxLength: fields.length })).map(([id, choices]) => {
    const payload = fixture(name);
    setAt(payload, idPath, id);
    choices.forEach(([set, value], index) => set && setAt(payload, fields[index]!, value));
    // At least one, so every payload generated tests something.
    if (!choices.some(([set]) => set)) setAt(payload, fields[0]!, choices[0]![1]);
    return payload as unknown;
  }),
);

/** Each platform's own payload as it sends it, with a fresh id (what a signed profile is posted). */
const platformPayload = fc.constantFrom(...TIME_FIELDS).chain(([name, idPath]) =>
  fc.uuid().map((id) => {
    const payload = fixture(name);
    setAt(payload, idPath, id);
    return payload as unknown;
  }),
);

// ---- signed profiles ---------------------------------------------------------------------------------------------

/** The profiles the harness configures with `inbound.secret`: an auto one, and two that name their platform. */
export const SIGNED_PROFILES = {
  auto: { name: "fuzz-signed", source: "auto", secret: WHSEC },
  retell: { name: "fuzz-retell", source: "retell", secret: "key_FuzzRetell_5d7f9b1c3e" },
  synthflow: { name: "fuzz-synthflow", source: "synthflow", secret: "fuzz-synthflow-secret-2c4e" },
} as const;

const PLATFORMS: SourceName[] = ["autocalls", "thoughtly", "vapi", "retell", "elevenlabs", "bland", "synthflow"];

/** How the signature headers of a request are made as it goes out. */
export type Signing =
  /** The platform's own signature with the profile's secret: verified, so the body is read. */
  | { kind: "valid"; as: SourceName }
  /** Well-formed, but with another key, too old, from the future, or beside another platform's header. */
  | { kind: "wrong-key" | "stale" | "future"; as: SourceName }
  | { kind: "two-platforms"; as: SourceName; and: SourceName }
  /** A header of the platform's name with garbage in it, or none at all. */
  | { kind: "garbage"; header: string; value: string }
  | { kind: "none" };

/** Synthflow signs call.call_id: a body without one is signed over its text (and so never verifies). */
function synthflowSignature(json: string, secret: string): Record<string, string> {
  let callId: unknown;
  try {
    callId = (JSON.parse(json) as { call?: { call_id?: unknown } })?.call?.call_id;
  } catch {
    callId = undefined;
  }
  return { "synthflow-signature": createHmac("sha256", secret).update(typeof callId === "string" ? callId : json).digest("base64") };
}

/** Standard Webhooks keys are `whsec_` + base64: any other secret is made one, so that every platform can sign with it. */
const asWhsec = (secret: string) => (secret.startsWith("whsec_") ? secret : `whsec_${Buffer.from(secret).toString("base64")}`);

function signed(as: SourceName, json: string, secret: string, nowMs: number): Record<string, string> {
  if (as === "synthflow") return synthflowSignature(json, secret);
  return signAs(as, json, as === "autocalls" || as === "thoughtly" ? asWhsec(secret) : secret, nowMs);
}

/** The headers `signing` makes for `json` on a profile with `secret`, now. */
export function signatureHeaders(signing: Signing, json: string, secret: string, nowMs = Date.now()): Record<string, string> {
  switch (signing.kind) {
    case "none":
      return {};
    case "garbage":
      return { [signing.header]: signing.value };
    case "valid":
      return signed(signing.as, json, secret, nowMs);
    case "wrong-key":
      return signed(signing.as, json, secret.startsWith("whsec_") ? `whsec_${Buffer.from("not-the-fuzz-secret!").toString("base64")}` : `${secret}-not`, nowMs);
    case "stale":
      return signed(signing.as, json, secret, nowMs - 60 * 60_000);
    case "future":
      return signed(signing.as, json, secret, nowMs + 60 * 60_000);
    case "two-platforms":
      return { ...signed(signing.and, json, secret, nowMs), ...signed(signing.as, json, secret, nowMs) };
  }
}

const platform = fc.constantFrom(...PLATFORMS);
/** Every way a signature can fail to prove anything; a Synthflow signature on an auto profile among them. */
const badSigning: fc.Arbitrary<Signing> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Signing>({ kind: "none" }) },
  { weight: 3, arbitrary: platform.map((as): Signing => ({ kind: "wrong-key", as })) },
  { weight: 2, arbitrary: platform.filter((as) => ["retell", "elevenlabs", "autocalls", "thoughtly"].includes(as)).map((as): Signing => ({ kind: "stale", as })) },
  { weight: 1, arbitrary: platform.filter((as) => ["retell", "elevenlabs", "autocalls"].includes(as)).map((as): Signing => ({ kind: "future", as })) },
  { weight: 2, arbitrary: fc.tuple(platform, platform).filter(([a, b]) => a !== b && !(["autocalls", "thoughtly"].includes(a) && ["autocalls", "thoughtly"].includes(b))).map(([as, and]): Signing => ({ kind: "two-platforms", as, and })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom("x-retell-signature", "elevenlabs-signature", "x-webhook-signature", "synthflow-signature", "webhook-signature", "x-vapi-secret", "x-signature", "authorization"), fc.string({ maxLength: 80 }))
      .map(([header, value]): Signing => ({ kind: "garbage", header, value: value.replace(/[^\x20-\x7e]/g, "x") || "x" })),
  },
);

/** Bodies nobody signed for: nesting millions deep, a million numbers, 150,000 keys, NUL, garbage, or a real payload. */
const hostileBody = fc.oneof(
  fc.constant(`${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`),
  fc.constant(JSON.stringify({ call: { call_id: "x", transcript: "bot: hi" }, context: { input_variables: { ids: Array(300_000).fill(7) } } })),
  fc.constant(JSON.stringify(Object.fromEntries(Array.from({ length: 150_000 }, (_, i) => [`k${i}`, 1])))),
  fc.integer({ min: 60, max: 50_000 }).map((depth) => `{"call": {"call_id": "x", "deep": ${"[".repeat(depth)}${"]".repeat(depth)}}}`),
  fc.string({ unit: "binary", maxLength: 300 }),
  platformPayload.map((value) => JSON.stringify(value)),
  nulEverywhere(platformPayload).map((value) => JSON.stringify(value)),
);

/** A signed profile posted to: with a bad signature (always 401, whatever the body), or a good one (never a 5xx). */
const signedProfileRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.constantFrom(SIGNED_PROFILES.auto, SIGNED_PROFILES.retell, SIGNED_PROFILES.synthflow),
    fc.oneof({ weight: 3, arbitrary: fc.constant("bad" as const) }, { weight: 1, arbitrary: fc.constant("good" as const) }),
    badSigning,
    hostileBody,
    fc.oneof(platformPayload, nulEverywhere(platformPayload), impossibleTimes),
  )
  .map(([profile, quality, bad, hostile, payload]) => {
    const json = quality === "bad" ? hostile : JSON.stringify(payload);
    // A good signature is the profile's platform's (under auto: the payload's own, as recognised from its markers).
    const own = profile.source === "auto" ? platformOf(payload) : profile.source;
    const signing: Signing = quality === "bad" ? bad : { kind: "valid", as: own };
    // Under auto, Synthflow's scheme is refused whatever its signature: that too is a 401.
    const refused = quality === "bad" || (profile.source === "auto" && own === "synthflow");
    return {
      route: "calls" as const,
      query: `?profile=${profile.name}`,
      contentType: "application/json",
      encoding: "none" as const,
      json,
      signing,
      expect: refused ? [401] : undefined,
      describe: `calls?profile=${profile.name} ${JSON.stringify(signing)} ${cut(json)}`,
    };
  });

/** Which platform's payload this is, by the same markers the service reads (only the fixtures' shapes are asked). */
function platformOf(payload: unknown): SourceName {
  const p = payload as Record<string, any>;
  if (p.message?.type !== undefined) return "vapi";
  if (typeof p.event === "string" && p.call?.call_id !== undefined) return "retell";
  if (p.type === "post_call_transcription") return "elevenlabs";
  if (p.call_id !== undefined && (p.transcripts !== undefined || p.concatenated_transcript !== undefined)) return "bland";
  if (p.call?.call_id !== undefined) return "synthflow";
  if (p.interview !== undefined || p.event !== undefined) return "thoughtly";
  return Array.isArray(p.transcript) && p.transcript.some((turn: { speaker?: unknown }) => typeof turn?.speaker === "string") ? "thoughtly" : "autocalls";
}

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
  { weight: 1, arbitrary: nulEverywhere(wellFormedExtract) },
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
  { weight: 2, arbitrary: impossibleTimes },
  { weight: 1, arbitrary: nulEverywhere(platformPayload) },
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

const secretOf = (query: string) => Object.values(SIGNED_PROFILES).find((profile) => query === `?profile=${profile.name}`)?.secret ?? "";

/** The headers and body bytes of a generated request, encoded (and signed) now. */
export function toSend(req: FuzzRequest): { headers: Record<string, string>; body: Buffer } {
  const encoded = encode(Buffer.from(req.json, "utf8"), req.encoding);
  const headers: Record<string, string> = req.signing ? signatureHeaders(req.signing, req.json, secretOf(req.query)) : {};
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
    {
      weight: 1,
      arbitrary: fc.constantFrom("", "?profile=", "?profile=nope", `?profile=${profile}&profile=${profile}`, "?profile[a]=b", "?profile=%E0%A4%A", `?profile=${"x".repeat(5_000)}`, "?profile=%00", `?profile=${profile}%00`, `?profile=${profile}&token=%00`),
    },
  );
  return fc.oneof({ weight: 5, arbitrary: query.chain((q) => request("calls", q, callBody)) }, { weight: 1, arbitrary: signedProfileRequest });
}
