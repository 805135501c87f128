// HTTP API for the configured profiles: what each one extracts, gates and holds, its versions with their calls, and
// where it delivers (by host only): `GET /v1/profiles` and `GET /v1/profiles/{name}`; and what its calls say over a
// window (`GET /v1/profiles/{name}/insights`).
import { Router } from "express";
import { z } from "zod";
import { InvalidRequestError } from "../../errors.js";
import { parseQuery } from "../../http/parse-query.js";
import { isInstant } from "../../schema/index.js";
import { DEFAULT_INSIGHTS_WINDOW_MS, INSIGHT_BUCKETS, MAX_INSIGHTS_WINDOW_MS, profileInsights } from "../insights.js";
import type { Profile } from "../../configuration/config-file.js";
import type { ConfigSource } from "../../configuration/config-holder.js";
import type { CallStore, ProfileVersionCount } from "../store/port.js";
import type { BudgetStatus, DailyBudgets } from "../daily-budget.js";
import { iso } from "./call-view.js";
import { mayUse, profileFor } from "./profile-access.js";

export interface ProfilesRouterDeps {
  store: Pick<CallStore, "profileVersionCounts" | "insightFigures">;
  /** The configuration now (a reload replaces it). */
  config: ConfigSource;
  /** The profile's current version (profile-version.ts). */
  profileVersion: (profile: Profile) => string;
  /** The model the profile's calls run on (its own, or the deployment's). */
  effectiveModel: (model: string | undefined) => string;
  /** Today's spend of profiles with a daily budget (read at most every few seconds). */
  budgets: Pick<DailyBudgets, "status">;
}

/** A profile's daily LLM budget and what its calls spent today; null without one. */
function budgetView(profile: Profile, status: BudgetStatus | undefined) {
  if (!profile.budget || !status) return null;
  return {
    daily_usd: profile.budget.dailyUsd,
    on_exceeded: profile.budget.onExceeded,
    today: {
      // Micro-dollars: `0.00072`, not a float sum's `0.0007199999999999999`.
      spent_usd: Math.round(status.spent * 1e6) / 1e6,
      since: iso(status.day.start)!,
      until: iso(status.day.end)!,
      exceeded: status.exceeded,
    },
  };
}

/** The host alone: a webhook URL's path or query is often its secret (Slack's are), and its headers carry keys. */
function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

/** One profile as the API shows it; exported so the OpenAPI document's schema is checked against it. */
export function profileView(profile: Profile, version: string, model: string, counts: readonly ProfileVersionCount[], budget?: BudgetStatus) {
  const versions = counts.filter((count) => count.profile === profile.name).map((count) => ({ version: count.version, calls: Number(count.calls) }));
  // The current version is listed even before any call ran under it: it is what a backfill brings calls to.
  if (!versions.some((entry) => entry.version === version)) versions.unshift({ version, calls: 0 });
  return {
    name: profile.name,
    source: profile.source,
    model,
    version,
    versions: versions.map((entry) => ({ ...entry, current: entry.version === version })),
    // Every rule of each variable as the file gives it (fields, items, format, pattern, examples), so a copy is whole.
    variables: profile.variables.map(({ fields, items, ...variable }) => ({
      ...variable,
      options: variable.options ?? null,
      ...(fields ? { fields: fields as unknown as Record<string, unknown>[] } : {}),
      ...(items ? { items: items as unknown as Record<string, unknown> } : {}),
    })),
    evidence: profile.evidence,
    timezone: profile.timezone ?? null,
    gates: {
      send_only_on_completed: profile.sendOnlyOnCompleted,
      min_duration_s: profile.gates.minDurationS ?? null,
      min_customer_turns: profile.gates.minCustomerTurns ?? null,
      skip_ended_reasons: profile.gates.skipEndedReasons,
      extract: profile.extract,
    },
    review: { hold: profile.review.hold, min_confidence: profile.review.minConfidence ?? null, flags: profile.review.flags },
    // Whether each is set, never its value.
    inbound: { secret: profile.inbound?.secret !== undefined, url_token: profile.inbound?.urlToken !== undefined },
    destinations: profile.destinations.map((destination) => ({ name: destination.name, host: hostOf(destination.url) })),
    budget: budgetView(profile, budget),
  };
}

const instant = z
  .string()
  .refine(isInstant, "must be an ISO 8601 date-time with a UTC offset or Z, e.g. 2026-12-01T00:00:00Z")
  .transform((value) => Date.parse(value));

/** `GET /v1/profiles/{name}/insights` query parameters; the OpenAPI document describes them from this schema. */
export const InsightsQuerySchema = z
  .object({
    since: instant.optional().describe("The window's start (ISO 8601 instant); default 30 days before `until`"),
    until: instant.optional().describe("The window's end, excluded (ISO 8601 instant); default now"),
    bucket: z
      .enum(INSIGHT_BUCKETS, { message: `must be one of ${INSIGHT_BUCKETS.join(", ")}` })
      .default("day")
      .describe("The series' bucket, in the profile's timezone (weeks start on Monday); default day"),
  })
  .strict();

/** The window asked for, defaults filled in; a window that ends before it starts or is longer than a year is a 400. */
export function insightsWindow(query: z.infer<typeof InsightsQuerySchema>, now = Date.now()) {
  const until = query.until ?? now;
  const since = query.since ?? until - DEFAULT_INSIGHTS_WINDOW_MS;
  if (since >= until) throw new InvalidRequestError("`until` must be later than `since`", [{ path: "until", message: "must be later than since" }]);
  if (until - since > MAX_INSIGHTS_WINDOW_MS) {
    throw new InvalidRequestError(
      "The window is longer than a year (366 days): ask for several windows",
      [{ path: "since", message: "must be at most 366 days before until" }],
      "window_too_long",
    );
  }
  return { since, until, bucket: query.bucket };
}

export function profilesRouter(deps: ProfilesRouterDeps): Router {
  const router = Router();
  const view = async (profile: Profile, counts: readonly ProfileVersionCount[]) =>
    profileView(profile, deps.profileVersion(profile), deps.effectiveModel(profile.model), counts, await deps.budgets.status(profile));

  router.get("/profiles", async (_req, res) => {
    // Read before the configuration: a reload while the counts are read then shows the newer file, never a mix.
    const counts = await deps.store.profileVersionCounts();
    const visible = [...deps.config.current.profiles.values()].filter((profile) => mayUse(res, profile.name));
    res.json({ profiles: await Promise.all(visible.map((profile) => view(profile, counts))) });
  });

  router.get("/profiles/:name", async (req, res) => {
    const profile = profileFor(deps.config, req.params.name, res);
    res.json(await view(profile, await deps.store.profileVersionCounts(profile.name)));
  });

  router.get("/profiles/:name/insights", async (req, res) => {
    const profile = profileFor(deps.config, req.params.name, res);
    const window = insightsWindow(parseQuery(InsightsQuerySchema, req));
    res.json(await profileInsights(deps.store, profile, window));
  });
  return router;
}
