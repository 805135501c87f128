// Re-extraction: runs an extracted call again under its profile's current version, through the same path as a live
// call (the extractor's cache, LLM limit and offload pool), keeps the result in the call's history and, when asked,
// delivers it again as a new event. The API's `POST /v1/calls/{id}/reextract` and backfills both use it.
import type { BodyRenderer, DeliveryOutbox } from "../delivery/index.js";
import { ConflictError, DebriefError, NotFoundError } from "../errors.js";
import type { Extractor } from "../extract/index.js";
import type { VariableLimits } from "../schema/index.js";
import { sourceNamed } from "../sources/index.js";
import type { Profile } from "../configuration/config-file.js";
import type { ConfigSource } from "../configuration/config-holder.js";
import { extractCall, nextEventNumber, routeCall, type ExtractedCall } from "./extract-call.js";
import { routedFates } from "./fates.js";
import { profileVersion } from "../configuration/profile-version.js";
import { correctionsOf, withCorrections, type CorrectionConflict } from "./corrections.js";
import { changedPaths, variableOfPath, variablesOf } from "./value-diff.js";
import type { CallRecord, CallStore, ExtractionTrigger } from "./store/port.js";

export interface ReextractOutcome {
  call_id: string;
  /** The version of the profile the new values were extracted under (its current one). */
  profile_version: string;
  /** The call's current values before. */
  previous: Record<string, unknown> | null;
  /** The new values, as they would be delivered: a reviewer's standing corrections in place of the model's. */
  values: Record<string, unknown>;
  /**
   * The reviewer's corrections this re-extraction keeps (delivered instead of the model's new value), and those the
   * profile's current variables no longer accept (the call is then held for review, `correction_conflict`).
   */
  corrections: { kept: string[]; conflicts: CorrectionConflict[] };
  /** What the model answered, before the corrections. */
  model_values: Record<string, unknown>;
  /** Variables whose value differs, in the order of the new values (then any only the previous had). */
  changed: string[];
  /**
   * Where the values differ, leaf by leaf: a flat variable's name, a nested one's leaves (`items[0].quantity`,
   * `contact.email`); in the same order.
   */
  changed_paths: string[];
  usage: { prompt_tokens: number; completion_tokens: number; cached: boolean };
  /** What this re-extraction cost in USD (0 when nothing was sent to the LLM); null for a model without a price. */
  cost_usd: number | null;
  /** False for dry runs. */
  stored: boolean;
  /** The delivery event number when redelivered. */
  event: number | null;
  /**
   * To be redelivered under a profile that holds calls for review, with a value flagged: stored, the call is now in
   * needs_review, and it is delivered (as `call.reviewed`, with `debrief.previous_values`) once a reviewer approves it.
   */
  held: boolean;
}

export interface ReextractOptions {
  /** Answer what would change, storing and delivering nothing. */
  dryRun: boolean;
  /** Deliver the new values to the profile's destinations as a new event (`call.reextracted`). Ignored for dry runs. */
  redeliver: boolean;
  trigger: Exclude<ExtractionTrigger, "live">;
}

export interface Reextractor {
  reextract(callId: string, options: ReextractOptions): Promise<ReextractOutcome>;
}

export interface CallReextractorDeps {
  store: CallStore;
  outbox: DeliveryOutbox;
  extractor: Extractor;
  /** The configuration as it is now (a reload may have changed it since start-up). */
  config: ConfigSource;
  limits: VariableLimits;
  renderBodies?: BodyRenderer;
  /** Told when deliveries were enqueued, so they go out now. */
  onEnqueued?: () => void;
  /** Told when a re-extraction is held for review (for metrics). */
  onHeld?: () => void;
}

/** A call that cannot be re-extracted: it has no extraction to start from (accepted, extracting, skipped, extraction_failed). */
export class CallNotExtractedError extends DebriefError {
  constructor(call: Pick<CallRecord, "id" | "stage">) {
    super("call_not_extracted", 409, `Call "${call.id}" is ${call.stage}: only an extracted call can be re-extracted`);
  }
}

/** The call's profile is no longer in the configuration file. */
export class ProfileMissingError extends DebriefError {
  constructor(profile: string) {
    super("profile_missing", 409, `Profile "${profile}" is no longer configured`);
  }
}

export class CallReextractor implements Reextractor {
  readonly #deps: CallReextractorDeps;
  /** Re-extractions of one call run one after another here, so each stored one takes the next event number. */
  readonly #running = new Map<string, Promise<unknown>>();

  constructor(deps: CallReextractorDeps) {
    this.#deps = deps;
  }

