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

export type Reply =
  /** A normal completion whose message content is this object, serialised. */
  | { json: unknown; usage?: { prompt_tokens: number; completion_tokens: number }; delayMs?: number }
  /** A completion with this raw text as content (for invalid JSON). */
  | { content: string; finishReason?: string; delayMs?: number }
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
  close(): Promise<void>;
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

export async function startFakeLlm(script: Script = () => ({ json: { values: {} } })): Promise<FakeLlm> {
  const requests: RecordedRequest[] = [];
  const hanging = new Set<import("node:http").ServerResponse>();
  const state: FakeLlm = {
    url: "",
    requests,
    script,
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
    const index = requests.push(request) - 1;
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
    const message =
      "refusal" in reply
        ? { role: "assistant", content: null, refusal: reply.refusal }
        : { role: "assistant", content: "json" in reply ? JSON.stringify(reply.json) : reply.content, refusal: null };
    const usage = "json" in reply && reply.usage ? reply.usage : { prompt_tokens: 100, completion_tokens: 20 };
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        id: `chatcmpl-${index}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: request.body.model,
        choices: [{ index: 0, message, finish_reason: "content" in reply && reply.finishReason ? reply.finishReason : "stop", logprobs: null }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return state;
}
