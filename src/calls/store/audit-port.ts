// The audit log's port: who (a key's name) did what (an action on target ids), when, and how it ended. Kept in the call
// store on both engines, pruned by the same retention; accepted calls are not audited (the calls list is their record).
import { randomUUID } from "node:crypto";

export const AUDIT_ACTIONS = [
  "call.review",
  "call.reextract",
  "call.replay",
  "delivery.send_now",
  "destination.test",
  "backfill.start",
  "backfill.cancel",
  "config.reload",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  id: string;
  /** ms since the epoch. */
  at: number;
  /** The key's name (`api-key:` and 8 hex digits for DEBRIEF_API_KEYS; `anonymous` without auth; `signal` for SIGHUP). */
  actor: string;
  action: AuditAction;
  /** The id acted on (call, delivery, destination, backfill, profile); null when none (a reload). */
  target: string | null;
  /** `ok`, or the error code the action ended with. */
  outcome: string;
  /** What else says what happened: a review's decision, a reload's profile versions before and after. */
  details: Record<string, unknown>;
}

export interface AuditQuery {
  action?: AuditAction;
  actor?: string;
  target?: string;
  /** at >= since, < until. */
  since?: number;
  until?: number;
  /** Entries older than this position (newest first). */
  after?: { at: number; id: string };
  limit: number;
}

export interface AuditStore {
  recordAudit(input: Omit<AuditEntry, "id" | "at">): Promise<AuditEntry>;
  /** Newest first. */
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Deletes entries older than `before`; returns how many. */
  pruneAudit(before: number): Promise<number>;
}

export const newAuditId = (): string => `aud_${randomUUID().replaceAll("-", "")}`;

/** The WHERE clause of an audit page for either engine (`placeholder(n)` names its n-th parameter). */
export function listAuditSql(query: AuditQuery, placeholder: (n: number) => string): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return placeholder(params.length);
  };
  const where: string[] = [];
  if (query.action !== undefined) where.push(`action = ${p(query.action)}`);
  if (query.actor !== undefined) where.push(`actor = ${p(query.actor)}`);
  if (query.target !== undefined) where.push(`target = ${p(query.target)}`);
  if (query.since !== undefined) where.push(`at >= ${p(query.since)}`);
  if (query.until !== undefined) where.push(`at < ${p(query.until)}`);
  if (query.after !== undefined) where.push(`(at, id) < (${p(query.after.at)}, ${p(query.after.id)})`);
  const filter = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  return { sql: `SELECT id, at, actor, action, target, outcome, details FROM audit_log ${filter} ORDER BY at DESC, id DESC LIMIT ${p(query.limit)}`, params };
}
