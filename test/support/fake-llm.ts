// An OpenAI-compatible chat-completions server on loopback, scripted per test: answers, failures, latency.
// Tests drive the real `openai` SDK against it over real HTTP.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  body: {
    model: string;
    messages: { role: string; content: string }[];
    response_format?: { type: string; json_schema?: { name: string; strict: boolean; schema: Record<string, unknown> } };
    [key: string]: unknown;
  };
  headers: IncomingMessage["headers"];
}

/** What a completion's token log-probabilities look like, when the request asks for them and the server gives them. */
export interface TokenScript {
  /** The log-probability of one token in the middle of each named value (every other token: -0.0001, p ≈ 0.9999). */
  uncertain?: Record<string, number>;
  /** Multi-byte characters are split across two tokens, byte-wise, as byte-level BPE tokenizers do. */
  splitCharacters?: boolean;
}

export type Reply =
  /** A normal completion whose message content is this object, serialised (with `indent`: with whitespace and newlines). */
  | { json: unknown; usage?: { prompt_tokens: number; completion_tokens: number }; delayMs?: number; tokens?: TokenScript; indent?: number }
  /** A completion with this raw text as content (for invalid JSON). */
  | { content: string; finishReason?: string; delayMs?: number; tokens?: TokenScript }
  | { refusal: string }
  /** An HTTP error. */
  | { status: number; headers?: Record<string, string>; body?: unknown; delayMs?: number }
  /** Never answer (the client times out). */
  | { hang: true };

export type Script = (request: RecordedRequest, index: number) => Reply | Promise<Reply>;

export interface FakeLlm {
  url: string;
  requests: RecordedRequest[];
  script: Script;
  /**
   * A request with `logprobs: true`: "give" answers with OpenAI's `choices[0].logprobs.content[]`; "omit" answers
   * `logprobs: null` (the default, as servers that ignore the parameter do); "refuse" answers 400, as OpenAI does for
   * a model without log-probabilities.
   */
  logprobs: "give" | "omit" | "refuse";
  /**
   * An account limit as OpenAI enforces it: `rpm` requests a minute, replenished continuously (a bucket of `rpm` that
   * refills at rpm/60 a second), over it a 429 with `retry-after`; with `headers`, every answer carries
   * `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests` and `x-ratelimit-reset-requests`.
   */
  rateLimit: { rpm: number; headers?: boolean } | undefined;
  /** Requests refused with 429 by `rateLimit`. */
  refused: number;
  close(): Promise<void>;
}

export interface ScriptedToken {
  token: string;
  logprob: number;
  bytes: number[];
}

/**
 * The answer's text as a BPE tokenizer might cut it: runs of up to 4 ASCII letters, up to 3 digits, whitespace,
 * single other characters (multi-byte ones split in two, byte-wise, with `splitCharacters`). Their bytes spell the
 * text exactly. One token in the middle of each `uncertain` value gets that value's log-probability: the value is
 * found by searching for `"name":` and the value's own JSON text, independently of how Debrief parses the answer.
 */
export function scriptTokens(text: string, script: TokenScript = {}): ScriptedToken[] {
  const tokens: ScriptedToken[] = [];
  let at = 0;
  const starts: number[] = [];
  for (const piece of text.match(/[A-Za-z]{1,4}|\d{1,3}|\s+|[^A-Za-z\d\s]/gu) ?? []) {
    const bytes = [...Buffer.from(piece, "utf8")];
    const cut = script.splitCharacters && bytes.length > 1 ? [bytes.slice(0, 1), bytes.slice(1)] : [bytes];
    for (const part of cut) {
      const token = part === bytes ? piece : `bytes:${part.map((byte) => `\\x${byte.toString(16)}`).join("")}`;
      starts.push(at);
      tokens.push({ token, logprob: -0.0001, bytes: part });
      at += part.length;
    }
  }
  const encoded = Buffer.from(text, "utf8");
  for (const [name, logprob] of Object.entries(script.uncertain ?? {})) {
    const key = Buffer.from(`"${name}"`, "utf8");
    const keyAt = encoded.indexOf(key);
    if (keyAt < 0) throw new Error(`scripted uncertainty for ${name}, which the answer does not hold`);
    // The value starts after the colon and any whitespace; its middle byte's token is made uncertain.
    let start = encoded.indexOf(":", keyAt + key.length) + 1;
    while (/\s/.test(String.fromCharCode(encoded[start]!))) start += 1;
    let end = start;
    const opener = String.fromCharCode(encoded[start]!);
    if (opener === '"') {
      end += 1;
      while (encoded[end] !== 0x22 || encoded[end - 1] === 0x5c) end += 1;
      end += 1;
    } else if (opener === "[") end = encoded.indexOf("]", start) + 1;
    else while (end < encoded.length && /[\w.+-]/.test(String.fromCharCode(encoded[end]!))) end += 1;
    const middle = Math.floor((start + end - 1) / 2);
    const index = starts.findLastIndex((tokenStart) => tokenStart <= middle);
    tokens[index]!.logprob = logprob;
  }
  return tokens;
}

/** The user message of a request, where the transcript and variables are. */
export function userMessage(request: RecordedRequest): string {
  return request.body.messages.filter((message) => message.role === "user").at(-1)?.content ?? "";
}

