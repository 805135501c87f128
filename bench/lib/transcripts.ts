// Deterministic synthetic phone calls (seeded), sized by tiktoken, and the extraction requests the bench sends.
import { countTokens } from "./tokens.js";

/** Replaced by the load generator with a per-request id, so that no two requests share a cache key. */
export const UNIQUE_MARKER = "__BENCH_UNIQ__";

/** mulberry32: tiny, fast, and the same sequence on every machine for a given seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NAMES = ["Dana", "Priya", "Marcus", "Elena", "Tom", "Aisha", "Luis", "Grace", "Kenji", "Fatima", "Owen", "Maya"];
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const TIMES = ["nine", "ten thirty", "noon", "two", "three fifteen", "four", "eight in the morning", "after five"];
const AMOUNTS = ["four thousand", "two-fifty", "about twelve hundred", "five grand", "eighteen hundred dollars", "three thousand five hundred"];
const THINGS = ["the AC unit", "the furnace", "the heat pump", "the water heater", "the thermostat", "the ductwork", "the outdoor condenser"];

const AGENT_LINES = [
  "Thanks for taking the time to talk with me today.",
  "Could you tell me a little more about what's been happening with {thing}?",
  "How long has {thing} been acting up like that?",
  "Got it, that's really helpful to know.",
  "Is this for a repair, a regular maintenance visit, or are you thinking about a full replacement?",
  "Do you have a rough budget in mind for the work?",
  "Are you the person who makes the final decision on this, or is there someone else we should include?",
  "We have technicians in your area on {day}; would {time} work for you?",
  "I can also send the details by email or text, whichever you prefer.",
  "Just to confirm, the address is the one we have on file, correct?",
  "Our standard diagnostic visit is eighty-nine dollars, and that gets credited toward any repair.",
  "Many customers in older homes find that a maintenance plan pays for itself within a year.",
  "I understand, price matters, and I want to make sure we find something that fits.",
  "Would it be easier if I called you back later this week?",
  "Is the system still under the manufacturer's warranty, as far as you know?",
  "How many units do you have at the property?",
  "Okay, I've made a note of that.",
  "Let me check the schedule for you, one moment.",
  "Have you gotten quotes from any other companies so far?",
  "We do offer financing with zero percent for twelve months on approved credit.",
  "Is there anything else about {thing} that I should pass along to the technician?",
  "Perfect, I'll put you down for {day} at {time}.",
  "Can I get the best email address to send the confirmation to?",
  "Sorry, I didn't quite catch that, could you say it again?",
  "And what kind of property is this, a house, an apartment, or a commercial space?",
  "That makes sense; a lot of people have the same concern.",
  "I'll have {name} from our scheduling team follow up if anything changes.",
  "Is there a good time of day to reach you if the technician is running late?",
];

const CUSTOMER_LINES = [
  "Yeah, that's me.",
  "So {thing} has been making this grinding noise for about a week now.",
  "Honestly it's been on and off since the spring.",
  "It's definitely a repair, it just stopped cooling yesterday.",
  "My boss capped it at {amount} for the whole thing.",
  "I'm not the one who decides, that would be {name}.",
  "{day} works. Actually, make that {day}, I have something that morning.",
  "Could you do {time} instead?",
  "Email is best, I never check my texts.",
  "We got a quote from another company last month but it seemed really high.",
  "I think it's about twelve years old, maybe older.",
  "No, the warranty ran out a couple of years ago.",
  "We've got two units, one upstairs and one in the basement.",
  "It's a house, a single family, built in the eighties.",
  "I'm a little worried about the cost, to be honest.",
  "Is the eighty-nine dollars on top of the repair or included?",
  "Sure, that sounds fine.",
  "Hang on, let me grab a pen.",
  "Can you hear me okay? The signal is bad in the kitchen.",
  "My neighbour used you guys and said good things.",
  "I'd rather not do financing if we can avoid it.",
  "We might want to replace the whole thing if the repair is too expensive.",
  "It's really loud at night, the kids can't sleep.",
  "Okay, and will the technician call before coming?",
  "The zip code is nine oh two one oh.",
  "I'd need to check with {name} first, can you call back on {day}?",
  "That's fine, go ahead and book it.",
  "No, I think that's everything, thanks.",
];

const FILLERS = ["Um, ", "Uh, ", "Well, ", "So, ", "Yeah, ", "Okay, ", "Right, ", ""];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function fill(template: string, random: () => number): string {
  return template
    .replace(/\{name\}/g, () => pick(random, NAMES))
    .replace(/\{day\}/g, () => pick(random, DAYS))
    .replace(/\{time\}/g, () => pick(random, TIMES))
    .replace(/\{amount\}/g, () => pick(random, AMOUNTS))
    .replace(/\{thing\}/g, () => pick(random, THINGS));
}

const PROPER = new Set([...NAMES, ...DAYS, "I", "I'm", "I'd", "I've", "I'll"]);

/** "So, " + "No, thanks" reads "So, no, thanks"; names, days and "I" keep their capital. */
function lowerFirstWord(text: string): string {
  const first = /^[\w']+/.exec(text)?.[0] ?? "";
  return PROPER.has(first) ? text : `${text.charAt(0).toLowerCase()}${text.slice(1)}`;
}

export interface TranscriptTurn {
  speaker: "AI" | "Customer";
  text: string;
}

export interface Transcript {
  /** `AI: …\nCustomer: …`, the string form Debrief accepts. */
  text: string;
  turns: TranscriptTurn[];
  /** o200k_base tokens of `text`. */
  tokens: number;
  bytes: number;
}

export interface TranscriptTarget {
  seed: number;
  /** Stop once the transcript has at least this many o200k_base tokens… */
  tokens?: number;
  /** …or at least this many UTF-8 bytes. */
  bytes?: number;
  /** Put UNIQUE_MARKER in the first line, so each request can be made distinct cheaply. */
  withMarker?: boolean;
}

/** Alternating `AI:` / `Customer:` turns of one to three varied sentences, until the target size is reached. */
export function generateTranscript(target: TranscriptTarget): Transcript {
  if (target.tokens === undefined && target.bytes === undefined) throw new Error("give a token or byte target");
  const random = seededRandom(target.seed);
  const agentName = pick(random, ["Sam", "Alex", "Jordan", "Riley"]);
  const customerName = pick(random, NAMES);
  const reference = target.withMarker ? ` Your reference is ${UNIQUE_MARKER}.` : "";
  const turns: TranscriptTurn[] = [
    { speaker: "AI", text: `Hi, this is ${agentName} from CoolAir Services, returning your call about ${pick(random, THINGS)}.${reference} Am I speaking with ${customerName}?` },
  ];
  let tokens = countTokens(`AI: ${turns[0]!.text}`);
  let bytes = Buffer.byteLength(`AI: ${turns[0]!.text}`);
  const reached = () => (target.tokens !== undefined && tokens >= target.tokens) || (target.bytes !== undefined && bytes >= target.bytes);
  while (!reached()) {
    const speaker = turns.length % 2 === 0 ? "AI" : "Customer";
    const pool = speaker === "AI" ? AGENT_LINES : CUSTOMER_LINES;
    const sentences = 1 + Math.floor(random() * 3);
    const parts: string[] = [];
    for (let i = 0; i < sentences; i += 1) parts.push(fill(pick(random, pool), random));
    const opener = speaker === "Customer" ? pick(random, FILLERS) : "";
    const said = parts.join(" ");
    const text = opener ? `${opener}${lowerFirstWord(said)}` : said;
    turns.push({ speaker, text });
    const line = `${speaker}: ${text}`;
    // Counted line by line: the newline between turns joins the previous line's final punctuation token.
    tokens += countTokens(line);
    bytes += Buffer.byteLength(line) + 1;
  }
  const text = turns.map((turn) => `${turn.speaker}: ${turn.text}`).join("\n");
  return { text, turns, tokens: countTokens(text), bytes: Buffer.byteLength(text) };
}

/** The transcript as Debrief's prompt shows it: `Agent:` instead of `AI:`. */
export function asModelSees(text: string): string {
  return text.replace(/^AI:/gm, "Agent:");
}

export interface VariableSpecInput {
  name: string;
  type: "string" | "number" | "integer" | "boolean" | "enum" | "date" | "datetime" | "list";
  description: string;
  options?: string[];
}

/** Twenty post-call variables an HVAC company might ask for; requests take the first N. */
export const VARIABLE_POOL: readonly VariableSpecInput[] = [
  { name: "customer_name", type: "string", description: "The customer's full name as they gave it on the call." },
  { name: "service_type", type: "enum", description: "What kind of visit the customer wants.", options: ["repair", "maintenance", "installation", "inspection"] },
  { name: "budget_usd", type: "number", description: "The most the customer (or whoever approves it) said they would spend, in US dollars." },
  { name: "appointment_date", type: "date", description: "The date of the visit the customer agreed to, after any corrections." },
  { name: "callback_at", type: "datetime", description: "When the customer asked to be called back, if they did." },
  { name: "is_decision_maker", type: "boolean", description: "Whether the person on the call makes the final decision on the purchase." },
  { name: "decision_maker_name", type: "string", description: "The name of the person who makes the decision, when it is not the caller." },
  { name: "num_units", type: "integer", description: "How many heating or cooling units the property has." },
  { name: "concerns", type: "list", description: "Each distinct problem or worry the customer raised about their system, in a few words." },
  { name: "preferred_contact", type: "enum", description: "How the customer prefers to be contacted.", options: ["phone", "email", "sms"] },
  { name: "property_type", type: "enum", description: "The kind of property the work is for.", options: ["house", "apartment", "condo", "commercial"] },
  { name: "system_age_years", type: "integer", description: "The approximate age of the system in years, as the customer estimated it." },
  { name: "has_warranty", type: "boolean", description: "Whether the system is still under a manufacturer's or installer's warranty." },
  { name: "zip_code", type: "string", description: "The five-digit ZIP code of the property, as digits." },
  { name: "competitor_quotes", type: "list", description: "Other companies the customer mentioned getting quotes from, by name or description." },
  { name: "financing_interest", type: "boolean", description: "Whether the customer showed interest in the financing offer." },
  { name: "urgency", type: "enum", description: "How soon the customer needs the work done.", options: ["emergency", "this_week", "this_month", "flexible"] },
  { name: "email", type: "string", description: "The email address the customer gave for confirmations." },
  { name: "objections", type: "list", description: "The objections the customer raised.", options: ["price", "timing", "trust", "needs_approval"] },
  { name: "follow_up_needed", type: "boolean", description: "Whether someone from the company must follow up with the customer after this call." },
];

export interface ExtractBody {
  transcript: string;
  variables: VariableSpecInput[];
  context: { call: { id: string; created_at: string; timezone: string } };
  options?: { cache?: boolean };
}

/** A `POST /v1/extract` body for a transcript and the first `variableCount` variables of the pool. */
export function extractBody(transcript: Transcript, variableCount: number): ExtractBody {
  if (variableCount > VARIABLE_POOL.length) throw new Error(`the pool has only ${VARIABLE_POOL.length} variables`);
  return {
    transcript: transcript.text,
    variables: VARIABLE_POOL.slice(0, variableCount),
    context: { call: { id: "bench-call", created_at: "2026-06-12T14:22:01Z", timezone: "America/New_York" } },
  };
}

/** What the bench's call lengths mean in tokens (about 200 tokens per minute of two-sided speech). */
export const CALL_SIZES = {
  "10-minute": { tokens: 2_000 },
  "60-minute": { tokens: 12_000 },
  "3-hour": { tokens: 40_000 },
} as const;
