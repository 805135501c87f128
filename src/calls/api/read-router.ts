// HTTP API for looking at calls: the list (filtered, newest first, a page at a time), one call with every
// destination's fate, caller memory (what is known of a phone number), and the export of a profile's calls to evals.
import { Router } from "express";
import { z } from "zod";
import type { DeliveryOutbox } from "../../delivery/index.js";
import { InvalidRequestError, NotFoundError } from "../../errors.js";
import { parseQuery } from "../../http/parse-query.js";
import { storableId } from "../../http/storable-input.js";
import { isInstant, type VariableLimits } from "../../schema/index.js";
import { SOURCE_NAMES } from "../../sources/index.js";
import { callSummaryView, describeCall } from "./call-view.js";
import { describeCaller } from "./caller-memory.js";
import type { ConfigSource } from "../../configuration/config-holder.js";
import { evalLineOf, extractedCalls, streamLines } from "./export.js";
import { briefFates, CALL_STATES } from "../fates.js";
import { readCursor, writeCursor } from "./list-cursor.js";
import { toE164 } from "../../lib/phone.js";
import type { AnswerSettings } from "../../configuration/profile-version.js";
import type { CallStore } from "../store/port.js";
import { callOfKeysProfiles, profileFor, profilesOf } from "./profile-access.js";
import { MAX_WHERE, whereConditions } from "../insights.js";
import type { ValueCondition } from "../store/port.js";

export const MAX_CALLS_PER_PAGE = 200;
export const MAX_CALLER_CALLS = 50;

const instant = z
  .string()
  .refine(isInstant, "must be an ISO 8601 date-time with a UTC offset or Z, e.g. 2026-06-12T14:22:05Z")
  .transform((value) => Date.parse(value));

/** `?state=a&state=b` arrives as an array, `?state=a` as a string: both are a list of states. */
const oneOrMore = (value: unknown) => (typeof value === "string" ? [value] : value);

/** `GET /v1/calls` query parameters; the OpenAPI document describes them from this schema. */
export const ListCallsQuerySchema = z
  .object({
    profile: z.string().min(1).max(64).optional(),
    source: z.enum(SOURCE_NAMES, { message: `must be one of ${SOURCE_NAMES.join(", ")}` }).optional(),
    state: z
      .preprocess(oneOrMore, z.array(z.enum(CALL_STATES, { message: `must be one of ${CALL_STATES.join(", ")}` })).min(1).max(CALL_STATES.length))
      .optional(),
    external_id: z.string().min(1).max(200).optional(),
    since: instant.optional(),
    until: instant.optional(),
    destination: z.string().min(1).max(64).optional(),
    where: z
      .preprocess(oneOrMore, z.array(z.string().min(3).max(500)).min(1).max(MAX_WHERE, `at most ${MAX_WHERE} conditions`))
      .optional()
      .describe(
        "variable:value, repeatable (all must hold): calls whose delivered value (a reviewer's correction counts as the value) is this, " +
          "e.g. service_type:repair, booked:true, items[].size:m (an item of a list), tags:urgent (a list holding it), budget:null (no value). Needs `profile`",
      ),
    limit: z.coerce.number().int().min(1).max(MAX_CALLS_PER_PAGE).default(50),
    cursor: z.string().min(1).optional(),
  })
  .strict();

/** `GET /v1/calls/export` query parameters. */
export const ExportCallsQuerySchema = z
  .object({
    profile: z.string().min(1).max(64),
    format: z.literal("eval", { errorMap: () => ({ message: 'must be "eval" (the eval harness\'s JSONL): the only export format' }) }),
    since: instant.optional(),
    until: instant.optional(),
  })
  .strict();

/** `GET /v1/callers/{phone}` query parameters. */
export const CallerQuerySchema = z
  .object({
    profile: z.string().min(1).max(64),
    limit: z.coerce.number().int().min(1).max(MAX_CALLER_CALLS).default(10),
  })
  .strict();

export interface CallsReadRouterDeps {
  store: CallStore;
  outbox: DeliveryOutbox;
  /** The configuration now (a reload replaces it). */
  config: ConfigSource;
  /** The model and prompt version profiles' versions include. */
  extractor: AnswerSettings;
  limits: VariableLimits;
}

