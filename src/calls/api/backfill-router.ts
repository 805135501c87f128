// HTTP API for backfills: start one for a profile (or dry-run it for an estimate), follow it, cancel it.
import { Router } from "express";
import { ConflictError, NotFoundError } from "../../errors.js";
import type { Extractor } from "../../extract/index.js";
import type { LlmBudget } from "../../llm/index.js";
import { roundUsd, type PriceTable } from "../../llm/prices.js";
import { parseBody } from "../../http/parse-body.js";
import { storableId } from "../../http/storable-input.js";
import type { VariableLimits } from "../../schema/index.js";
import { backfillFilter, BackfillRequestSchema, dryRunBackfill, type BackfillReextractor } from "../backfill.js";
import { iso } from "./call-view.js";
import type { Profile } from "../../configuration/config-file.js";
import type { ConfigSource } from "../../configuration/config-holder.js";
import type { BackfillRecord, CallStore } from "../store/port.js";
import type { BudgetStatus, DailyBudgets } from "../daily-budget.js";
import { mayUse, profileFor } from "./profile-access.js";

export interface BackfillRouterDeps {
  store: CallStore;
  /** The configuration now (a reload replaces it). */
  config: ConfigSource;
  limits: VariableLimits;
  extractor: Pick<Extractor, "promptTokens" | "effectiveModel">;
  reextractor: BackfillReextractor;
  prices: PriceTable;
  /** The profile's current version (profile-version.ts). */
  profileVersion: (profile: Profile) => string;
  /** Told when a backfill starts, so the workers take it up now rather than at their next poll. */
  onStarted: () => void;
  /** Profiles' daily LLM budgets: a running backfill of a profile whose budget is spent is paused until its next day. */
  budgets: Pick<DailyBudgets, "status">;
  /** The LLM budget shared by every instance (absent: no DEBRIEF_LLM_* limit, or the local model): a backfill waits when it is short. */
  llmBudget?: Pick<LlmBudget, "waitFor">;
}

/** Why a running backfill takes up no item now, as `paused` says it; null when it does. */
export type BackfillPause = { reason: "daily_budget_reached" | "llm_budget"; until: string } | null;

/** `GET /v1/backfills/{id}`'s body; exported so the OpenAPI document's schema is checked against it. */
export function backfillView(backfill: BackfillRecord, paused: BackfillPause = null) {
  return {
    backfill_id: backfill.id,
    profile: backfill.profile,
    state: backfill.state,
    total: backfill.total,
    done: backfill.done,
    changed: backfill.changed,
    failed: backfill.failed,
    tokens: { prompt_tokens: backfill.prompt_tokens, completion_tokens: backfill.completion_tokens },
    cost_usd: backfill.cost_usd === null ? null : roundUsd(backfill.cost_usd),
    redeliver: backfill.redeliver,
    request: backfill.request,
    created_at: iso(backfill.created_at)!,
    updated_at: iso(backfill.updated_at)!,
    finished_at: iso(backfill.finished_at),
    paused: backfill.state === "running" ? paused : null,
  };
}

export function backfillRouter(deps: BackfillRouterDeps): Router {
  const router = Router();
  /**
   * Why a running backfill waits: its profile's daily budget is spent (until its next day), or the shared LLM budget
   * is too short for a backfill's request now (live calls and single re-extractions pass first), until it refills.
   */
  const pauseOf = async (backfill: BackfillRecord): Promise<BackfillPause> => {
    const profile = deps.config.current.profiles.get(backfill.profile);
    if (backfill.state !== "running" || !profile) return null;
    const daily: BudgetStatus | undefined = await deps.budgets.status(profile);
    if (daily?.exceeded) return { reason: "daily_budget_reached", until: iso(daily.day.end)! };
    const waitMs = (await deps.llmBudget?.waitFor(deps.extractor.effectiveModel(profile.model), "backfill")) ?? 0;
    return waitMs > 0 ? { reason: "llm_budget", until: new Date(Date.now() + waitMs).toISOString() } : null;
  };
  router.param("id", storableId("backfill"));

  router.post("/profiles/:name/backfill", async (req, res) => {
    const profile = profileFor(deps.config, req.params.name, res);
    const request = parseBody(BackfillRequestSchema, req.body);
    const version = deps.profileVersion(profile);
    if (request.dry_run) {
      res.json(await dryRunBackfill(deps, profile, version, request));
      return;
    }
    const backfill = await deps.store.createBackfill({
      filter: backfillFilter(profile, request, version),
      limit: request.limit,
      redeliver: request.redeliver,
      request: { ...request, profile_version: version },
    });
    deps.onStarted();
    res.status(202).json({ backfill_id: backfill.id, state: backfill.state, total: backfill.total });
  });

  router.get("/backfills/:id", async (req, res) => {
    const backfill = await deps.store.getBackfill(req.params.id);
    if (!backfill || !mayUse(res, backfill.profile)) throw new NotFoundError(`No backfill with id "${req.params.id}"`);
    res.json(backfillView(backfill, await pauseOf(backfill)));
  });

  router.post("/backfills/:id/cancel", async (req, res) => {
    // Looked at before cancelling: a backfill of a profile the key may not use is one that does not exist.
    const seen = await deps.store.getBackfill(req.params.id);
    if (seen && !mayUse(res, seen.profile)) throw new NotFoundError(`No backfill with id "${req.params.id}"`);
    const backfill = await deps.store.cancelBackfill(req.params.id);
    if (!backfill) throw new NotFoundError(`No backfill with id "${req.params.id}"`);
    if (backfill.state === "done") throw new ConflictError(`Backfill "${backfill.id}" is done already: there is nothing left to cancel`);
    res.json(backfillView(backfill));
  });

  return router;
}
