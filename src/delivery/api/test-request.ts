// "Make test request": send a signed sample payload straight to a destination, bypassing the outbox.
import { randomBytes } from "node:crypto";
import type { Dispatcher } from "undici";
import type { CompiledDestination } from "../compile-destinations.js";
import { classifyStatus } from "../retry-policy.js";
import { samplePayload } from "../sample-payload.js";
import { sendWebhook } from "../send-webhook.js";

/** What a person checking their endpoint needs; the body is cut to a glance. */
export const TEST_SNIPPET_CHARS = 2_048;

export interface TestRequestResult {
  ok: boolean;
  status: number | null;
  latency_ms: number;
  body_snippet: string | null;
  error: string | null;
  /** The id the receiver saw, to find the request in its logs. */
  webhook_id: string;
}

export async function sendTestRequest(
  destination: CompiledDestination,
  options: { dispatcher: Dispatcher; allowPrivate: boolean; now?: () => number; payload?: Record<string, unknown> },
): Promise<TestRequestResult> {
  // A fresh id: a test must never be deduplicated against (or as) a real call's delivery.
  const webhookId = `msg_test_${randomBytes(12).toString("hex")}`;
  let body: string;
  try {
    body = JSON.stringify(await destination.render(options.payload ?? samplePayload()));
  } catch (error) {
    return { ok: false, status: null, latency_ms: 0, body_snippet: null, error: (error as Error).message, webhook_id: webhookId };
  }
  const result = await sendWebhook({
    target: destination,
    body,
    webhookId,
    timestampMs: (options.now ?? Date.now)(),
    dispatcher: options.dispatcher,
    allowPrivate: options.allowPrivate,
  });
  return {
    ok: result.status !== undefined && classifyStatus(result.status) === "success",
    status: result.status ?? null,
    latency_ms: result.latencyMs,
    body_snippet: result.responseSnippet?.slice(0, TEST_SNIPPET_CHARS) ?? null,
    error: result.error ?? null,
    webhook_id: webhookId,
  };
}