  reextract(callId: string, options: ReextractOptions): Promise<ReextractOutcome> {
    const before = this.#running.get(callId) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.#reextract(callId, options));
    this.#running.set(callId, run);
    // The map holds only calls being re-extracted now: it is as large as the work in flight.
    void run.catch(() => undefined).finally(() => {
      if (this.#running.get(callId) === run) this.#running.delete(callId);
    });
    return run;
  }

  async #reextract(callId: string, options: ReextractOptions): Promise<ReextractOutcome> {
    const { store, extractor } = this.#deps;
    const call = await store.get(callId);
    if (!call) throw new NotFoundError(`No call with id "${callId}"`);
    if (call.stage !== "extracted" || !call.extraction) throw new CallNotExtractedError(call);
    const profile = this.#deps.config.current.profiles.get(call.profile);
    if (!profile) throw new ProfileMissingError(call.profile);
    const version = profileVersion(profile, extractor);
    // What the receivers were sent: the values with a reviewer's corrections, when the call was reviewed.
    const previous = withCorrections(call.extraction.extracted_variables, call.reviewed);

    const extracted = call.extraction.profile_version === version ? this.#unchanged(call, profile) : await extractCall(call, profile, this.#deps, { priority: options.trigger === "backfill" ? "backfill" : "single" });
    const values = withCorrections(extracted.extraction.extracted_variables, call.reviewed);
    // A conflict is named by the path the current definition refuses (`items[1].quantity`); the correction is the variable's.
    const conflicting = new Set(extracted.conflicts.map((conflict) => variableOfPath(conflict.path)));
    const changed = changedPaths(previous, values);
    const usage = extracted.extraction.meta.usage as { prompt_tokens: number; completion_tokens: number } | undefined;
    const outcome: ReextractOutcome = {
      call_id: call.id,
      profile_version: version,
      previous,
      values,
      changed: variablesOf(changed),
      changed_paths: changed,
      corrections: { kept: Object.keys(correctionsOf(call.reviewed)).filter((path) => !conflicting.has(path)), conflicts: extracted.conflicts },
      model_values: extracted.extraction.extracted_variables,
      usage: { prompt_tokens: usage?.prompt_tokens ?? 0, completion_tokens: usage?.completion_tokens ?? 0, cached: extracted.extraction.meta.cached === true },
      cost_usd: typeof extracted.extraction.meta.cost_usd === "number" ? extracted.extraction.meta.cost_usd : null,
      stored: false,
      event: null,
      held: false,
    };
    if (options.dryRun) return outcome;

    // Redelivery goes through the same review as a first delivery: a flagged value waits for a reviewer.
    if (options.redeliver && extracted.hold) {
      // The event it will go out as is reserved now, in its history entry: the approval sends exactly that one.
      const event = await nextEventNumber(store, this.#deps.outbox, call.id);
      const held = { ...extracted.extraction, previous_values: previous };
      const seq = await store.recordReextraction(call.id, {
        extraction: held,
        trigger: options.trigger,
        event,
        fates: [],
        hold: true,
        ...(extracted.holdReason ? { reason: extracted.holdReason } : {}),
      });
      if (seq === undefined) throw new ConflictError(`Call "${call.id}" changed while it was being re-extracted; try again`);
      this.#deps.onHeld?.();
      return { ...outcome, stored: true, event, held: true };
    }

    let event: number | null = null;
    let fates: ReturnType<typeof routedFates> = [];
    let enqueued = 0;
    if (options.redeliver) {
      event = await nextEventNumber(store, this.#deps.outbox, call.id);
      const report = await routeCall(call, extracted, this.#deps, { number: event, name: "call.reextracted", previousValues: previous });
      fates = routedFates(report, event);
      enqueued = report.enqueued.length;
    }
    const seq = await store.recordReextraction(call.id, { extraction: extracted.extraction, trigger: options.trigger, event, fates });
    // Only when the call stopped being extracted meanwhile (deleted by retention, or replayed).
    if (seq === undefined) throw new ConflictError(`Call "${call.id}" changed while it was being re-extracted; try again`);
    if (enqueued > 0) this.#deps.onEnqueued?.();
    return { ...outcome, stored: true, event };
  }

  /**
   * The profile has not changed since the current extraction: the answer would be the same, so it is reused without
   * asking the model (free even when the result cache has expired or is off).
   */
  #unchanged(call: CallRecord, profile: Profile): ExtractedCall {
    const source = sourceNamed(call.source);
    const current = call.extraction!;
    return {
      profile,
      source,
      normalized: source.normalize(call.payload as Record<string, unknown>),
      result: { extracted_variables: current.extracted_variables, meta: current.meta as ExtractedCall["result"]["meta"] },
      extraction: {
        ...current,
        meta: { ...current.meta, cached: true, attempts: 0, llm_calls: 0, usage: { prompt_tokens: 0, completion_tokens: 0 }, cost_usd: 0 },
      },
      hold: false,
      conflicts: [],
    };
  }

}
