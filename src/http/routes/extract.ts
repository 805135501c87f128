// POST /v1/extract: a transcript and a variable schema in, typed values out.
import { Router } from "express";
import type { Extractor } from "../../extract/index.js";
import { parseExtractRequest, type VariableLimits } from "../../schema/index.js";

export function extractRouter(deps: { extractor: Extractor; limits: VariableLimits }): Router {
  const router = Router();
  router.post("/extract", async (req, res) => {
    const job = parseExtractRequest(req.body, deps.limits);
    const result = await deps.extractor.extract(job);
    res.locals.extraction = { model: result.meta.model, cached: result.meta.cached, usage: result.meta.usage, chunks: result.meta.chunks };
    res.json(result);
  });
  return router;
}
