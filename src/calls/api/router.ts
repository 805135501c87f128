// HTTP API for calls: accept a voice platform's post-call payload, replay a failed extraction, decide on a call held
// for review (reading them: read-router.ts).
import { Router } from "express";
import { ConflictError, InvalidRequestError, InvalidSignatureError, NotFoundError } from "../../errors.js";
import type { Extractor } from "../../extract/index.js";
import type { VariableLimits } from "../../schema/index.js";
import type { ConfigSource } from "../../configuration/config-holder.js";
import { storableId } from "../../http/storable-input.js";
import { recognizePayload, type Source, type SourceName } from "../../sources/index.js";
import { checkUrlToken, inboundReader } from "./inbound.js";
import { callExtractJob, callFacts, skipReason } from "../payload.js";
import { customerE164 } from "../../lib/phone.js";
import { parseReviewRequest, reviewDecision } from "../review.js";
import { routingSkipReason } from "../routing-gate.js";
import type { CallStore } from "../store/port.js";
import { callOfKeysProfiles, keyOf, mayUse } from "./profile-access.js";

export interface CallsRouterDeps {
  store: CallStore;
  /** The configuration now (a reload replaces it). */
  config: ConfigSource;
  /** maxBodyBytes bounds what a platform's self-authenticating webhook may send, read here rather than by the app. */
  limits: VariableLimits & { maxBodyBytes: number };
  /** Plans a call's prompt at the door, so one that can never fit the budget is a 400 rather than a stored failure. */
  extractor: Pick<Extractor, "plan">;
  /** Told when a call is accepted or replayed, so extraction starts now rather than at the next poll. */
  onAccepted: () => void;
  /** Told of every call a platform posted that was recognised, with what became of it (for metrics). */
  onReceived?: (source: SourceName, outcome: "accepted" | "skipped" | "duplicate" | "ignored") => void;
  /** Told of every decision on a held call (for metrics). */
  onReviewed?: (decision: "approved" | "skipped") => void;
}

/** 409 `not_in_review`: only a call in needs_review takes a review (it may have just been decided by someone else). */
function notInReview(id: string, state: string): ConflictError {
  return new ConflictError(
    `Only a call in needs_review can be reviewed; call "${id}" is ${state}`,
    [{ path: "state", message: `is ${state}, not needs_review` }],
    "not_in_review",
  );
}

export function callsRouter(deps: CallsRouterDeps): Router {
  const router = Router();
  router.param("id", storableId("call"));
  router.param("id", callOfKeysProfiles(deps.store));
  const readInbound = inboundReader(deps.limits.maxBodyBytes);

  router.post("/calls", async (req, res) => {
    const profileName = typeof req.query.profile === "string" ? req.query.profile : undefined;
    // A profile the key is not bound to is, for this key, one that does not exist; the answer names only its own.
    const profile = profileName && mayUse(res, profileName) ? deps.config.current.profiles.get(profileName) : undefined;
    if (!profile) {
      const known = [...deps.config.current.profiles.keys()].filter((name) => mayUse(res, name)).join(", ") || "(none configured)";
      throw new InvalidRequestError(
        profileName ? `No profile named "${profileName}"` : "The profile query parameter is required",
        [{ path: "profile", message: `must name a configured profile: ${known}` }],
      );
    }
    let payload: unknown = req.body;
    let among: readonly Source[] | undefined;
    if (res.locals.selfAuthenticating) {
      ({ body: payload, sources: among } = await readInbound(req, res, profile, Date.now()));
    } else {
      // The profile took a secret in a reload after the app let this request in by its API key: its signature is what counts.
      if (profile.inbound?.secret !== undefined) throw new InvalidSignatureError("missing_signature", `Profile "${profile.name}" now requires its platform's signature`);
      checkUrlToken(profile, req, res.locals.client !== undefined);
    }
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
      throw new InvalidRequestError("The call payload must be a JSON object", [{ path: "", message: "expected an object" }]);
    }
    const body = payload as Record<string, unknown>;
    const recognized = recognizePayload(body, profile.source, among);
    const { source } = recognized;
    res.locals.source = source.name;
    if (recognized.kind === "ignored") {
      deps.onReceived?.(source.name, "ignored");
      res.json({ ignored: true, reason: recognized.reason });
      return;
    }
    const call = source.normalize(body);
    const reason = skipReason(call, profile, source) ?? (await routingSkipReason(body, call, profile, source));
    // A call we will extract is checked now, as `POST /v1/extract` would check it, prompt budget included: a bad one is
    // a 400, never a stored failure. Planning a long call runs off the event loop.
    if (reason === undefined) await deps.extractor.plan(callExtractJob(call, profile, deps.limits));

    const { call: stored, created } = await deps.store.accept({
      profile: profile.name,
      source: source.name,
      externalId: call.external_id,
      call: callFacts(call),
      customerE164: customerE164(call.customer_phone, profile.defaultRegion),
      payload: body,
      state: reason === undefined ? "accepted" : "skipped",
      reason,
    });
    if (created && reason === undefined) deps.onAccepted();
    deps.onReceived?.(source.name, !created ? "duplicate" : reason === undefined ? "accepted" : "skipped");
    const answer = created ? { call_id: stored.id, state: stored.state } : { call_id: stored.id, state: stored.state, duplicate: true };
    res.status(created ? 202 : 200).json(answer);
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

  router.post("/calls/:id/review", async (req, res) => {
    const request = parseReviewRequest(req.body);
    const call = await deps.store.get(req.params.id);
    if (!call) throw new NotFoundError(`No call with id "${req.params.id}"`);
    if (call.stage !== "needs_review" || !call.extraction) throw notInReview(call.id, call.state);
    const profile = deps.config.current.profiles.get(call.profile);
    if (!profile && request.approve) {
      throw new ConflictError(`Profile "${call.profile}" is no longer configured: the call can be skipped, not delivered`, [], "profile_missing");
    }
    const decision = reviewDecision(request, { extraction: call.extraction, variables: profile?.variables ?? [], at: new Date(), previous: call.reviewed });
    // Who decided travels with the decision: the call view and the delivered payload's debrief.reviewed.by.
    const reviewer = keyOf(res)?.name;
    const review = reviewer === undefined ? decision : { ...decision, by: reviewer };
    // The one conditional update decides a race: the loser is told the call is no longer in review.
    if (!(await deps.store.decideReview(call.id, review))) {
      const now = await deps.store.get(call.id);
      throw notInReview(call.id, now?.state ?? "gone");
    }
    deps.onReviewed?.(review.approved ? "approved" : "skipped");
    // Approved: accepted again, routed by the worker with the corrections (never extracted again).
    if (review.approved) deps.onAccepted();
    res.json({ call_id: call.id, state: review.approved ? "accepted" : "skipped", reviewed: review });
  });

  return router;
}

