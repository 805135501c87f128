// One signed HTTP attempt: build headers, send the stored body, read at most 20 KB back, classify what happened.
import { performance } from "node:perf_hooks";
import { request, type Dispatcher } from "undici";
import { findRefusal, refusedUrlReason } from "./address-guard.js";
import { parseRetryAfterMs } from "../lib/retry-after.js";
import { webhookHeaders } from "./signing.js";

/** Enough of a receiver's answer to debug it, bounded so a chatty receiver cannot fill the outbox. */
export const RESPONSE_SNIPPET_BYTES = 20 * 1024;

const USER_AGENT = "Debrief-Webhooks/1.0";

export interface WebhookTarget {
  url: string;
  method: "POST" | "PUT" | "PATCH";
  headers: Record<string, string>;
  secrets: readonly string[];
  timeoutMs: number;
}

export interface SendResult {
  /** response: an HTTP status arrived; network/timeout: no answer; refused: the guard blocked it; aborted: shutdown. */
  kind: "response" | "network" | "timeout" | "refused" | "aborted";
  status: number | undefined;
  latencyMs: number;
  error: string | undefined;
  responseSnippet: string | undefined;
  retryAfterMs: number | undefined;
}

async function readSnippet(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let text = "";
  let received = 0;
  try {
    for await (const chunk of body) {
      const take = chunk.subarray(0, RESPONSE_SNIPPET_BYTES - received);
      // stream: true holds back a multi-byte character cut at the limit instead of emitting U+FFFD.
      text += decoder.decode(take, { stream: true });
      received += take.length;
      if (received >= RESPONSE_SNIPPET_BYTES) break;
    }
  } catch {
    // The status already tells us what happened; a body cut short only shortens the snippet.
  } finally {
    body.destroy();
  }
  return text;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${typeof code === "string" ? `${code}: ` : ""}${error.message}${cause}`;
}

/**
 * Sends one attempt. Never throws: every failure comes back as a SendResult the retry policy can judge.
 * `timestampMs` is the attempt's own time, so each retry carries a fresh `webhook-timestamp`.
 */
export async function sendWebhook(input: {
  target: WebhookTarget;
  body: string;
  webhookId: string;
  timestampMs: number;
  dispatcher: Dispatcher;
  allowPrivate: boolean;
  /** Aborts the attempt early (shutdown deadline). */
  signal?: AbortSignal;
}): Promise<SendResult> {
  const { target } = input;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const refusal = refusedUrlReason(target.url, input.allowPrivate);
  if (refusal) return { kind: "refused", status: undefined, latencyMs: 0, error: refusal, responseSnippet: undefined, retryAfterMs: undefined };

  const timeout = AbortSignal.timeout(target.timeoutMs);
  const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout;
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": USER_AGENT };
  // Lower-cased so a configured "Content-Type" replaces the default instead of being sent twice.
  for (const [name, value] of Object.entries(target.headers)) headers[name.toLowerCase()] = value;
  Object.assign(
    headers,
    webhookHeaders({ webhookId: input.webhookId, timestampMs: input.timestampMs, body: input.body, secrets: target.secrets }),
  );
  try {
    const response = await request(target.url, {
      method: target.method,
      headers,
      body: input.body,
      dispatcher: input.dispatcher,
      signal,
    });
    const responseSnippet = await readSnippet(response.body);
    const retryAfter = response.headers["retry-after"];
    return {
      kind: "response",
      status: response.statusCode,
      latencyMs: elapsed(),
      error: undefined,
      responseSnippet,
      retryAfterMs: parseRetryAfterMs(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, input.timestampMs),
    };
  } catch (error) {
    const base = { status: undefined, latencyMs: elapsed(), responseSnippet: undefined, retryAfterMs: undefined };
    const refused = findRefusal(error);
    if (refused) return { ...base, kind: "refused", error: refused.message };
    if (timeout.aborted) return { ...base, kind: "timeout", error: `no response within ${target.timeoutMs} ms` };
    if (input.signal?.aborted) return { ...base, kind: "aborted", error: "interrupted by shutdown" };
    return { ...base, kind: "network", error: describeError(error) };
  }
}
