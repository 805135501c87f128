// `GET /v1/calls/export?format=eval`: a profile's extracted calls as eval dataset lines (evals/dataset.ts), streamed a
// page at a time with backpressure, so memory stays bounded whatever the number of calls.
import type { Response } from "express";
import { once } from "node:events";
import { outputSchemaFor, type VariableLimits } from "../../schema/index.js";
import { sourceNamed } from "../../sources/index.js";
import type { Profile } from "../../configuration/config-file.js";
import { callExtractJob } from "../payload.js";
import { withCorrections } from "../corrections.js";
import type { CallRecord, CallStore, ListPosition } from "../store/port.js";

/** Calls read from the store per page; each extracted one is then read whole, one at a time. */
export const EXPORT_PAGE_SIZE = 100;

/** One line of an eval dataset, as evals/dataset.ts reads it. */
export interface EvalLine {
  id: string;
  scenario: string;
  transcript: { role: "agent" | "customer"; content: string }[];
  variables: Profile["variables"];
  context: Record<string, unknown>;
  expected: Record<string, unknown>;
  provisional: boolean;
}

/**
 * A call as a dataset line: the turns the model read (or the payload read again), the profile's variables and the
 * context its extraction had, and the current values as the labels: provisional, unless a reviewer approved the call
 * (then with their corrections). A label the current variables no longer define
 * or allow (the profile changed since) is left out: the harness would refuse the line, and an unlabelled value is
 * simply not scored.
 */
export function evalLineOf(call: CallRecord, profile: Profile, limits: VariableLimits): EvalLine {
  const normalized = sourceNamed(call.source).normalize(call.payload as Record<string, unknown>);
  const job = callExtractJob(normalized, profile, limits);
  const turns = call.extraction?.turns ?? normalized.turns;
  // A call a reviewer approved is labelled with their corrections, and its labels are checked ones.
  const values = call.extraction ? withCorrections(call.extraction.extracted_variables, call.reviewed) : {};
  const defined = job.variables.filter((spec) => spec.name in values);
  const schema = outputSchemaFor(job.variables, { evidence: false });
  const all = Object.fromEntries(job.variables.map((spec) => [spec.name, values[spec.name] ?? null]));
  const checked = schema.zod.safeParse({ values: all });
  const refused = new Set(checked.success ? [] : checked.error.issues.map((issue) => String(issue.path[1])));
  const { systemPrompt, callCreatedAt, timezone, inputVariables } = job.context;
  return {
    id: call.id,
    scenario: profile.name,
    transcript: turns.map((turn) => ({ role: turn.speaker, content: turn.text })),
    variables: profile.variables,
    context: {
      ...(systemPrompt ? { system_prompt: systemPrompt } : {}),
      ...(callCreatedAt || timezone ? { call: { ...(callCreatedAt ? { created_at: callCreatedAt } : {}), ...(timezone ? { timezone } : {}) } } : {}),
      ...(inputVariables ? { input_variables: inputVariables } : {}),
    },
    expected: Object.fromEntries(defined.filter((spec) => !refused.has(spec.name)).map((spec) => [spec.name, values[spec.name]])),
    provisional: call.reviewed?.approved !== true,
  };
}

/** Every extracted call of the profile accepted in [since, until), newest first, a store page at a time. */
export async function* extractedCalls(store: CallStore, query: { profile: string; since?: number; until?: number }): AsyncGenerator<CallRecord> {
  let after: ListPosition | undefined;
  for (;;) {
    const page = await store.list({ profile: query.profile, since: query.since, until: query.until, after, limit: EXPORT_PAGE_SIZE });
    for (const summary of page) {
      if (summary.stage !== "extracted") continue;
      const call = await store.get(summary.id);
      // Pruned between the page and now: nothing to export.
      if (call?.extraction) yield call;
    }
    const last = page.at(-1);
    if (!last || page.length < EXPORT_PAGE_SIZE) return;
    after = { created_at: last.created_at, id: last.id };
  }
}

/**
 * Writes each line as it is made, waiting for the socket to drain whenever its buffer is full; stops when the client
 * goes away. Headers go out with the first line, so an error before it is still a JSON error answer.
 */
export async function streamLines(res: Response, lines: AsyncIterable<unknown>): Promise<void> {
  res.status(200).type("application/x-ndjson");
  for await (const line of lines) {
    if (res.destroyed) return;
    if (!res.write(`${JSON.stringify(line)}\n`)) {
      await Promise.race([once(res, "drain"), once(res, "close")]);
    }
  }
  res.end();
}
