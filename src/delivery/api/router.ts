// HTTP API for deliveries: list, inspect, send again (a dead letter, or a pending one now), destinations' health, and
// "Make test request" for a destination.
import { Router } from "express";
import type { Dispatcher } from "undici";
import { z } from "zod";
import { parseQuery } from "../../http/parse-query.js";
import { storableId } from "../../http/storable-input.js";
import { createDeliveryDispatcher } from "../address-guard.js";
import type { CompiledDestination } from "../compile-destinations.js";
import { NotFoundError } from "../errors.js";
import { destinationsHealth } from "../health.js";
import { MAX_LIST_LIMIT, type DeliveryOutbox } from "../outbox/port.js";
import type { VariableSpec } from "../../schema/index.js";
import { samplePayload } from "../sample-payload.js";
import { sendTestRequest } from "./test-request.js";
import { mayUseProfile, ProfileNotFoundError, type ApiKey } from "../../access/index.js";
import { DELIVERY_STATUSES } from "../types.js";

/** `GET /v1/deliveries` query parameters; the OpenAPI document describes them from this schema. */
export const ListQuerySchema = z.object({
  status: z.enum(DELIVERY_STATUSES, { message: `must be one of ${DELIVERY_STATUSES.join(", ")}` }).optional(),
  destination: z.string().min(1).optional(),
  call_id: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).optional(),
});

/** "Make test request" query parameters: the profile whose variables the sample carries (default: a generic sales call). */
export const TestQuerySchema = z.object({ profile: z.string().min(1).optional() }).strict();

/** Mounted by the app under `/v1`. Errors are DebriefErrors for the app's error middleware to render. */
export function deliveriesRouter(deps: {
  outbox: DeliveryOutbox;
  /** Told when a delivery is queued again, so the workers (of any instance) send it now. */
  worker: { wake(): void };
  /** Awaited after a delivery was sent again (a dead letter's fate goes back to pending on its call). Must not throw. */
  onRetried?: (deliveryId: string) => Promise<void>;
  /** The destinations now: a function when a reload may replace them, read at each request. */
  destinations: Map<string, CompiledDestination> | (() => Map<string, CompiledDestination>);
  allowPrivate: boolean;
  /** The client for "Make test request"; the owner closes it at shutdown. Default: a new guarded one. */
  testDispatcher?: Dispatcher;
  /** A profile's variables now (undefined: no such profile), for a test sample built from them. */
  profileVariables?: (profile: string) => readonly VariableSpec[] | undefined;
  /** The profile of each call (absent: no such call), so a key bound to profiles sees only their calls' deliveries. */
  callProfiles?: (callIds: readonly string[]) => Promise<Map<string, string>>;
}): Router {
  const router = Router();
  router.param("id", storableId("delivery"));
  const { destinations } = deps;
  const destinationsNow = typeof destinations === "function" ? destinations : () => destinations;
  // Test requests get their own guarded client, so a slow test never occupies the worker's connections.
  const testDispatcher = deps.testDispatcher ?? createDeliveryDispatcher({ allowPrivate: deps.allowPrivate });

  /** Those of `deliveries` whose call's profile the key may use (a key bound to no profile: all of them). */
  const visibleTo = async <T extends { call_id: string }>(key: ApiKey | undefined, deliveries: T[]): Promise<T[]> => {
    if (key?.profiles === undefined || deliveries.length === 0) return deliveries;
    const profiles = (await deps.callProfiles?.([...new Set(deliveries.map((delivery) => delivery.call_id))])) ?? new Map<string, string>();
    return deliveries.filter((delivery) => {
      const profile = profiles.get(delivery.call_id);
      return profile !== undefined && mayUseProfile(key, profile);
    });
  };

  router.get("/deliveries", async (req, res) => {
    const query = parseQuery(ListQuerySchema, req);
    const deliveries = await deps.outbox.list({ status: query.status, destination: query.destination, callId: query.call_id, limit: query.limit });
    // Filtered after the page is read (the outbox knows calls, not profiles): a bound key's page may hold fewer.
    res.json({ deliveries: await visibleTo(res.locals.client?.key, deliveries) });
  });

  router.get("/deliveries/:id", async (req, res) => {
    const delivery = await deps.outbox.get(req.params.id);
    const [visible] = delivery ? await visibleTo(res.locals.client?.key, [delivery]) : [];
    if (!visible) throw new NotFoundError(`No delivery with id "${req.params.id}".`);
    res.json({ delivery: visible });
  });

  router.post("/deliveries/:id/retry", async (req, res) => {
    const seen = await deps.outbox.get(req.params.id);
    if (seen && (await visibleTo(res.locals.client?.key, [seen])).length === 0) throw new NotFoundError(`No delivery with id "${req.params.id}".`);
    const delivery = await deps.outbox.retry(req.params.id);
    await deps.onRetried?.(delivery.id);
    deps.worker.wake();
    res.json({ delivery });
  });

  router.get("/destinations", async (_req, res) => {
    res.json(await destinationsHealth(deps.outbox, destinationsNow()));
  });

  router.post("/destinations/:name/test", async (req, res) => {
    const destination = destinationsNow().get(req.params.name);
    if (!destination) throw new NotFoundError(`No destination named "${req.params.name}" is configured.`);
    const { profile } = parseQuery(TestQuerySchema, req);
    const variables = profile === undefined ? undefined : deps.profileVariables?.(profile);
    if (profile !== undefined && (variables === undefined || !mayUseProfile(res.locals.client?.key, profile))) {
      throw new ProfileNotFoundError(profile);
    }
    res.json(await sendTestRequest(destination, { dispatcher: testDispatcher, allowPrivate: deps.allowPrivate, payload: samplePayload(variables) }));
  });

  return router;
}
