// A lean OpenAI-compatible chat-completions server for the bench, run as its own process on loopback.
// The latency is part of the URL (`/latency/500/v1`), so one server serves every section and the bare-SDK baseline
// hits exactly what Debrief hits. It answers a valid {"values": …} for whatever schema it is sent and reports
// `usage.prompt_tokens` counted with tiktoken o200k_base, and the answer's tokens with log-probabilities when asked
// (`logprobs: true`, as Debrief asks by default). `/latency/500/limit/60rpm/ACCOUNT/v1` also enforces an account's
// request limit as OpenAI does (a bucket of 60 refilled continuously, 429 with retry-after over it), one bucket per
// ACCOUNT, whose admissions and refusals `/__bench/limit/ACCOUNT` reports. Prints `{"port": N}` on stdout once listening.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { countChatPrompt, countTokens, tokenBytes, type PromptMessage } from "./lib/tokens.js";

interface ChatBody {
  model?: string;
  logprobs?: boolean;
  messages?: PromptMessage[];
  response_format?: { type?: string; json_schema?: { schema?: JsonSchema } };
}

interface JsonSchema {
  type?: string | string[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  format?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
}

const ROUTE = /^\/latency\/(\d+)(?:\/limit\/(\d+)rpm\/([\w-]+))?\/v1\/chat\/completions$/;
const LIMIT_STATS = /^\/__bench\/limit\/([\w-]+)$/;

/** An account's request bucket, and what it admitted (each admission's time, ms since the epoch) and refused. */
interface Account {
  rpm: number;
  level: number;
  at: number;
  admitted: number[];
  refused: number;
  /** When the bucket first ran dry (under one request left): the first minute's burst was spent then. */
  exhaustedAt?: number;
}
const accounts = new Map<string, Account>();

/** Takes one request from the account's bucket (a new account starts full); over the limit, how long until one is back. */
function admit(name: string, rpm: number): { admitted: true } | { admitted: false; retryAfterMs: number } {
  const now = Date.now();
  const account = accounts.get(name) ?? { rpm, level: rpm, at: now, admitted: [], refused: 0 };
  accounts.set(name, account);
  const perMs = rpm / 60_000;
  account.level = Math.min(rpm, account.level + (now - account.at) * perMs);
  account.at = now;
  if (account.level >= 1) {
    account.level -= 1;
    account.admitted.push(now);
    if (account.level < 1) account.exhaustedAt ??= now;
    return { admitted: true };
  }
  account.exhaustedAt ??= now;
  account.refused += 1;
  return { admitted: false, retryAfterMs: Math.max(1, Math.ceil((1 - account.level) / perMs)) };
}

const stats = { requests: 0, inFlight: 0, peakInFlight: 0, promptTokens: 0, completionTokens: 0 };
let lastRequest = "";

/** A plausible typed value for one property schema (the first non-null alternative it allows). */
function valueFor(schema: JsonSchema): unknown {
  const alternatives = schema.anyOf ?? [schema];
  for (const alternative of alternatives) {
    const types = Array.isArray(alternative.type) ? alternative.type : [alternative.type];
    const type = types.find((t) => t !== "null");
    if (!type) continue;
    if (alternative.enum?.length) return alternative.enum[0];
    switch (type) {
      case "string":
        if (alternative.format === "date") return "2026-06-17";
        if (alternative.format === "date-time") return "2026-06-17T15:00:00-04:00";
        return "Customer wants a repair visit next week.";
      case "number":
        return 4000;
      case "integer":
        return 2;
      case "boolean":
        return true;
      case "array": {
        const item = alternative.items ? valueFor(alternative.items) : "grinding noise";
        return item === null ? [] : [item];
      }
    }
  }
  return null;
}

/** OpenAI's `choices[0].logprobs`: the answer's o200k tokens, each nearly certain. */
function logprobsFor(content: string) {
  return {
    content: tokenBytes(content).map((bytes) => ({ token: Buffer.from(bytes).toString("utf8"), logprob: -0.01, bytes: [...bytes], top_logprobs: [] })),
    refusal: null,
  };
}

/** Every other variable gets a typed value, the rest null ("the call never said"); evidence, when asked for, is null. */
function answerFor(body: ChatBody): { values: Record<string, unknown>; evidence?: Record<string, null> } {
  const schema = body.response_format?.json_schema?.schema;
  const properties = schema?.properties?.values?.properties ?? {};
  const values: Record<string, unknown> = {};
  Object.entries(properties).forEach(([name, schema], index) => {
    values[name] = index % 2 === 0 ? valueFor(schema) : null;
  });
  if (!schema?.properties?.evidence) return { values };
  return { values, evidence: Object.fromEntries(Object.keys(properties).map((name) => [name, null])) };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const server = createServer(async (req, res) => {
  try {
    const url = req.url ?? "";
    if (url === "/__bench/stats") return send(res, 200, stats);
    if (url === "/__bench/reset") {
      Object.assign(stats, { requests: 0, peakInFlight: stats.inFlight, promptTokens: 0, completionTokens: 0 });
      return send(res, 200, stats);
    }
    if (url === "/__bench/last-request") {
      res.writeHead(200, { "content-type": "application/json" }).end(lastRequest || "null");
      return;
    }
    const limitStats = LIMIT_STATS.exec(url);
    if (limitStats) {
      const account = accounts.get(limitStats[1]!);
      return send(res, 200, { admitted: account?.admitted ?? [], refused: account?.refused ?? 0, exhaustedAt: account?.exhaustedAt ?? null });
    }
    const route = ROUTE.exec(url);
    if (!route || req.method !== "POST") return send(res, 404, { error: { message: `no route ${req.method} ${url}`, type: "invalid_request_error" } });

    const latencyMs = Number(route[1]);
    const raw = await readBody(req);
    if (route[2] && route[3]) {
      const limited = admit(route[3], Number(route[2]));
      if (!limited.admitted) {
        res
          .writeHead(429, { "content-type": "application/json", "retry-after": String(Math.ceil(limited.retryAfterMs / 1000)) })
          .end(JSON.stringify({ error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } }));
        return;
      }
    }
    stats.requests += 1;
    stats.inFlight += 1;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    try {
      lastRequest = raw;
      const body = JSON.parse(raw) as ChatBody;
      const promptTokens = countChatPrompt(body.messages ?? [], body.response_format?.json_schema?.schema);
      const content = JSON.stringify(answerFor(body));
      const completionTokens = countTokens(content);
      stats.promptTokens += promptTokens;
      stats.completionTokens += completionTokens;
      if (latencyMs > 0) await sleep(latencyMs);
      send(res, 200, {
        id: `chatcmpl-bench-${stats.requests}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? "bench",
        choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: "stop", logprobs: body.logprobs === true ? logprobsFor(content) : null }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      });
    } finally {
      stats.inFlight -= 1;
    }
  } catch (error) {
    send(res, 500, { error: { message: error instanceof Error ? error.message : String(error), type: "server_error" } });
  }
});

server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
// The bench holds our stdin open; when it goes away, however it died, so do we.
process.stdin.on("end", () => process.exit(0)).resume();
