// HTTP API for calls: accept a voice platform's post-call payload, look up a call, replay a failed extraction.
import { Router } from "express";
import { ConflictError, InvalidRequestError, NotFoundError } from "../errors.js";
import type { DeliveryOutbox, DeliveryWithAttempts } from "../delivery/index.js";
import type { Extractor } from "../extract/index.js";
import type { VariableLimits } from "../schema/index.js";
import type { PipelineConfig } from "./config-file.js";
import { recognizePayload, type SourceName } from "../sources/index.js";
import { checkSignature, checkUrlToken } from "./inbound.js";
import { callExtractJob, callFacts, skipReason } from "./payload.js";
import type { CallRecord, CallStore } from "./store.js";

export interface CallsRouterDeps {
  store: CallStore;
  outbox: DeliveryOutbox;
  config: PipelineConfig;
  limits: VariableLimits;
  /** Plans a call's prompt at the door, so one that can never fit the budget is a 400 rather than a stored failure. */
  extractor: Pick<Extractor, "plan">;
  /** Told when a call is accepted or replayed, so extraction starts now rather than at the next poll. */
  onAccepted: () => void;
  /** Told of every call a platform posted that was recognised, with what became of it (for metrics). */
  onReceived?: (source: SourceName, outcome: "accepted" | "skipped" | "duplicate" | "ignored") => void;
}

/** After extraction, a call's state is its deliveries' state: derived on read, never stored twice. */
function publicState(call: CallRecord, deliveries: readonly DeliveryWithAttempts[]): string {
  if (call.state !== "extracted") return call.state;
  if (call.delivery_errors.length > 0) return "delivery_failed";
  if (deliveries.length === 0) return call.state;
  if (deliveries.some((delivery) => delivery.status === "failed")) return "delivery_failed";
  if (deliveries.some((delivery) => delivery.status === "pending")) return "delivering";
  return "delivered";
}

/** The `GET /v1/calls/{id}` body; exported so the OpenAPI document's schema is checked against it. */
export async function describeCall(call: CallRecord, outbox: DeliveryOutbox) {
  const deliveries = await outbox.listForCall(call.id);
  return {
    call_id: call.id,
    profile: call.profile,
    source: call.source,
    external_id: call.external_id,
    call: call.call,
    state: publicState(call, deliveries),
    reason: call.reason,
    attempts: call.attempts,
    next_attempt_at: call.next_attempt_at === null ? null : new Date(call.next_attempt_at).toISOString(),
    last_error: call.last_error,
    created_at: new Date(call.created_at).toISOString(),
    updated_at: new Date(call.updated_at).toISOString(),
    extracted_variables: call.extraction?.extracted_variables ?? null,
    meta: call.extraction?.meta ?? null,
    delivery_errors: call.delivery_errors,
    deliveries,
  };
}

export function callsRouter(deps: CallsRouterDeps): Router {
  const router = Router();

  router.post("/calls", async (req, res) => {
    const profileName = typeof req.query.profile === "string" ? req.query.profile : undefined;
    const profile = profileName ? deps.config.profiles.get(profileName) : undefined;
    if (!profile) {
      const known = [...deps.config.profiles.keys()].join(", ") || "(none configured)";
      throw new InvalidRequestError(
        profileName ? `No profile named "${profileName}"` : "The profile query parameter is required",
        [{ path: "profile", message: `must name a configured profile: ${known}` }],
      );
    }
    checkUrlToken(profile, req, res.locals.client !== undefined);
    if (req.body === null || typeof req.body !== "object" || Array.isArray(req.body)) {
      throw new InvalidRequestError("The call payload must be a JSON object", [{ path: "", message: "expected an object" }]);
    }
    const body = req.body as Record<string, unknown>;
    const recognized = recognizePayload(body, profile.source);
    const { source } = recognized;
    res.locals.source = source.name;
    checkSignature(profile, source, req, Date.now());
    if (recognized.kind === "ignored") {
      deps.onReceived?.(source.name, "ignored");
      res.json({ ignored: true, reason: recognized.reason });
      return;
    }
    const call = source.normalize(body);
    const reason = skipReason(call, profile);
    // A call we will extract is checked now, as `POST /v1/extract` would check it, prompt budget included: a bad one is
    // a 400, never a stored failure. Planning a long call runs off the event loop.
    if (reason === undefined) await deps.extractor.plan(callExtractJob(call, profile, deps.limits));

    const { call: stored, created } = await deps.store.accept({
      profile: profile.name,
      source: source.name,
      externalId: call.external_id,
      call: callFacts(call),
      payload: body,
      state: reason === undefined ? "accepted" : "skipped",
      reason,
    });
    if (created && reason === undefined) deps.onAccepted();
    deps.onReceived?.(source.name, !created ? "duplicate" : reason === undefined ? "accepted" : "skipped");
    const answer = created
      ? { call_id: stored.id, state: stored.state }
      : { call_id: stored.id, state: (await describeCall(stored, deps.outbox)).state, duplicate: true };
    res.status(created ? 202 : 200).json(answer);
  });

  router.get("/calls/:id", async (req, res) => {
    const call = await deps.store.get(req.params.id);
    if (!call) throw new NotFoundError(`No call with id "${req.params.id}"`);
    res.json(await describeCall(call, deps.outbox));
  });

  router.post("/calls/:id/retry", async (req, res) => {
    const call = await deps.store.get(req.params.id);
    if (!call) throw new NotFoundError(`No call with id "${req.params.id}"`);
    if (!(await deps.store.replay(call.id))) {
      throw new ConflictError(
        `Only a call in extraction_failed, or one whose deliveries could not be enqueued, can be replayed; this one is ${call.state}`,
      );
    }
    deps.onAccepted();
    res.json({ call_id: call.id, state: "accepted" });
  });

  return router;
}