/** The variable names the request's schema asks for under `values`. */
export function requestedVariables(request: RecordedRequest): string[] {
  const schema = request.body.response_format?.json_schema?.schema as
    | { properties?: { values?: { properties?: Record<string, unknown> } } }
    | undefined;
  return Object.keys(schema?.properties?.values?.properties ?? {});
}

/** Does the request's schema ask for evidence (`options.evidence`, or a profile's `evidence`)? */
export function asksForEvidence(request: RecordedRequest): boolean {
  const schema = request.body.response_format?.json_schema?.schema as { properties?: { evidence?: unknown } } | undefined;
  return schema?.properties?.evidence !== undefined;
}

/** A complete model answer to what the request asks: every requested variable null unless given, and its evidence when asked for. */
export function answerFor(request: RecordedRequest, values: Record<string, unknown> = {}, evidence?: Record<string, unknown>) {
  const all = Object.fromEntries(requestedVariables(request).map((name) => [name, null]));
  return { values: { ...all, ...values }, ...(evidence || asksForEvidence(request) ? { evidence: { ...all, ...evidence } } : {}) };
}

/** The account's bucket of requests, refilled continuously; a new `rateLimit` object starts a full one. */
const buckets = new WeakMap<object, { level: number; at: number }>();

/** Takes one request from the account's bucket; refused when it holds less than one. */
function admit(state: FakeLlm): { admitted: boolean; retryAfterMs: number; headers: Record<string, string> } {
  const limit = state.rateLimit;
  if (!limit) return { admitted: true, retryAfterMs: 0, headers: {} };
  const now = Date.now();
  const perMs = limit.rpm / 60_000;
  const bucket = buckets.get(limit) ?? { level: limit.rpm, at: now };
  bucket.level = Math.min(limit.rpm, bucket.level + (now - bucket.at) * perMs);
  bucket.at = now;
  buckets.set(limit, bucket);
  const admitted = bucket.level >= 1;
  if (admitted) bucket.level -= 1;
  const untilOne = Math.ceil(Math.max(0, 1 - bucket.level) / perMs);
  const headers: Record<string, string> = limit.headers
    ? {
        "x-ratelimit-limit-requests": String(limit.rpm),
        "x-ratelimit-remaining-requests": String(Math.floor(bucket.level)),
        "x-ratelimit-reset-requests": `${Math.ceil(((limit.rpm - bucket.level) / perMs) / 1000)}s`,
      }
    : {};
  return { admitted, retryAfterMs: Math.max(untilOne, 1), headers };
}

export async function startFakeLlm(script: Script = () => ({ json: { values: {} } })): Promise<FakeLlm> {
  const requests: RecordedRequest[] = [];
  const hanging = new Set<import("node:http").ServerResponse>();
  const state: FakeLlm = {
    url: "",
    requests,
    script,
    logprobs: "omit",
    rateLimit: undefined,
    refused: 0,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (!req.url?.endsWith("/chat/completions")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found" } }));
      return;
    }
    const request: RecordedRequest = { body: JSON.parse(Buffer.concat(chunks).toString("utf8")), headers: req.headers };
    const limited = admit(state);
    if (!limited.admitted) {
      state.refused += 1;
      res
        .writeHead(429, { "content-type": "application/json", "retry-after": String(Math.ceil(limited.retryAfterMs / 1000)), ...limited.headers })
        .end(JSON.stringify({ error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } }));
      return;
    }
    const index = requests.push(request) - 1;
    if (request.body.logprobs === true && state.logprobs === "refuse") {
      res.writeHead(400, { "content-type": "application/json" }).end(
        JSON.stringify({
          error: { message: "This model does not support the 'logprobs' parameter.", type: "invalid_request_error", param: "logprobs", code: "unsupported_parameter" },
        }),
      );
      return;
    }
    const reply = await state.script(request, index);
    if ("hang" in reply) {
      hanging.add(res);
      return;
    }
    if ("delayMs" in reply && reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if ("status" in reply) {
      res
        .writeHead(reply.status, { "content-type": "application/json", ...reply.headers })
        .end(JSON.stringify(reply.body ?? { error: { message: `scripted ${reply.status}`, type: "server_error" } }));
      return;
    }
    const content = "json" in reply ? JSON.stringify(reply.json, null, reply.indent) : "content" in reply ? reply.content : null;
    const message =
      "refusal" in reply ? { role: "assistant", content: null, refusal: reply.refusal } : { role: "assistant", content, refusal: null };
    const logprobs =
      request.body.logprobs === true && state.logprobs === "give" && content !== null
        ? { content: scriptTokens(content, "tokens" in reply ? reply.tokens : undefined).map((token) => ({ ...token, top_logprobs: [] })), refusal: null }
        : null;
    const usage = "json" in reply && reply.usage ? reply.usage : { prompt_tokens: 100, completion_tokens: 20 };
    res.writeHead(200, { "content-type": "application/json", ...limited.headers }).end(
      JSON.stringify({
        id: `chatcmpl-${index}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: request.body.model,
        choices: [{ index: 0, message, finish_reason: "content" in reply && reply.finishReason ? reply.finishReason : "stop", logprobs }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return state;
}
