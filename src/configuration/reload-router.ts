// HTTP API for reloading the configuration file without a restart: `POST /v1/admin/reload`.
import { Router } from "express";
import { z } from "zod";
import { DebriefError } from "../errors.js";
import { parseBody } from "../http/parse-body.js";
import type { ReloadedReport, ReloadReport } from "./config-holder.js";

/** The new file was not used; `details` names every problem in it (path and message), and the old configuration keeps running. */
export class InvalidConfigError extends DebriefError {
  constructor(issues: readonly { path: string; message: string }[]) {
    super("invalid_config", 422, `The configuration file has ${issues.length} problem(s); the previous configuration keeps running`, {
      details: issues.map((issue) => ({ path: issue.path, message: issue.message })),
    });
  }
}

/** The 200 body; exported so the OpenAPI document's schema is checked against it. */
export function reloadView(report: ReloadedReport) {
  return { reloaded: true as const, changed: report.changed, profiles: report.profiles, destinations: report.destinations };
}

export function reloadRouter(deps: { reload: () => ReloadReport }): Router {
  const router = Router();
  router.post("/admin/reload", (req, res) => {
    parseBody(z.object({}).strict(), req.body);
    const report = deps.reload();
    if (!report.ok) throw new InvalidConfigError(report.issues);
    res.json(reloadView(report));
  });
  return router;
}