/** `since` before `until`, when both are given. */
function checkPeriod(query: { since?: number; until?: number }): void {
  if (query.since !== undefined && query.until !== undefined && query.since >= query.until) {
    throw new InvalidRequestError("`until` must be later than `since`", [{ path: "until", message: "must be later than since" }]);
  }
}

/** The `GET /v1/calls` body; exported so the OpenAPI document's schema is checked against it. */
export async function listCalls(
  store: CallStore,
  query: z.infer<typeof ListCallsQuerySchema>,
  options: { profiles?: readonly string[]; where?: readonly ValueCondition[] } = {},
) {
  checkPeriod(query);
  const { profiles, where } = options;
  const filters = {
    profile: query.profile,
    // A key bound to profiles lists only theirs (a named profile was checked against them already).
    profiles: query.profile === undefined ? profiles : undefined,
    source: query.source,
    states: query.state ? [...new Set(query.state)].sort() : undefined,
    externalId: query.external_id,
    since: query.since,
    until: query.until,
    destination: query.destination,
    where: where && where.length > 0 ? where : undefined,
  };
  const key = await store.cursorKey();
  const after = query.cursor === undefined ? undefined : readCursor(key, query.cursor, filters);
  // One more than the page: whether there is a next page, without counting.
  const rows = await store.list({ ...filters, after, limit: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  // The page's fates in one query: the list says why a CRM did not get a call without opening it.
  const fates = await store.listFatesOf(page.map((call) => call.id));
  return {
    calls: page.map((call) => ({ ...callSummaryView(call), destinations: briefFates(fates.get(call.id) ?? []) })),
    next_cursor: rows.length > query.limit && last ? writeCursor(key, { created_at: last.created_at, id: last.id }, filters) : null,
  };
}

export function callsReadRouter(deps: CallsReadRouterDeps): Router {
  const router = Router();
  router.param("id", storableId("call"));
  router.param("id", callOfKeysProfiles(deps.store));

  router.get("/calls", async (req, res) => {
    const query = parseQuery(ListCallsQuerySchema, req);
    // An unknown profile, or one the key may not use, is 404 profile_not_found (as on every route naming a profile).
    const profile = query.profile === undefined ? undefined : profileFor(deps.config, query.profile, res);
    if (query.where && !profile) {
      throw new InvalidRequestError("`where` needs `profile`: a condition names one of its variables", [{ path: "profile", message: "is required with where" }]);
    }
    const invalid = (message: string) => new InvalidRequestError(`Invalid query parameter "where": ${message}`, [{ path: "where", message }]);
    const where = query.where && profile ? whereConditions(query.where, profile.variables, invalid) : undefined;
    res.json(await listCalls(deps.store, query, { profiles: profilesOf(res), where }));
  });

  // Before /calls/:id, which would take "export" for a call id.
  router.get("/calls/export", async (req, res) => {
    const query = parseQuery(ExportCallsQuerySchema, req);
    checkPeriod(query);
    const profile = profileFor(deps.config, query.profile, res);
    const calls = extractedCalls(deps.store, query);
    await streamLines(res, (async function* () {
      for await (const call of calls) yield evalLineOf(call, profile, deps.limits);
    })());
  });

  router.get("/calls/:id", async (req, res) => {
    const call = await deps.store.get(req.params.id);
    if (!call) throw new NotFoundError(`No call with id "${req.params.id}"`);
    res.json(await describeCall(call, { ...deps, config: deps.config.current }));
  });

  router.get("/callers/:phone", async (req, res) => {
    const query = parseQuery(CallerQuerySchema, req);
    const profile = profileFor(deps.config, query.profile, res);
    const phone = req.params.phone;
    const number = phone.length <= 64 ? toE164(phone, profile.defaultRegion) : ({ ok: false, reason: "not_a_number" } as const);
    if (!number.ok) {
      const message =
        number.reason === "no_country_code"
          ? `has no country code, and profile "${profile.name}" has no default_region: send it in E.164 (+15551234567) or set the profile's default_region`
          : "is not a phone number";
      throw new InvalidRequestError(`The phone number ${message}`, [{ path: "phone", message }]);
    }
    const history = await deps.store.callerHistory(profile.name, number.e164, query.limit);
    res.json(describeCaller(profile, number.e164, history));
  });

  return router;
}
