// HTTP API for re-extracting one call: `POST /v1/calls/{id}/reextract`, a dry run with before/after values, or a
// stored (and optionally redelivered) new extraction.
import { Router } from "express";
import { z } from "zod";
import { parseBody } from "../../http/parse-body.js";
import { storableId } from "../../http/storable-input.js";
import type { ReextractOutcome, Reextractor } from "../reextract.js";
import { isWithin } from "../../extract/paths.js";
import type { CallStore } from "../store/port.js";
import { callOfKeysProfiles } from "./profile-access.js";

export const ReextractBodySchema = z
  .object({
    dry_run: z.boolean().default(false).describe("Answer what would change; store and deliver nothing"),
    redeliver: z
      .boolean()
      .default(false)
      .describe(
        "Deliver the new values to the profile's destinations as a new event (`call.reextracted`, a new webhook-id, `debrief.previous_values`). " +
          "Under a profile that holds calls for review, a flagged value sends the call to needs_review first (`held: true`)",
      ),
  })
  .strict();

/** One variable's value before and after (null: the call never said, or the variable is new or gone); zod's shape of it. */
type VariableChange = { before?: unknown; after?: unknown; changed: boolean; paths?: string[]; corrected?: boolean; model?: unknown };

/** The response body; exported so the OpenAPI document's schema is checked against it. */
export function reextractView(outcome: ReextractOutcome, dryRun: boolean) {
  const previous = outcome.previous ?? {};
  const names = [...new Set([...Object.keys(outcome.values), ...Object.keys(previous)])];
  return {
    call_id: outcome.call_id,
    dry_run: dryRun,
    profile_version: outcome.profile_version,
    stored: outcome.stored,
    event: outcome.event,
    held: outcome.held,
    // Leaf paths: a flat variable's name, a nested one's leaves (`items[0].quantity`).
    changed: outcome.changed_paths,
    variables: Object.fromEntries(
      names.map((name): [string, VariableChange] => [
        name,
        {
          before: previous[name] ?? null,
          after: outcome.values[name] ?? null,
          changed: outcome.changed.includes(name),
          // Inside a nested variable, which leaves changed (a flat one's change is the variable itself).
          ...nestedPaths(outcome.changed_paths, name),
          // A reviewer's correction the new extraction keeps: `after` is theirs, `model` what the model answers now.
          ...(outcome.corrections.kept.includes(name) ? { corrected: true, model: outcome.model_values[name] ?? null } : {}),
        },
      ]),
    ),
    corrections: outcome.corrections,
    usage: outcome.usage,
    cost_usd: outcome.cost_usd,
  };
}

function nestedPaths(paths: readonly string[], name: string): { paths?: string[] } {
  const inside = paths.filter((path) => isWithin(path, name));
  return inside.length > 0 && !(inside.length === 1 && inside[0] === name) ? { paths: inside } : {};
}

export function reextractRouter(deps: { reextractor: Reextractor; store?: Pick<CallStore, "get"> }): Router {
  const router = Router();
  router.param("id", storableId("call"));
  if (deps.store) router.param("id", callOfKeysProfiles(deps.store));
  router.post("/calls/:id/reextract", async (req, res) => {
    const body = parseBody(ReextractBodySchema, req.body);
    const outcome = await deps.reextractor.reextract(req.params.id, { dryRun: body.dry_run, redeliver: body.redeliver, trigger: "api" });
    res.json(reextractView(outcome, body.dry_run));
  });
  return router;
}
