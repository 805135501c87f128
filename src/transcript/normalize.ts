// Turns any peer platform's transcript (a `Speaker: text` string, or Thoughtly / Autocalls / Bland / generic role turns)
// into one internal list of turns.
import type { ErrorDetail } from "../errors.js";

export type Speaker = "agent" | "customer";

export interface Turn {
  speaker: Speaker;
  text: string;
  /** ISO 8601 time of the turn when the platform sent one. */
  time?: string;
}

/** What a transcript may be, as error messages say it. */
export const TRANSCRIPT_EXPECTED =
  "must be a string or an array of turns: `Speaker: text` lines, or Thoughtly, Autocalls, Bland or {role, content|message|text} (Vapi, Retell, ElevenLabs) turns";

/** The most turns (or lines) a transcript may have: a 14-hour call at a turn every 5 s. Each turn costs the event loop. */
export const MAX_TURNS = 10_000;

const tooManyTurns = (count: number, what: string): NormalizeResult => ({
  ok: false,
  issues: [{ path: "transcript", message: `has ${count} ${what}: at most ${MAX_TURNS} are read` }],
});

export type NormalizeResult = { ok: true; turns: Turn[] } | { ok: false; issues: ErrorDetail[] };

// Retell's transfer_target is the person the agent handed the call to: the business's side, like the agent.
const AGENT_LABELS = new Set(["ai", "agent", "assistant", "bot", "robot", "voice agent", "ai agent", "ai assistant", "system agent", "transfer_target"]);
const CUSTOMER_LABELS = new Set(["customer", "user", "human", "caller", "client", "lead", "prospect", "contact"]);
/** Role turns that are not speech (Vapi's tool calls, Retell's tool calls, node transitions, keypad presses…): skipped, never a 400. */
const NON_SPEECH_ROLES = new Set([
  "system",
  "tool",
  "tool_calls",
  "tool_call_result",
  "tool_call_invocation",
  "function",
  "function_call",
  "function_result",
  "developer",
  "node_transition",
  "dtmf",
  "sms",
  "injected",
]);

function roleToSpeaker(role: string): Speaker | undefined {
  const label = role.trim().toLowerCase();
  if (AGENT_LABELS.has(label)) return "agent";
  if (CUSTOMER_LABELS.has(label)) return "customer";
  return undefined;
}

/** A turn read, a turn that is not speech ("skip"), or why the turn is not in this reader's shape. */
type Reader = (turn: Record<string, unknown>) => Turn | "skip" | { miss: string };

const isString = (v: unknown): v is string => typeof v === "string";

/** A client's value in an error message: quoted, and cut short (it may be megabytes). */
const quote = (value: string) => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

