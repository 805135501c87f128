// The audit log from the API's side: each audited action is recorded when its answer is sent (who, what, target,
// outcome), and GET /v1/audit reads the log back (scope admin), newest first, a page at a time.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { parseQuery } from "../../http/parse-query.js";
import { isInstant } from "../../schema/index.js";
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry, type AuditStore } from "../store/audit-port.js";
import type { CallStore } from "../store/port.js";
import { readCursor, writeCursor } from "./list-cursor.js";

/** The audited operations (paths under /v1), each with the path parameter that names its target. */
const AUDITED: { method: string; path: RegExp; action: AuditAction }[] = [
  { method: "POST", path: /^\/calls\/([^/]+)\/review\/?$/, action: "call.review" },
  { method: "POST", path: /^\/calls\/([^/]+)\/reextract\/?$/, action: "call.reextract" },
  { method: "POST", path: /^\/calls\/([^/]+)\/retry\/?$/, action: "call.replay" },
  { method: "POST", path: /^\/deliveries\/([^/]+)\/retry\/?$/, action: "delivery.send_now" },
  { method: "POST", path: /^\/destinations\/([^/]+)\/test\/?$/, action: "destination.test" },
  { method: "POST", path: /^\/profiles\/([^/]+)\/backfill\/?$/, action: "backfill.start" },
  { method: "POST", path: /^\/backfills\/([^/]+)\/cancel\/?$/, action: "backfill.cancel" },
  { method: "POST", path: /^\/admin\/reload\/?$/, action: "config.reload" },
];

/** The key a request came with, as the log names it. */
export const actorOf = (res: Response): string => res.locals.client?.key?.name ?? "anonymous";

/** What else an entry says, from the request and the answer: never a transcript, a value or a secret. */
function detailsOf(action: AuditAction, req: Request, answer: unknown, before: unknown): Record<string, unknown> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const sent = (answer ?? {}) as Record<string, unknown>;
  switch (action) {
    case "call.review":
      // The names of corrected variables, never their values.
      return { approved: body.approve === true, corrected: Object.keys(body.values && typeof body.values === "object" ? body.values : {}) };
    case "call.reextract":
      return { dry_run: body.dry_run === true, redeliver: body.redeliver === true, ...(sent.changed ? { changed: sent.changed } : {}) };
    case "backfill.start":
      return { dry_run: body.dry_run === true, ...(sent.backfill_id ? { backfill_id: sent.backfill_id, total: sent.total } : {}) };
    case "destination.test":
      return { ...(typeof req.query.profile === "string" ? { profile: req.query.profile } : {}), ...(sent.status !== undefined ? { status: sent.status } : {}) };
    case "config.reload":
      return { before, ...(Array.isArray(sent.profiles) ? { after: sent.profiles, changed: sent.changed } : {}) };
    default:
      return {};
  }
}

/**
 * Mounted ahead of the /v1 routers: records each audited action once its answer is sent, with the error code it ended
 * with when it failed. `profiles` gives the configuration's profile versions (a reload's "before").
 */
export function auditRecorder(deps: { store: AuditStore; profiles: () => unknown; onError?: (error: unknown) => void }): Router {
  const router = Router();
  router.use((req, res, next) => {
    const audited = req.method === "POST" ? AUDITED.find((entry) => entry.path.test(req.path)) : undefined;
    if (!audited) {
      next();
      return;
    }
    const target = audited.action === "config.reload" ? null : decodeURIComponent(audited.path.exec(req.path)![1]!);
    const before = audited.action === "config.reload" ? deps.profiles() : undefined;
    let answer: unknown;
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      answer = body;
      return json(body);
    };
    res.once("finish", () => {
      const outcome = res.statusCode < 400 ? "ok" : (res.locals.error?.code ?? String(res.statusCode));
      deps.store
        .recordAudit({ actor: actorOf(res), action: audited.action, target, outcome, details: detailsOf(audited.action, req, res.statusCode < 400 ? answer : undefined, before) })
        .catch((error: unknown) => deps.onError?.(error));
    });
    next();
  });
  return router;
}

const instant = z
  .string()
  .refine(isInstant, "must be an ISO 8601 date-time with a UTC offset or Z, e.g. 2026-06-12T14:22:05Z")
  .transform((value) => Date.parse(value));

export const MAX_AUDIT_PAGE = 200;

/** `GET /v1/audit` query parameters; the OpenAPI document describes them from this schema. */
export const AuditQuerySchema = z
  .object({
    action: z.enum(AUDIT_ACTIONS, { message: `must be one of ${AUDIT_ACTIONS.join(", ")}` }).optional(),
    key: z.string().min(1).max(200).optional(),
    target: z.string().min(1).max(200).optional(),
    since: instant.optional(),
    until: instant.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(50),
    cursor: z.string().min(1).optional(),
  })
  .strict();

export const auditEntryView = (entry: AuditEntry) => ({
  id: entry.id,
  at: new Date(entry.at).toISOString(),
  key: entry.actor,
  action: entry.action,
  target: entry.target,
  outcome: entry.outcome,
  details: entry.details,
});

export function auditRouter(deps: { store: AuditStore & Pick<CallStore, "cursorKey"> }): Router {
  const router = Router();
  router.get("/audit", async (req, res) => {
    const query = parseQuery(AuditQuerySchema, req);
    const filters = { action: query.action, actor: query.key, target: query.target, since: query.since, until: query.until };
    const key = await deps.store.cursorKey();
    const position = query.cursor === undefined ? undefined : readCursor(key, query.cursor, { audit: filters });
    const rows = await deps.store.listAudit({ ...filters, after: position && { at: position.created_at, id: position.id }, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    res.json({
      entries: page.map(auditEntryView),
      next_cursor: rows.length > query.limit && last ? writeCursor(key, { created_at: last.at, id: last.id }, { audit: filters }) : null,
    });
  });
  return router;
}
