// HTTP API for calls: accept a voice platform's post-call payload, look up a call, replay a failed extraction.
import { Router } from "express";
import { ConflictError, InvalidRequestError, NotFoundError } from "../errors.js";
import type { DeliveryOutbox, DeliveryWithAttempts } from "../delivery/index.js";
import type { Extractor } from "../extract/index.js";
import { zodIssuesToDetails, type VariableLimits } from "../schema/index.js";
import type { PipelineConfig } from "./config-file.js";
import { callExtractJob, CallPayloadSchema, isCompleted } from "./payload.js";
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
export function describeCall(call: CallRecord, outbox: DeliveryOutbox) {
  const deliveries = outbox.listForCall(call.id);
  return {
    call_id: call.id,
    profile: call.profile,
    external_id: call.external_id,
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
    if (req.body === null || typeof req.body !== "object" || Array.isArray(req.body)) {
      throw new InvalidRequestError("The call payload must be a JSON object", [{ path: "", message: "expected an object" }]);
    }
    const parsed = CallPayloadSchema.safeParse(req.body);
    if (!parsed.success) throw new InvalidRequestError("The call payload is not a post-call payload", zodIssuesToDetails(parsed.error.issues));
    const payload = parsed.data;
    const extract = !profile.sendOnlyOnCompleted || isCompleted(payload);
    // A call we will extract is checked now, as `POST /v1/extract` would check it, prompt budget included: a bad one is
    // a 400, never a stored failure. Planning a long call runs off the event loop.
    if (extract) await deps.extractor.plan(callExtractJob(payload, profile, deps.limits));

    const { call, created } = deps.store.accept({
      profile: profile.name,
      externalId: payload.id === undefined ? undefined : String(payload.id),
      payload,
      state: extract ? "accepted" : "skipped",
      reason: extract ? undefined : `not_completed: call status is "${payload.status}"`,
    });
    if (created && extract) deps.onAccepted();
    const body = created ? { call_id: call.id, state: call.state } : { call_id: call.id, state: describeCall(call, deps.outbox).state, duplicate: true };
    res.status(created ? 202 : 200).json(body);
  });

  router.get("/calls/:id", (req, res) => {
    const call = deps.store.get(req.params.id);
    if (!call) throw new NotFoundError(`No call with id "${req.params.id}"`);
    res.json(describeCall(call, deps.outbox));
  });

  router.post("/calls/:id/retry", (req, res) => {
    const call = deps.store.get(req.params.id);
    if (!call) throw new NotFoundError(`No call with id "${req.params.id}"`);
    if (!deps.store.replay(call.id)) {
      throw new ConflictError(
        `Only a call in extraction_failed, or one whose deliveries could not be enqueued, can be replayed; this one is ${call.state}`,
      );
    }
    deps.onAccepted();
    res.json({ call_id: call.id, state: "accepted" });
  });

  return router;
}