/** A turn's time as ISO 8601, or undefined when it is not one we can place (a time is optional, never a 400). */
function isoFromUnknown(value: unknown): string | undefined {
  let date: Date | undefined;
  if (typeof value === "number" && Number.isFinite(value)) {
    // Autocalls sends unix seconds with a fraction; anything that large is already milliseconds.
    date = new Date(value > 1e12 ? value : value * 1000);
  } else if (isString(value)) {
    date = new Date(value);
  }
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

/** Thoughtly: `{transcript, speaker: "ai"|"user", createdAt, step?, node_id?}`. */
const readThoughtly: Reader = (turn) => {
  if (!isString(turn.transcript)) return { miss: "Thoughtly {transcript, speaker: ai|user}: no `transcript` string" };
  if (!isString(turn.speaker)) return { miss: "Thoughtly {transcript, speaker: ai|user}: no `speaker` string" };
  const speaker = roleToSpeaker(turn.speaker);
  if (!speaker) return { miss: `Thoughtly {transcript, speaker: ai|user}: speaker ${quote(turn.speaker)} is neither ai nor user` };
  return withTime({ speaker, text: turn.transcript }, isoFromUnknown(turn.createdAt));
};

/** Autocalls: `{text, type, sender: "bot"|"human", timestamp}`; entries that are not `type: "transcript"` are tool calls and such. */
const readAutocalls: Reader = (turn) => {
  const shape = "Autocalls {text, type, sender: bot|human}";
  if (!isString(turn.sender)) return { miss: `${shape}: no \`sender\` string` };
  if (!("type" in turn)) return { miss: `${shape}: no \`type\`` };
  if (turn.type !== "transcript") return "skip";
  if (!isString(turn.text)) return { miss: `${shape}: no \`text\` string` };
  const speaker = roleToSpeaker(turn.sender);
  if (!speaker) return { miss: `${shape}: sender ${quote(turn.sender)} is neither bot nor human` };
  return withTime({ speaker, text: turn.text }, isoFromUnknown(turn.timestamp));
};

/** Bland: `{id, created_at, text, user: user|assistant|robot|agent-action}`; agent actions are not speech. */
const readBland: Reader = (turn) => {
  const shape = "Bland {text, user: user|assistant}";
  if (!isString(turn.user)) return { miss: `${shape}: no \`user\` string` };
  if (!isString(turn.text)) return { miss: `${shape}: no \`text\` string` };
  if (turn.user.toLowerCase() === "agent-action") return "skip";
  const speaker = roleToSpeaker(turn.user);
  if (!speaker) return { miss: `${shape}: user ${quote(turn.user)} is neither user nor assistant` };
  return withTime({ speaker, text: turn.text }, isoFromUnknown(turn.created_at));
};

/** Thoughtly's response object: `conversation_history[]` of `{date, text, author: ai|user}`. */
const readThoughtlyHistory: Reader = (turn) => {
  const shape = "Thoughtly {text, author: ai|user}";
  if (!isString(turn.author)) return { miss: `${shape}: no \`author\` string` };
  if (!isString(turn.text)) return { miss: `${shape}: no \`text\` string` };
  const speaker = roleToSpeaker(turn.author);
  if (!speaker) return { miss: `${shape}: author ${quote(turn.author)} is neither ai nor user` };
  return withTime({ speaker, text: turn.text }, isoFromUnknown(turn.date));
};

/** Generic chat-style turns (Vapi, Retell, ElevenLabs…): `{role, content|message|text}`. */
const readGeneric: Reader = (turn) => {
  const shape = "{role, content|message|text}";
  if (!isString(turn.role)) return { miss: `${shape}: no \`role\` string` };
  if (NON_SPEECH_ROLES.has(turn.role.toLowerCase())) return "skip";
  const speaker = roleToSpeaker(turn.role);
  if (!speaker) return { miss: `${shape}: role ${quote(turn.role)} is not a speaker's (agent, assistant, bot, user, customer…)` };
  const text = [turn.content, turn.message, turn.text].find(isString);
  // ElevenLabs writes an agent's tool call as a turn whose message is null: nothing was said.
  if (text === undefined && [turn.content, turn.message, turn.text].includes(null)) return "skip";
  if (text === undefined) return { miss: `${shape}: no \`content\`, \`message\` or \`text\` string` };
  return withTime({ speaker, text }, isoFromUnknown(turn.time ?? turn.timestamp ?? turn.createdAt));
};

const READERS: Reader[] = [readAutocalls, readThoughtly, readBland, readThoughtlyHistory, readGeneric];

function withTime(turn: Turn, time: string | undefined): Turn {
  return time ? { ...turn, time } : turn;
}

/** The first reader's turn (or skip); otherwise why each reader could not read it. */
function readTurn(raw: unknown): Turn | "skip" | { misses: string[] } {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return { misses: [`a turn must be an object, not ${raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw}`] };
  const misses: string[] = [];
  for (const reader of READERS) {
    const read = reader(raw as Record<string, unknown>);
    if (read === "skip" || !("miss" in read)) return read;
    misses.push(read.miss);
  }
  return { misses };
}

function normalizeTurns(input: unknown[]): NormalizeResult {
  if (input.length > MAX_TURNS) return tooManyTurns(input.length, "turns");
  const turns: Turn[] = [];
  for (const [index, raw] of input.entries()) {
    const read = readTurn(raw);
    if (typeof read === "object" && "misses" in read) {
      return { ok: false, issues: [{ path: `transcript[${index}]`, message: `turn is in no known shape: ${read.misses.join("; ")}` }] };
    }
    // One turn is one line for the model: a newline inside it could pass for another speaker's line ("\nAgent: …").
    const text = read === "skip" ? "" : read.text.replace(/\s+/g, " ").trim();
    if (read !== "skip" && text !== "") turns.push({ ...read, text });
  }
  return { ok: true, turns };
}

const SPEAKER_LINE = /^\s*([A-Za-z][A-Za-z0-9 ._'-]{0,39}?)\s*:\s?(.*)$/;
const NAME_LABEL = /^[A-Z][A-Za-z.'-]*(?: [A-Z][A-Za-z.'-]*){0,2}$/;

/**
 * `AI: …` / `Customer: …` lines, or any `Speaker: text`; unlabelled lines continue the previous turn.
 * Named speakers ("Sarah: …") are the customer's side, unless no known agent label appears at all: then the
 * first name to speak is the agent, since voice agents open their calls.
 */
function normalizeText(text: string): NormalizeResult {
  // Some platforms (Autocalls' formatted_transcript) arrive with literal "\n" sequences instead of newlines.
  const source = !text.includes("\n") && text.includes("\\n") ? text.replaceAll("\\n", "\n") : text;
  const nonEmpty = source.split(/\r?\n/).filter((line) => line.trim() !== "");
  if (nonEmpty.length > MAX_TURNS) return tooManyTurns(nonEmpty.length, "lines");
  const lines = nonEmpty.map((line) => {
    const match = SPEAKER_LINE.exec(line);
    const label = match?.[1]?.trim();
    const known = label ? roleToSpeaker(label) : undefined;
    const named = label && !known && NAME_LABEL.test(label) ? label : undefined;
    return { line: line.trim(), label: known || named ? label : undefined, known, body: match?.[2]?.trim() ?? "" };
  });
  const hasAgentLabel = lines.some((l) => l.known === "agent");
  const firstName = hasAgentLabel ? undefined : lines.find((l) => l.label && !l.known)?.label;

  // Each turn's lines are gathered and joined once: appending to a growing string line by line is quadratic.
  const gathered: { speaker: Speaker; parts: string[] }[] = [];
  for (const { line, label, known, body } of lines) {
    if (label) gathered.push({ speaker: known ?? (label === firstName ? "agent" : "customer"), parts: [body] });
    else if (gathered.length > 0) gathered[gathered.length - 1]!.parts.push(line);
    else gathered.push({ speaker: "customer", parts: [line] });
  }
  const turns: Turn[] = gathered.map(({ speaker, parts }) => ({ speaker, text: parts.filter((part) => part !== "").join(" ") }));
  return { ok: true, turns: turns.filter((turn) => turn.text !== "") };
}

/** Normalises a transcript; an empty one, or a turn in no known shape, is an issue naming where. */
export function normalizeTranscript(input: unknown): NormalizeResult {
  let result: NormalizeResult;
  if (typeof input === "string") result = normalizeText(input);
  else if (Array.isArray(input)) result = normalizeTurns(input);
  else return { ok: false, issues: [{ path: "transcript", message: TRANSCRIPT_EXPECTED }] };
  if (result.ok && result.turns.length === 0) {
    return { ok: false, issues: [{ path: "transcript", message: "transcript is empty: it has no spoken turns" }] };
  }
  return result;
}

const LINE_LABEL: Record<Speaker, string> = { agent: "Agent", customer: "Customer" };

/** Compact `Agent:` / `Customer:` lines, the form the model reads. With `numbered`, each line starts with `[i]`. */
export function formatForModel(turns: readonly Turn[], options: { numbered?: boolean; offset?: number } = {}): string {
  const offset = options.offset ?? 0;
  return turns
    .map((turn, i) => `${options.numbered ? `[${i + offset}] ` : ""}${LINE_LABEL[turn.speaker]}: ${turn.text}`)
    .join("\n");
}

/** `AI: …\nCustomer: …`, the formatted_transcript Autocalls' receivers already parse. */
export function formatForHumans(turns: readonly Turn[]): string {
  return turns.map((turn) => `${turn.speaker === "agent" ? "AI" : "Customer"}: ${turn.text}`).join("\n");
}
